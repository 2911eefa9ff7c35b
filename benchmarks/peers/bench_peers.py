"""lendwatch next to its peers on the same feeds, in one run.

    .venv/bin/python benchmarks/peers/bench_peers.py [--feeds 200] [--latency 0.15] [--hosts 20]
        [--urlwatch /tmp/urlwatch-venv/bin/urlwatch] [--scale 1000] [--repeat 5]

One loopback feed server (``benchmarks/fetch_feeds.py``: ``--feeds`` RSS feeds of 30 items,
``--latency`` per response, spread over 127.0.0.1 … 127.0.0.H, ETag and 304 support) serves
every tool in turn. Each tool runs as a fresh process on a fresh state twice: cold (everything
new) and warm (the same feeds again: every response a 304). For each run: wall time, CPU time
(user + sys, the tool's own child processes included) and peak RSS (the largest single
process), from ``wait4``.

* lendwatch: ``lendwatch run`` (fetch, parse, store, classify, digest to the outbox), the
  shipped rules, concurrency 32, 2 requests per host;
* urlwatch 2.x, when ``--urlwatch`` names its command (install it in a venv of its own, e.g.
  ``python3 -m venv /tmp/urlwatch-venv && /tmp/urlwatch-venv/bin/pip install 'urlwatch<3'``;
  it is no dependency of lendwatch): one ``url`` job per feed, 10 threads, a diff of the page
  text, no item parsing, no per-host limit;
* ``asyncio_feeds.py`` beside this file: httpx + feedparser, 16 in flight, 2 per host, ETags and
  seen ids in a JSON file.

lendwatch and the script run with this script's Python: run it with the Python of a plain install
(``python -m venv /tmp/v && /tmp/v/bin/pip install . && /tmp/v/bin/python
benchmarks/peers/bench_peers.py``) to measure what a user runs; the development venv adds an
editable install's import hooks and trio (selenium's, imported by httpcore when present).

The feed server shares the cores with the tool: each cold run's line of "busy" adds the server's
CPU (``/proc``) to the tool's over wall time x cores; near 100% the machine was saturated and a
tool's wall time can only fall with its CPU.

Prints the table and lendwatch's ratio to each peer, then the scale envelope derived from
lendwatch's figures. ``--repeat N`` runs N rounds of all the tools (each round's tools side by
side) and prints every round's figures, then the table of each figure's median; ``--scale N``
adds a cold ``lendwatch run`` of N feeds. Prints figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCH = HERE.parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

from bench_fetch import start_server, write_config  # noqa: E402

LENDWATCH = Path(sys.executable).with_name("lendwatch")
CADENCE = 15 * 60  # seconds between two cycles of a source


@dataclass(frozen=True)
class Run:
    wall: float
    cpu: float
    rss_mb: float
    code: int
    server_cpu: float = 0.0  # the feed server's CPU during the run: it shares the cores


SERVER: list[int] = []  # the feed server's pid, while one runs


def server_cpu() -> float:
    """CPU seconds the feed server (a process of its own) has used so far; 0 without /proc."""
    if not SERVER:
        return 0.0
    try:
        fields = Path(f"/proc/{SERVER[0]}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Tool:
    name: str
    cold: Run
    warm: Run


def measure(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> Run:
    """One process: wall time, CPU (its reaped children included), peak RSS (wait4)."""
    # stderr to a file, not a pipe: a tool that logs more than a pipe holds (lendwatch logs a
    # line per source) would block on it while this waits for it to exit
    with tempfile.TemporaryFile() as log:
        served = server_cpu()
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=log)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        served = server_cpu() - served
        log.seek(0)
        err = log.read().decode(errors="replace")
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}:\n{err[-2000:]}")
    cpu = usage.ru_utime + usage.ru_stime
    return Run(wall, cpu, usage.ru_maxrss / 1024, proc.returncode, served)


def urls_of(feeds: int, hosts: int, port: int) -> list[str]:
    return [f"http://127.0.0.{i % hosts + 1}:{port}/feed/{i}.xml" for i in range(feeds)]


def lendwatch(folder: Path, feeds: int, hosts: int, port: int) -> Callable[[], Run]:
    config = write_config(folder, feeds, hosts, port, concurrency=32, per_host=2)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LENDWATCH_")}
    return lambda: measure([str(LENDWATCH), "--config", str(config), "run"], folder, env)


def urlwatch(folder: Path, command: str, urls: list[str]) -> Callable[[], Run]:
    jobs = folder / "urls.yaml"
    jobs.write_text(
        "\n---\n".join(f"name: feed-{i}\nurl: {u}" for i, u in enumerate(urls)) + "\n",
        encoding="utf-8",
    )
    env = dict(os.environ, HOME=str(folder))
    argv = [command, "--urls", str(jobs), "--config", str(folder / "urlwatch.yaml")]
    argv += ["--cache", str(folder / "cache.db"), "--hooks", str(folder / "hooks.py")]
    return lambda: measure(argv, folder, env)


def asyncio_script(folder: Path, urls: list[str]) -> Callable[[], Run]:
    listing = folder / "urls.txt"
    listing.write_text("\n".join(urls) + "\n", encoding="utf-8")
    argv = [sys.executable, str(HERE / "asyncio_feeds.py"), str(listing), str(folder / "s.json")]
    return lambda: measure(argv, folder)


def cold_and_warm(name: str, make: Callable[[Path], Callable[[], Run]]) -> Tool:
    with tempfile.TemporaryDirectory(prefix=f"peers-{name.split()[0]}-") as tmp:
        run = make(Path(tmp))
        cold = run()
        warm = run()
    return Tool(name, cold, warm)


def table(tools: list[Tool]) -> None:
    print("| tool | cold wall | cold CPU | warm (all 304) wall | warm CPU | peak RSS |")
    print("|---|---:|---:|---:|---:|---:|")
    for t in tools:
        print(
            f"| {t.name} | {t.cold.wall:.2f} s | {t.cold.cpu:.2f} s | {t.warm.wall:.2f} s"
            f" | {t.warm.cpu:.2f} s | {peak(t):.0f} MB |"
        )
    ours = tools[0]
    for peer in tools[1:]:
        ratios = (
            ours.cold.wall / peer.cold.wall,
            ours.cold.cpu / peer.cold.cpu,
            ours.warm.wall / peer.warm.wall,
            ours.warm.cpu / peer.warm.cpu,
            peak(ours) / peak(peer),
        )
        print(
            f"lendwatch / {peer.name.split(' (')[0]}: cold wall {ratios[0]:.2f}x, cold CPU"
            f" {ratios[1]:.2f}x, warm wall {ratios[2]:.2f}x, warm CPU {ratios[3]:.2f}x,"
            f" peak RSS {ratios[4]:.2f}x"
        )


def medians(rounds: list[list[Tool]]) -> list[Tool]:
    """Each tool's median run (field by field) over the rounds."""

    def middle(runs: list[Run]) -> Run:
        return Run(
            statistics.median(r.wall for r in runs),
            statistics.median(r.cpu for r in runs),
            statistics.median(r.rss_mb for r in runs),
            0,
            statistics.median(r.server_cpu for r in runs),
        )

    return [
        Tool(
            same[0].name,
            middle([t.cold for t in same]),
            middle([t.warm for t in same]),
        )
        for same in zip(*rounds, strict=True)
    ]


