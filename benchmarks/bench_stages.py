"""What each stage of a cold cycle costs per item: parse, classify, store, index.

    .venv/bin/python benchmarks/bench_stages.py [--feeds 200] [--items 30] [--repeat 3]
                                                [--pool-runs 3] [--no-pool]

Part 1, in one process with no network: ``--feeds`` RSS documents of ``--items`` entries
(``fetch_feeds.feed_xml`` with a live clock: mostly distinct Chinese headlines, links with
tracking parameters, escaped HTML descriptions, RFC 822 dates; the recorded feeds of
tests/fixtures/sources hold 2-12 entries each, too few for a cycle) go through the stages the
cycle runs for each source (``pipeline.run.store_result``), each timed on its own in CPU time:

* parse    ``parse.result``: decode, DOCTYPE strip, feedparser, titles, dates, identities;
* classify ``Classifier.classify`` on the fields the cycle gives it (``classify_fields``);
* store    ``Store.save_classified`` with the verdicts already made, and ``record_result``;
* index    ``Store.index_pending`` once at the end (full-text search), as the cycle does.

Each stage prints µs per item and its share; best of ``--repeat`` (a fresh database each).

Part 2, the parse pool: the whole cycle (``run_cycle``, loopback feed servers with 150 ms
latency on 20 hosts, bench_fetch.py's child) with the parse work in threads
(``parse_processes = 0``) and in one worker process on the other core (``= 1``, what
``policy_for`` picks from 50 sources), ``--pool-runs`` each, interleaved; medians of wall and
CPU time (parent + worker). Prints figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from bench_fetch import start_server  # noqa: E402
from fetch_feeds import feed_xml  # noqa: E402

from pipeline.classify import Classifier  # noqa: E402
from pipeline.classify.inputs import classify_fields  # noqa: E402
from pipeline.fetch import parse  # noqa: E402
from pipeline.models import Fetched, Source, SourceReport, SourceResult, Verdict  # noqa: E402
from pipeline.store import Store  # noqa: E402

STAGES = ("parse", "classify", "store", "index")


def sources_and_documents(feeds: int, items: int) -> list[tuple[Source, Fetched]]:
    now = datetime(2026, 7, 27, 12, 0, tzinfo=UTC)
    out = []
    for i in range(feeds):
        url = f"http://127.0.0.{i % 20 + 1}/feed/{i}.xml"
        source = Source(id=f"feed-{i}", name=f"Feed {i}", kind="rss", url=url)
        body = feed_xml(i, items=items, newest=items - 1, now=now)
        headers = {"content-type": "application/rss+xml; charset=utf-8", "etag": f'"{i}"'}
        out.append((source, Fetched(source.id, url, 200, headers, body, now)))
    return out


def one_cycle(
    docs: list[tuple[Source, Fetched]], classifier: Classifier, folder: Path
) -> tuple[dict[str, float], int]:
    """CPU seconds per stage for one cold cycle on a fresh database; and the items stored."""
    spent = dict.fromkeys(STAGES, 0.0)
    store = Store.open(folder / "stages.db")
    stored = 0
    try:
        for source, fetched in docs:
            t0 = time.process_time()
            result: SourceResult = parse.result(fetched, source)
            t1 = time.process_time()
            verdicts: dict[str, Verdict] = {
                item.id: classifier.classify(
                    *classify_fields(
                        item.title, item.summary, item.body, item.penalty, item.attachments
                    ),
                    issuer=source.issuer,
                    authority=source.authority,
                )
                for item in result.items
            }
            t2 = time.process_time()
            saved, _ = store.save_classified(result.items, lambda item: verdicts[item.id])  # noqa: B023
            report = SourceReport(
                source_id=source.id,
                status=result.status,
                reason=result.reason,
                fetched=len(result.items),
                new=len(saved.new),
                updated=len(saved.updated),
                flagged=sum(1 for v in verdicts.values() if v.flagged),
                not_modified=result.not_modified,
                elapsed_seconds=result.elapsed_seconds,
            )
            store.record_result(result, report)
            t3 = time.process_time()
            spent["parse"] += t1 - t0
            spent["classify"] += t2 - t1
            spent["store"] += t3 - t2
            stored += len(saved.new)
        t4 = time.process_time()
        store.index_pending()
        spent["index"] += time.process_time() - t4
    finally:
        store.close()
    return spent, stored


def stages(args: argparse.Namespace) -> None:
    classifier = Classifier.from_file(ROOT / "rules.toml")
    docs = sources_and_documents(args.feeds, args.items)
    best: dict[str, float] = {}
    stored = 0
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="lendwatch-stages-") as tmp:
            spent, stored = one_cycle(docs, classifier, Path(tmp))
        for stage, seconds in spent.items():
            best[stage] = min(best.get(stage, seconds), seconds)
    total = sum(best.values())
    items = args.feeds * args.items
    print(
        f"stages of a cold cycle, {args.feeds} feeds x {args.items} items ({items} items,"
        f" {stored} stored), CPU time, best of {args.repeat}:"
    )
    for stage in STAGES:
        print(
            f"  {stage:<9} {best[stage] / items * 1e6:8.1f} µs/item  {best[stage]:6.3f} s"
            f"  {best[stage] / total * 100:5.1f} %"
        )
    print(f"  {'total':<9} {total / items * 1e6:8.1f} µs/item  {total:6.3f} s")


def pool(args: argparse.Namespace) -> None:
    server, port = start_server(args.feeds, 0.15, 20)
    figures: dict[int, list[dict[str, float]]] = {0: [], 1: []}
    try:
        for _ in range(args.pool_runs):
            for processes in (0, 1):
                cmd = [sys.executable, str(HERE / "bench_fetch.py"), "--child", "--n"]
                cmd += [str(args.feeds), "--port", str(port), "--mode", "cycle"]
                cmd += ["--latency", "0.15", "--hosts", "20", "--concurrency", "32"]
                cmd += ["--per-host", "2", "--parse-processes", str(processes)]
                done = subprocess.run(cmd, capture_output=True, text=True, check=False)
                if done.returncode != 0:
                    raise SystemExit(f"cycle failed:\n{done.stderr[-2000:]}")
                figures[processes].append(json.loads(done.stdout.strip().splitlines()[-1]))
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(
        f"parse pool, whole cold cycle of {args.feeds} feeds (150 ms, 20 hosts),"
        f" median of {args.pool_runs}:"
    )
    for processes, label in ((0, "threads (no pool)"), (1, "1 worker process")):
        runs = figures[processes]
        wall = statistics.median(r["wall"] for r in runs)
        cpu = statistics.median(r["cpu"] for r in runs)
        rss = statistics.median(r["peak_rss_mb"] for r in runs)
        warm = statistics.median(r["warm_wall"] for r in runs)
        print(
            f"  {label:<18} cold wall {wall:5.2f} s  cpu {cpu:5.2f} s  peak RSS {rss:5.1f} MB"
            f"  warm wall {warm:5.2f} s"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--feeds", type=int, default=200)
    ap.add_argument("--items", type=int, default=30)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--pool-runs", type=int, default=3)
    ap.add_argument("--pool", action=argparse.BooleanOptionalAction, default=True)
    args = ap.parse_args()
    stages(args)
    if args.pool:
        pool(args)


if __name__ == "__main__":
    main()
