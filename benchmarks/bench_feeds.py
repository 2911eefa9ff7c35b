"""Parse cost per feed entry of the rss kind (feedparser, the one parser of record).

    python benchmarks/bench_feeds.py [--items 30 --items 200] [--repeat 20]

Parses benchmark feeds (fetch_feeds.feed_xml: Chinese titles, links with tracking parameters,
escaped HTML descriptions, RFC 822 dates) with ``parse.parse_page`` — decoding, DOCTYPE
stripping, feedparser, plain-text titles, dates, identities — and prints CPU milliseconds per
document and microseconds per entry (best of ``--repeat``), plus feedparser alone.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))


def best(fn: Callable[[], object], repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return min(times)


def main() -> None:
    from fetch_feeds import feed_xml

    from pipeline.fetch import rss
    from pipeline.fetch.parse import document, parse_page
    from pipeline.models import Fetched, Source

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--items", type=int, action="append", help="entries per feed (repeatable)")
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    source = Source(id="b", name="b", kind="rss", url="https://feed1.example.org/rss.xml")
    print(
        f"{'entries':>7} {'bytes':>7} {'parse_page ms':>13} {'µs/entry':>8}"
        f" {'feedparser µs/entry':>19}"
    )
    for n in args.items or [30, 200]:
        body = feed_xml(1, items=n, newest=n - 1)
        fetched = Fetched(
            "b", source.url, 200, {"content-type": "application/rss+xml"}, body, datetime.now(UTC)
        )
        doc = document(fetched, source)
        whole = best(lambda: parse_page(fetched, source), args.repeat)  # noqa: B023
        alone = best(lambda: rss.read_feed(doc), args.repeat)  # noqa: B023
        print(
            f"{n:>7} {len(body):>7} {whole * 1e3:>13.2f} {whole / n * 1e6:>8.0f} "
            f"{alone / n * 1e6:>19.0f}"
        )


if __name__ == "__main__":
    main()
