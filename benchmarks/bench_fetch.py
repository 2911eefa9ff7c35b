"""Benchmark one fetch cycle against loopback feed servers with injected latency.

    python benchmarks/bench_fetch.py --feeds 200 --feeds 1000 [--mode fetch|cycle|both]
                                     [--latency 0.15] [--hosts 20] [--profile]

Serves N RSS feeds of 30 items from 127.0.0.1 … 127.0.0.H (a separate process, see
fetch_feeds.py), then in a fresh child process per measurement runs a cold cycle and a second
cycle with the validators of the first, and prints wall time, CPU time (user+sys, including any
parse workers), peak RSS and the share of 304 responses on the second cycle.
``fetch`` measures fetch+parse alone (pipeline.fetch.http.fetch_sources); ``cycle`` measures the
whole ``lendwatch run`` cycle (pipeline.run.run_cycle: fetch, store, classify) on a fresh SQLite
database. ``--profile`` prints the top functions of a cold fetch by own time.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))


def write_config(
    folder: Path,
    feeds: int,
    hosts: int,
    port: int,
    concurrency: int = 32,
    per_host: int = 2,
    extra: Sequence[str] = (),
) -> Path:
    """sources.toml for ``feeds`` loopback feeds; ``extra``: more lines for ``[settings]`` and
    tables after it."""
    lines = [
        "[settings]",
        'data_dir = "data"',
        f"concurrency = {concurrency}",
        f"per_host = {per_host}",
        f'rules = "{ROOT / "rules.toml"}"',
        *extra,
        "",
    ]
    for i in range(feeds):
        host = f"127.0.0.{i % hosts + 1}"
        lines += [
            "[[sources]]",
            f'id = "feed-{i}"',
            f'name = "Feed {i}"',
            'kind = "rss"',
            f'url = "http://{host}:{port}/feed/{i}.xml"',
            "",
        ]
    path = folder / "sources.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _usage() -> tuple[float, int]:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
    return cpu, max(me.ru_maxrss, kids.ru_maxrss)


def child(args: argparse.Namespace) -> dict[str, Any]:
    from pipeline.config import load_config
    from pipeline.fetch.http import DEFAULT_POLICY, Conditional, fetch_sources, policy_for

    folder = Path(tempfile.mkdtemp(prefix="lendwatch-bench-"))
    cfg = write_config(folder, args.n, args.hosts, args.port, args.concurrency, args.per_host)
    config = load_config(cfg)
    if args.parse_processes is None:  # what a real cycle of this size would use
        policy = policy_for(args.n)
    else:
        policy = DEFAULT_POLICY.__class__(parse_processes=args.parse_processes)
    out: dict[str, Any] = {"feeds": args.n, "mode": args.mode}
    cpu0, _ = _usage()
    t0 = time.perf_counter()
    if args.mode == "fetch":
        if args.profile:
            prof = cProfile.Profile()
            prof.enable()
        first = fetch_sources(config.sources, {}, config.settings, policy=policy)
        if args.profile:
            prof.disable()
        wall = time.perf_counter() - t0
        cpu1, rss = _usage()
        cond = {r.source_id: Conditional(r.etag, r.last_modified) for r in first}
        t1 = time.perf_counter()
        second = fetch_sources(config.sources, cond, config.settings, policy=policy)
        out["warm_wall"] = time.perf_counter() - t1
        out["items"] = sum(len(r.items) for r in first)
        out["failed"] = sum(r.status != "ok" for r in first)
        out["share_304"] = sum(r.not_modified for r in second) / len(second)
        if args.profile:
            stats = pstats.Stats(prof, stream=sys.stderr)
            stats.sort_stats("tottime").print_stats(args.profile_top)
    else:
        from pipeline.run import run_cycle
        from pipeline.store import Store

        store = Store.open(config.settings.db_path)
        if args.profile:
            prof = cProfile.Profile()
            prof.enable()
        report = run_cycle(config, store, policy=policy)
        if args.profile:
            prof.disable()
            stats = pstats.Stats(prof, stream=sys.stderr)
            stats.sort_stats("cumulative").print_stats(args.profile_top)
        wall = time.perf_counter() - t0
        cpu1, rss = _usage()
        t1 = time.perf_counter()
        again = run_cycle(config, store, policy=policy)
        out["warm_wall"] = time.perf_counter() - t1
        store.close()
        out["items"] = report.new_items
        out["failed"] = len(report.failed)
        out["share_304"] = sum(s.not_modified for s in again.sources) / len(again.sources)
    out.update(wall=wall, cpu=cpu1 - cpu0, peak_rss_mb=rss / 1024)
    return out


def start_server(
    feeds: int, latency: float, hosts: int, *, rolling: bool = False
) -> tuple[subprocess.Popen[str], int]:
    """fetch_feeds.py in its own process; returns it and its port once it listens."""
    cmd = [sys.executable, str(HERE / "fetch_feeds.py"), "--feeds", str(feeds)]
    cmd += ["--latency", str(latency), "--hosts", str(hosts)] + (["--rolling"] if rolling else [])
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("READY"):
        proc.kill()
        raise SystemExit(f"feed server did not start: {line!r}")
    return proc, int(line.split()[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--feeds", type=int, action="append", help="N (repeatable); default 200, 1000")
    ap.add_argument("--mode", choices=("fetch", "cycle", "both"), default="both")
    ap.add_argument("--latency", type=float, default=0.15)
    ap.add_argument("--hosts", type=int, default=20)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--per-host", type=int, default=2)
    ap.add_argument(
        "--parse-processes", type=int, help="default: as lendwatch chooses (policy_for)"
    )
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--profile-top", type=int, default=25)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args)))
        return
    modes = ("fetch", "cycle") if args.mode == "both" else (args.mode,)
    print(
        f"latency {args.latency * 1000:.0f} ms, {args.hosts} loopback hosts, "
        f"concurrency {args.concurrency}, per_host {args.per_host}, "
        f"parse processes {'auto' if args.parse_processes is None else args.parse_processes}"
        ", "
        f"{os.cpu_count()} CPUs"
    )
    print(
        f"{'mode':6} {'feeds':>5} {'items':>6} {'fail':>4} {'wall s':>7} {'cpu s':>6} "
        f"{'rss MB':>7} {'warm s':>7} {'304 %':>6}"
    )
    for n in args.feeds or [200, 1000]:
        server, port = start_server(n, args.latency, args.hosts)
        try:
            for mode in modes:
                cmd = [sys.executable, __file__, "--child", "--n", str(n), "--port", str(port)]
                cmd += ["--mode", mode, "--latency", str(args.latency), "--hosts", str(args.hosts)]
                cmd += ["--concurrency", str(args.concurrency), "--per-host", str(args.per_host)]
                if args.parse_processes is not None:
                    cmd += ["--parse-processes", str(args.parse_processes)]
                if args.profile:
                    cmd += ["--profile", "--profile-top", str(args.profile_top)]
                done = subprocess.run(cmd, capture_output=True, text=True, check=False)
                if done.returncode != 0:
                    print(f"{mode:6} {n:>5} failed:\n{done.stderr[-2000:]}")
                    continue
                if args.profile and done.stderr:
                    print(done.stderr)
                r = json.loads(done.stdout.strip().splitlines()[-1])
                print(
                    f"{mode:6} {n:>5} {r['items']:>6} {r['failed']:>4} {r['wall']:>7.2f} "
                    f"{r['cpu']:>6.2f} {r['peak_rss_mb']:>7.1f} {r['warm_wall']:>7.2f} "
                    f"{r['share_304'] * 100:>5.0f}%"
                )
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
