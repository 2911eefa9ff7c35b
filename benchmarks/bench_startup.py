"""Start-up: how long a command takes from exec to exit, and the compiled-rules cache.

    .venv/bin/python benchmarks/bench_startup.py [--runs 7]

Each command runs ``--runs`` times as a fresh process (after one warm-up run, so the OS file
cache is warm, as it is for a cron job); the median, min and max wall times are printed. With
``hyperfine`` on the PATH it does the timing instead (``--hyperfine`` forces it, ``--no-hyperfine``
forbids it). The configuration is the shipped ``sources.toml`` with its data directory in a
temporary folder (the database is created by the warm-up).

Then the rules: in a fresh process each, the time from ``Classifier.from_file`` called to the
classifier returned, without the cache (parse, validate, compile) and with a warm cache (read,
checksum, unpickle), plus the import time of ``pipeline.classify`` itself. Targets (issue 13):
``--help`` <= 0.30 s, ``check-config`` <= 0.60 s, ``status`` <= 0.60 s, rules from a warm cache
< 30 ms. Prints figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LENDWATCH = Path(sys.executable).with_name("lendwatch")

COMMANDS = (("--help",), ("check-config",), ("status",), ("sources",), ("classify", "--help"))
TARGETS = {"--help": 0.30, "check-config": 0.60, "status": 0.60}

RULES_PROBE = """
import json, sys, time
from pathlib import Path
t0 = time.perf_counter()
from pipeline.classify import Classifier
t1 = time.perf_counter()
cache_dir = Path(sys.argv[2]) if sys.argv[2] else None
c = Classifier.from_file(Path(sys.argv[1]), cache_dir)
t2 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "load": t2 - t1, "version": c.version}))
"""


def shipped_config(folder: Path) -> Path:
    text = (ROOT / "sources.toml").read_text(encoding="utf-8")
    here = f'data_dir = "{folder / "data"}"\nrules = "{ROOT / "rules.toml"}"'
    path = folder / "sources.toml"
    path.write_text(text.replace('data_dir = "data"', here, 1), encoding="utf-8")
    return path


def time_loop(argv: list[str], runs: int) -> list[float]:
    subprocess.run(argv, capture_output=True, check=False, cwd=ROOT)  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, check=False, cwd=ROOT)
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed: {done.stderr.decode()[-500:]}")
    return times


def time_hyperfine(argv: list[str], runs: int, folder: Path) -> list[float]:
    out = folder / "hyperfine.json"
    cmd = " ".join(f"'{a}'" for a in argv)
    subprocess.run(
        ["hyperfine", "-N", "--warmup", "1", "--runs", str(runs), "--export-json", str(out), cmd],
        capture_output=True,
        check=True,
        cwd=ROOT,
    )
    return list(json.loads(out.read_text())["results"][0]["times"])


def rules_probe(cache_dir: Path | None, runs: int) -> tuple[list[float], list[float]]:
    loads, imports = [], []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-c", RULES_PROBE, str(ROOT / "rules.toml"), str(cache_dir or "")],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
        figures = json.loads(done.stdout)
        loads.append(figures["load"])
        imports.append(figures["import"])
    return loads, imports


def fmt(times: list[float]) -> str:
    return (
        f"median {statistics.median(times):6.3f} s  "
        f"(min {min(times):.3f}, max {max(times):.3f}, n={len(times)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--hyperfine", action=argparse.BooleanOptionalAction, default=None)
    args = parser.parse_args()
    use_hyperfine = (
        args.hyperfine if args.hyperfine is not None else bool(shutil.which("hyperfine"))
    )
    with tempfile.TemporaryDirectory(prefix="lendwatch-startup-") as tmp:
        folder = Path(tmp)
        config = shipped_config(folder)
        how = "hyperfine" if use_hyperfine else "subprocess loop"
        print(f"commands, {args.runs} runs each after a warm-up ({how}), wall time:")
        for command in COMMANDS:
            argv = [str(LENDWATCH), "--config", str(config), *command]
            if use_hyperfine:
                times = time_hyperfine(argv, args.runs, folder)
            else:
                times = time_loop(argv, args.runs)
            name = " ".join(command)
            target = TARGETS.get(name)
            verdict = ""
            if target is not None:
                met = "met" if statistics.median(times) <= target else "MISSED"
                verdict = f"  target <= {target:.2f} s: {met}"
            print(f"  lendwatch {name:<16} {fmt(times)}{verdict}")

        cache_dir = folder / "rules-cache"
        print(f"rules ({ROOT / 'rules.toml'}), fresh process each, {args.runs} runs:")
        cold, imports = rules_probe(None, args.runs)
        print(f"  import pipeline.classify     {fmt(imports)}")
        print(f"  compile (no cache)           {fmt(cold)}")
        rules_probe(cache_dir, 1)  # writes the cache
        warm, _ = rules_probe(cache_dir, args.runs)
        met = "met" if statistics.median(warm) < 0.030 else "MISSED"
        print(f"  from the warm cache          {fmt(warm)}  target < 0.030 s: {met}")


if __name__ == "__main__":
    main()