def spread(rounds: list[list[Tool]]) -> None:
    """Every round's cold and warm figures, a line per tool and round."""
    for n, tools in enumerate(rounds, 1):
        for t in tools:
            print(
                f"round {n} {t.name.split(' (')[0].strip('*')}: cold {t.cold.wall:.2f} s /"
                f" {t.cold.cpu:.2f} s CPU, warm {t.warm.wall:.2f} s / {t.warm.cpu:.2f} s CPU"
            )


def busy(tools: list[Tool]) -> None:
    """How much of the machine each cold run had: the tool's CPU plus the feed server's, over
    the wall time and the cores. Near 1.0 the cores were saturated, and wall time can only
    fall with CPU."""
    cores = os.cpu_count() or 1
    for t in tools:
        run = t.cold
        share = (run.cpu + run.server_cpu) / (run.wall * cores)
        print(
            f"{t.name.split(' (')[0].strip('*')} cold: its CPU {run.cpu:.2f} s + the feed server's"
            f" {run.server_cpu:.2f} s over {run.wall:.2f} s x {cores} cores = {share:.0%} busy"
        )


def peak(tool: Tool) -> float:
    return max(tool.cold.rss_mb, tool.warm.rss_mb)


def envelope(ours: Tool, feeds: int) -> None:
    """Sources one core can keep at a 15-minute cadence, from the CPU a source costs a cycle."""
    cold = ours.cold.cpu / feeds
    warm = ours.warm.cpu / feeds
    print(
        f"scale envelope (one core, every source every {CADENCE // 60} min): a source costs"
        f" {cold * 1e3:.1f} ms CPU a cycle when all 30 items are new, {warm * 1e3:.1f} ms when"
        f" it answers 304 (process start-up included): {CADENCE / cold:,.0f} sources per core"
        f" if every feed were entirely new every cycle, {CADENCE / warm:,.0f} if none changed"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--feeds", type=int, default=200)
    ap.add_argument("--latency", type=float, default=0.15)
    ap.add_argument("--hosts", type=int, default=20)
    ap.add_argument("--urlwatch", help="the urlwatch command (a venv of its own)")
    ap.add_argument("--scale", type=int, help="also a cold lendwatch run of this many feeds")
    ap.add_argument("--repeat", type=int, default=1, help="rounds of all tools; medians printed")
    args = ap.parse_args()
    print(
        f"{args.feeds} feeds x 30 items, {args.latency * 1000:.0f} ms latency,"
        f" {args.hosts} loopback hosts, {os.cpu_count()} CPUs"
    )
    server, port = start_server(args.feeds, args.latency, args.hosts)
    SERVER[:] = [server.pid]
    urls = urls_of(args.feeds, args.hosts, port)
    rounds: list[list[Tool]] = []
    try:
        for _ in range(args.repeat):  # the tools side by side in every round
            tools = [
                cold_and_warm("**lendwatch**", lambda f: lendwatch(f, args.feeds, args.hosts, port))
            ]
            if args.urlwatch:
                tools.append(
                    cold_and_warm(
                        "urlwatch 2.x (10 threads, diff only, no item parsing)",
                        lambda f: urlwatch(f, args.urlwatch or "", urls),
                    )
                )
            tools.append(
                cold_and_warm(
                    "an httpx + feedparser asyncio script (16 in flight)",
                    lambda f: asyncio_script(f, urls),
                )
            )
            rounds.append(tools)
    finally:
        server.terminate()
        server.wait(timeout=10)
    tools = medians(rounds)
    if args.repeat > 1:
        spread(rounds)
        print(f"medians of {args.repeat} rounds:")
    table(tools)
    busy(tools)
    envelope(tools[0], args.feeds)
    if args.scale:
        server, port = start_server(args.scale, args.latency, args.hosts)
        SERVER[:] = [server.pid]
        try:
            with tempfile.TemporaryDirectory(prefix="peers-scale-") as tmp:
                big = lendwatch(Path(tmp), args.scale, args.hosts, port)()
        finally:
            server.terminate()
            server.wait(timeout=10)
        print(
            f"lendwatch, {args.scale} feeds x 30 items cold: wall {big.wall:.2f} s,"
            f" CPU {big.cpu:.2f} s (the feed server's: {big.server_cpu:.2f} s),"
            f" peak RSS {big.rss_mb:.0f} MB"
        )


if __name__ == "__main__":
    main()
