"""Cost of reading one attachment: in-process parsing and the bounded worker process.

    .venv/bin/python benchmarks/bench_attachments.py [--repeat 5]

For each file in tests/fixtures/attachments/ prints the median milliseconds of
``read_attachment`` with ``timeout=None`` (parse in this process) and with the default bounds
(a fresh "spawn" child per file, killed at the deadline), and the difference: what the time
bound costs per attachment. Prints figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.fetch.attachments import Bounds, read_attachment  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "attachments"


def median_ms(data: bytes, url: str, bounds: Bounds, repeat: int) -> tuple[float, str]:
    times = []
    status = ""
    for _ in range(repeat):
        started = time.perf_counter()
        status = read_attachment(data, url, bounds=bounds).status
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"{'file':24} {'bytes':>8} {'status':8} {'inline ms':>10} {'worker ms':>10} {'extra':>8}")
    for path in sorted(FIXTURES.iterdir()):
        if path.suffix == ".md":
            continue
        data = path.read_bytes()
        url = f"https://example.gov.cn/{path.name}"
        inline, status = median_ms(data, url, Bounds(timeout=None), args.repeat)
        bounded, _ = median_ms(data, url, Bounds(), args.repeat)
        print(
            f"{path.name:24} {len(data):8} {status:8} {inline:10.1f} {bounded:10.1f} "
            f"{bounded - inline:8.1f}"
        )


if __name__ == "__main__":
    main()
