"""Time ``pipeline.extract.extract`` on the labelled real texts and on hostile inputs.

    python benchmarks/bench_extract.py [--repeat 3] [--size 20000]

Prints milliseconds per item on tests/data/extract (best of --repeat), and the slowest of a set of
degenerate bodies (one token repeated --size characters: long digit runs, brackets, pipes, tags)
-- every rule must stay near-linear on them (a quadratic regex shows up here in seconds).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from pipeline.extract import extract, parse_published

ROOT = Path(__file__).resolve().parents[1]
SETS = [ROOT / "tests/data/extract/extract_set.jsonl", ROOT / "tests/data/extract/heldout.jsonl"]
TOKENS = [
    "1", "十", "年", "1月1日", "《", "（", "、", "|", "自", "之日", "罚款", "万元", "公司", "某",
    "〔2020〕", "第1号", "过渡期", "截止", "同时废止", "Co., Ltd. ", "Word ", "1,", "<td>", "简称",
]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--size", type=int, default=20000)
    args = parser.parse_args()
    rows = [json.loads(line) for path in SETS for line in path.read_text("utf-8").splitlines()]
    extract("预热", "warm up")  # the folding tables are built on first use
    best = float("inf")
    for _ in range(args.repeat):
        start = time.perf_counter()
        for row in rows:
            extract(row["title"], row["body"], parse_published(row["published"]))
        best = min(best, time.perf_counter() - start)
    chars = sum(len(row["body"]) for row in rows)
    per_item = best / len(rows) * 1000
    print(f"{len(rows)} labelled items ({chars:,} body characters): {per_item:.2f} ms/item")
    timings: list[tuple[float, str]] = []
    for token in TOKENS:
        body = token * (args.size // len(token))
        start = time.perf_counter()
        extract(token, body)
        timings.append((time.perf_counter() - start, token))
    timings.sort(reverse=True)
    worst = ", ".join(f"{token!r} {seconds:.2f} s" for seconds, token in timings[:3])
    print(f"degenerate bodies of {args.size:,} characters, slowest: {worst}")


if __name__ == "__main__":
    main()
