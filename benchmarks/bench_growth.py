"""A cycle costs what is new, not what is stored: one cycle against databases of growing size.

    .venv/bin/python benchmarks/bench_growth.py [--sizes 10000,100000,1000000] [--new 10]
                                               [--repeat 3]

For each size a database is grown in one transaction to that many stored items (20 sources,
half flagged, 2,000 items a day going back as far as needed; every flagged item digested by the
digest of its day, which carries it in ``delivery_items``; ``--alerts-per-day`` of them alerted
(default 10; the two-week alert history every cycle clusters grows with this, not with the
store); a tenth of the items stored as backlog): the steady state of an install that has run
for months. Then one cycle's work after fetching is timed, ``--repeat`` times with fresh items
each: ``--new`` new items of one source stored and classified with the shipped rules
(``pipeline.run.store_result``), the immediate alerts planned and written, and the digest
planned and written to the outbox. Prints the median per size and the ratio to the smallest;
figures only, nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.config import load_config  # noqa: E402
from pipeline.db import iso  # noqa: E402
from pipeline.digest import send_alerts, send_digest  # noqa: E402
from pipeline.models import Item, SourceResult, Verdict  # noqa: E402
from pipeline.run import load_classifier, store_result  # noqa: E402
from pipeline.store import Store  # noqa: E402

PER_DAY = 2_000
SOURCES = [f"s{k:02d}" for k in range(20)]
HEADLINE = "关于规范网络小额贷款业务的第{k}号通知"
FRESH = (
    "金融监管总局发布《网络小额贷款业务管理暂行办法》第{k}次修订",
    "关于暂停借呗新增授信的公告（{k}）",
    "助贷新规落地：年化利率不得超过24%（{k}）",
    "沪深300指数收涨：财经早报第{k}期",
)

CONFIG = """
[settings]
data_dir = "{data}"
rules = "{rules}"

[digest]
send_empty = true

[[sources]]
id = "s00"
name = "Source 0"
kind = "rss"
url = "https://s00.example.cn/feed.xml"
"""


def grow(db: Path, size: int, now: datetime) -> None:
    with Store.open(db):
        pass  # the schema
    verdict = Verdict(flagged=True, severity="medium", score=6.0, topics=("网络小贷",)).to_json()
    conn = sqlite3.connect(db)
    days = size // PER_DAY + 1
    every = max(PER_DAY // (2 * args.alerts_per_day), 1)  # one flagged item in ``every``
    with conn:
        for day in range(days):
            when = now - timedelta(days=days - day, hours=1)
            digest_at = iso(when + timedelta(hours=2))
            cur = conn.execute(
                "INSERT INTO deliveries (kind, channel, target, recipients, subject, message_id,"
                " payload, status, created_at, next_attempt, sent_at) VALUES ('digest',"
                " 'outbox', 'outbox', '[]', 'd', '', x'00', 'sent', ?, ?, ?)",
                (digest_at, digest_at, digest_at),
            )
            delivery = cur.lastrowid
            rows = []
            links = []
            for k in range(day * PER_DAY, min((day + 1) * PER_DAY, size)):
                flagged = k % 2 == 0
                backlog = "first-fetch" if k % 10 == 1 else None
                alerted = iso(when) if k % (2 * every) == 0 else None
                rows.append(
                    (
                        f"i{k:08d}",
                        SOURCES[k % len(SOURCES)],
                        f"g{k}",
                        f"https://example.cn/{k}.html",
                        HEADLINE.format(k=k),
                        iso(when),
                        iso(when),
                        f"h{k}",
                        int(flagged),
                        "medium" if flagged else None,
                        verdict if flagged else None,
                        alerted,
                        digest_at if flagged else None,
                        backlog,
                    )
                )
                if flagged:
                    links.append((delivery, f"i{k:08d}"))
            conn.executemany(
                "INSERT INTO items (id, source_id, guid, url, title, first_seen, last_seen,"
                " content_hash, flagged, severity, score, topics, verdict, rules_version,"
                " alerted_at, digested_at, backlog) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 6.0,"
                " '[]', ?, 'bench', ?, ?, ?)",
                rows,
            )
            conn.executemany(
                "INSERT INTO delivery_items (delivery_id, item_id) VALUES (?, ?)", links
            )
        conn.execute("UPDATE fts_state SET indexed_rowid = (SELECT MAX(rowid) FROM items)")
        conn.execute(
            "INSERT INTO source_state (source_id, status, reason, consecutive_failures,"
            " last_attempt, last_success) VALUES ('s00', 'ok', '', 0, ?, ?)",
            (iso(now - timedelta(hours=1)), iso(now - timedelta(hours=1))),
        )
    conn.close()


def one_cycle(config_path: Path, run: int) -> float:
    config = load_config(config_path)
    source = config.sources[0]
    classifier = load_classifier(config)
    stamp = datetime.now(UTC)
    items = tuple(
        Item(
            source_id="s00",
            guid=f"new-{run}-{k}",
            title=FRESH[k % len(FRESH)].format(k=f"{run}-{k}"),
            url=f"https://s00.example.cn/new-{run}-{k}.html",
            published=stamp,
        )
        for k in range(args.new)
    )
    started = time.perf_counter()
    with Store.open(config.settings.db_path) as store:
        store_result(
            store,
            SourceResult("s00", "ok", "", items=items),
            source,
            classifier,
            last_success=stamp - timedelta(minutes=30),
            max_age=timedelta(days=config.digest.max_age_days),
        )
        send_alerts(store, config)
        send_digest(store, config)
    return time.perf_counter() - started


def main() -> None:
    sizes = [int(s) for s in args.sizes.split(",")]
    results: dict[int, float] = {}
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / "data"
            data.mkdir()
            config_path = Path(tmp) / "sources.toml"
            config_path.write_text(
                CONFIG.format(data=data, rules=ROOT / "rules.toml"), encoding="utf-8"
            )
            config = load_config(config_path)
            built = time.perf_counter()
            grow(config.settings.db_path, size, datetime.now(UTC))
            built = time.perf_counter() - built
            one_cycle(config_path, -1)  # warm: rules cache, page cache
            times = [one_cycle(config_path, run) for run in range(args.repeat)]
            results[size] = statistics.median(times)
            print(
                f"{size:>9,} stored items (built in {built:5.1f} s): one cycle of {args.new} new"
                f" items {results[size] * 1000:7.1f} ms (median of {args.repeat};"
                f" runs {', '.join(f'{t * 1000:.0f}' for t in times)} ms)",
                flush=True,
            )
    base = results[sizes[0]]
    print(
        "ratio to the smallest: "
        + ", ".join(f"{size:,}: {value / base:.2f}x" for size, value in results.items())
    )
    print(json.dumps({str(k): round(v, 4) for k, v in results.items()}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--new", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--alerts-per-day", type=int, default=10)
    args = parser.parse_args()
    main()
