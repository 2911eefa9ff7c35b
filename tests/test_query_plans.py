"""A cycle's planning reads what can be sent, through indexes, never the whole database.

The statements the digest, the alerts and the 日程 run every cycle are captured as they run
(SQLite's trace callback, parameters expanded) and each is put to ``EXPLAIN QUERY PLAN``: none
may read ``items``, ``delivery_items`` or ``item_facts`` whole, since such a scan grows with
every item ever stored (the curve: benchmarks/bench_growth.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.db import iso
from pipeline.store import Store, deliveries, facts
from pipeline.store import items as queries

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
WHOLE = ("items", "delivery_items", "item_facts", "i", "di", "f")
# partial indexes of the rows waiting to be sent (schema 11): bounded by the news, not the store
WAITING = ("USING INDEX items_pending", "USING INDEX items_backlog_untold")


@pytest.fixture
def store(tmp_path: Path) -> Store:
    """A database with some history: plans are chosen for the data, not for empty tables."""
    store = Store.open(tmp_path / "lendwatch.db")
    rows = []
    for k in range(3_000):
        seen = iso(NOW - timedelta(days=30, minutes=-k * 10))
        rows.append(
            (
                f"i{k}",
                "pboc",
                f"g{k}",
                f"t{k}",
                seen,
                seen,
                f"h{k}",
                k % 2,
                seen if k % 20 == 0 else None,
                seen if k % 2 == 0 else None,
            )
        )
    with store.db.conn:
        store.db.conn.executemany(
            "INSERT INTO items (id, source_id, guid, title, first_seen, last_seen, content_hash,"
            " flagged, alerted_at, digested_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        at = iso(NOW - timedelta(days=1))
        store.db.conn.execute(
            "INSERT INTO deliveries (kind, channel, target, recipients, subject, message_id,"
            " payload, status, created_at, next_attempt) VALUES ('digest', 'outbox', 'outbox',"
            " '[]', 's', '', x'00', 'sent', ?, ?)",
            (at, at),
        )
        store.db.conn.execute(
            "INSERT INTO delivery_items (delivery_id, item_id) SELECT 1, id FROM items"
            " WHERE flagged = 1"
        )
    return store


def statements(store: Store, call: Callable[[], object]) -> list[str]:
    seen: list[str] = []
    conn = store.db.conn
    conn.set_trace_callback(seen.append)
    try:
        call()
    finally:
        conn.set_trace_callback(None)
    return [s for s in seen if s.lstrip().upper().startswith("SELECT")]


def whole_reads(store: Store, sql: str) -> list[str]:
    """The plan lines that read one of our tables whole. The trace gives the statement with
    its parameters written in; they go back to parameters first, since the planner may choose
    otherwise for a literal than for a bound value (as the code runs it)."""
    params: list[str] = []

    def bind(m: re.Match[str]) -> str:
        params.append(m.group(1).replace("''", "'"))
        return "?"

    bound = re.sub(r"'((?:[^']|'')*)'", bind, sql)
    plan = store.db.conn.execute(f"EXPLAIN QUERY PLAN {bound}", params)
    details = [str(row[-1]) for row in plan]
    # SCAN reads every row, by the table or by an index (both grow with the table), except
    # an index of only what is waiting to be sent; SEARCH is a look-up
    return [
        d
        for d in details
        if d.startswith("SCAN ") and d.split()[1] in WHOLE and not d.endswith(WAITING)
    ]


QUERIES: dict[str, Callable[[Store], object]] = {
    "digest candidates": lambda s: queries.digest_candidates(s.db, NOW),
    "alert candidates": lambda s: queries.alert_candidates(s.db, NOW - timedelta(days=2), NOW),
    "alert history": lambda s: queries.alert_history(s.db, NOW - timedelta(days=14)),
    "backlog counts": lambda s: queries.untold_backlog(s.db, NOW),
    "what was carried": lambda s: deliveries.claimed_item_ids(
        s.db, "digest", "outbox", among=["a", "b"]
    ),
    "what was carried, to anyone": lambda s: deliveries.claimed_item_ids(
        s.db, "digest", among=["a"]
    ),
    "the agenda": lambda s: facts.dated(s.db, NOW.date(), NOW.date() + timedelta(days=60)),
}


@pytest.mark.parametrize("name", QUERIES)
def test_no_planning_query_reads_a_table_whole(store: Store, name: str) -> None:
    run = statements(store, lambda: QUERIES[name](store))
    assert run, f"{name}: no statement captured"
    for sql in run:
        assert whole_reads(store, sql) == [], (name, sql)


def test_a_whole_read_is_seen_as_one(store: Store) -> None:
    """The check can fail: a condition no index serves is a whole read; a key is not."""
    assert whole_reads(store, "SELECT * FROM items WHERE title = 'x'") == ["SCAN items"]
    assert whole_reads(store, "SELECT * FROM items WHERE id = 'x'") == []
