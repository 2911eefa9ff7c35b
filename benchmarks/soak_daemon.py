"""Soak: many daemon cycles in one process, watching for what grows when it should not.

    .venv/bin/python benchmarks/soak_daemon.py [--feeds 40] [--cycles 400] [--every 50]
                                               [--latency 0.02] [--tracemalloc]
                                               [--hours 6 --day 4]

The daemon runs for months in one process, so a leak of a few kilobytes or one file descriptor
per cycle matters. This runs the daemon's own job functions (``pipeline.jobs``: fetch + alerts
every cycle, the digest and retention once per simulated day) on one database, against
loopback feeds that publish one new item per fetch (``fetch_feeds.py --rolling``; every 20th
feed is broken, as in bench_fetch.py). Every ``--every`` cycles it prints: seconds per cycle,
resident memory (VmRSS), the Python heap (with ``--tracemalloc``, slower), open file
descriptors, threads, child processes, the database size and the items stored; ``--trim`` first
hands freed memory back to the system (glibc ``malloc_trim``), so that resident memory shows
what is in use rather than the high-water mark of the largest digest. The last line gives the
growth from the second block on (the first block includes warm-up). Prints figures only;
nothing is asserted.

Run in real time, the cycles come seconds apart: nothing ever leaves the two-week alert history
or the retention window, so the history every cycle re-reads grows with every cycle. ``--hours
H`` moves a simulated clock (time-machine: ``datetime.now`` and ``time.time``; the event loop's
monotonic clock is left alone) H hours forward before each cycle, so that windows roll and
retention prunes as they would over months; give ``--day`` as 24 / H cycles then.
"""

from __future__ import annotations

import argparse
import ctypes
import logging
import os
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from bench_fetch import start_server, write_config  # noqa: E402

from pipeline import jobs  # noqa: E402
from pipeline.config import load_config  # noqa: E402
from pipeline.store import Store  # noqa: E402


class Sample(NamedTuple):
    cycle: int
    seconds_per_cycle: float
    rss_mb: float
    heap_mb: float | None
    fds: int
    threads: int
    children: int
    db_mb: float
    items: int


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _children() -> int:
    me = str(os.getpid())
    count = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        count += fields[1] == me  # the parent pid
    return count


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--feeds", type=int, default=40)
    ap.add_argument("--cycles", type=int, default=400)
    ap.add_argument("--every", type=int, default=50, help="cycles per printed line")
    ap.add_argument("--day", type=int, default=48, help="cycles per simulated day")
    ap.add_argument(
        "--hours", type=float, default=0.0, help="simulated hours per cycle (0: real time)"
    )
    ap.add_argument("--latency", type=float, default=0.02)
    ap.add_argument("--hosts", type=int, default=5)
    ap.add_argument("--tracemalloc", action="store_true")
    ap.add_argument(
        "--trim",
        action="store_true",
        help="glibc malloc_trim(0) before each sample: resident memory without freed pages",
    )
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)  # the daemon's per-cycle lines would drown this

    server, port = start_server(args.feeds, args.latency, args.hosts, rolling=True)
    folder = Path(tempfile.mkdtemp(prefix="lendwatch-soak-"))
    os.chdir(folder)
    extra = ("retention_days = 1", "[alerts]", 'min_severity = "high"')
    config = load_config(write_config(folder, args.feeds, args.hosts, port, extra=extra))
    store = Store.open(config.settings.db_path)
    if args.tracemalloc:
        tracemalloc.start()
    samples: list[Sample] = []
    print(
        f"{args.feeds} rolling feeds ({args.latency * 1000:.0f} ms latency), {args.cycles} "
        f"cycles, a digest and retention every {args.day} cycles; data in {folder}"
    )
    print(
        f"{'cycle':>6} {'s/cycle':>8} {'rss MB':>7} {'heap MB':>8} {'fds':>4} {'thr':>4} "
        f"{'kids':>4} {'db MB':>6} {'items':>7}"
    )
    day = datetime.now(UTC)  # simulated days start today: items are published "now"
    traveller: Any = None
    clock: Any = None
    if args.hours:
        import time_machine  # the test extra; only this mode needs it

        traveller = time_machine.travel(day, tick=True)
        clock = traveller.start()
    try:
        start = time.perf_counter()
        for cycle in range(1, args.cycles + 1):
            if clock is not None:
                clock.shift(timedelta(hours=args.hours))
            jobs.fetch_job(config, store)
            if cycle % args.day == 0:  # a new simulated day: its digest, then retention
                day = datetime.now(UTC) if clock is not None else day + timedelta(days=1)
                jobs.digest_job(config, store, now=day, catch_up=False)
                jobs.prune_job(config, store)
            if cycle % args.every == 0:
                if args.trim:
                    ctypes.CDLL("libc.so.6").malloc_trim(0)
                heap = tracemalloc.get_traced_memory()[0] / 2**20 if args.tracemalloc else None
                (count,) = store.db.execute("SELECT count(*) FROM items").fetchone()
                sample = Sample(
                    cycle,
                    (time.perf_counter() - start) / args.every,
                    _status("VmRSS") / 1024,
                    heap,
                    len(os.listdir("/proc/self/fd")),
                    _status("Threads"),
                    _children(),
                    config.settings.db_path.stat().st_size / 2**20,
                    count,
                )
                samples.append(sample)
                print(
                    f"{sample.cycle:>6} {sample.seconds_per_cycle:>8.3f} {sample.rss_mb:>7.1f} "
                    f"{'-' if heap is None else f'{heap:.1f}':>8} {sample.fds:>4} "
                    f"{sample.threads:>4} {sample.children:>4} {sample.db_mb:>6.1f} "
                    f"{sample.items:>7}",
                    flush=True,
                )
                start = time.perf_counter()
    finally:
        store.close()
        server.terminate()
        server.wait(timeout=10)
    if len(samples) >= 3:
        first, last = samples[1], samples[-1]
        per = 100 / (last.cycle - first.cycle)
        heap_growth = (
            f"{((last.heap_mb or 0) - (first.heap_mb or 0)) * per * 1024:.0f} KB heap, "
            if args.tracemalloc
            else ""
        )
        print(
            f"growth per 100 cycles after cycle {first.cycle}: "
            f"{(last.rss_mb - first.rss_mb) * per:.1f} MB resident, {heap_growth}"
            f"{(last.fds - first.fds) * per:.1f} fds, {(last.threads - first.threads) * per:.1f} "
            f"threads, {(last.children - first.children) * per:.1f} child processes, "
            f"{(last.items - first.items) * per:.0f} items"
        )


if __name__ == "__main__":
    main()
