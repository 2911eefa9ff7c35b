"""The lifecycle and enforcement facts of an item (``pipeline.extract``), kept with the item.

``item_facts`` holds one row per item whose facts were extracted: its stage, the dates (ISO
``YYYY-MM-DD``), the raw effective clause, the repealed titles (JSON list), its own 文号 and the
penalty the text states (JSON: parties, amount_yuan, authority, decision_date, violations,
records). Facts are written in the transaction that stores and classifies the item
(``Store.save_classified``) and rewritten by ``lendwatch reclassify``. A database migrated from
schema version 9 starts with the table empty: the migration is SQL only and extracts nothing;
``lendwatch reclassify`` fills it for every stored item.

The three date columns are indexed: the agenda and the calendar (``dated``) select by date.

``pipeline.extract`` (its package pulls in bs4) is imported only inside ``extract_rows``, which
runs where items are stored or reclassified: reading facts (export, the digest, the calendar)
does not load it. Rows come back as ``models.StoredFacts``, the same fields in JSON-ready
shapes.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import sqlite_utils

from pipeline.db import IDS, ids_param, iso, utcnow
from pipeline.models import ItemAttachment, StoredFacts, iso_day

if TYPE_CHECKING:
    from pipeline.extract.models import Facts

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE item_facts (
    item_id TEXT PRIMARY KEY REFERENCES items (id) ON DELETE CASCADE,
    stage TEXT NOT NULL,
    comment_deadline TEXT,
    effective TEXT,
    effective_raw TEXT,
    transition_end TEXT,
    repeals TEXT NOT NULL DEFAULT '[]',
    doc_number TEXT,
    penalty TEXT,
    extracted_at TEXT NOT NULL
);
CREATE INDEX item_facts_comment_deadline ON item_facts (comment_deadline);
CREATE INDEX item_facts_effective ON item_facts (effective);
CREATE INDEX item_facts_transition_end ON item_facts (transition_end);
"""

DATE_FIELDS = ("comment_deadline", "effective", "transition_end")


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def row_of(item_id: str, facts: Facts) -> tuple[Any, ...]:
    """The ``item_facts`` row of one extraction (without ``extracted_at``)."""
    penalty = None
    if facts.penalty is not None:
        penalty = facts.penalty.to_extract_dict() | {
            "records": [r.to_dict() for r in facts.penalty.records]
        }
    return (
        item_id,
        facts.stage,
        iso_day(facts.comment_deadline),
        iso_day(facts.effective),
        facts.effective_raw,
        iso_day(facts.transition_end),
        json.dumps(list(facts.repeals), ensure_ascii=False),
        facts.doc_number,
        None if penalty is None else json.dumps(penalty, ensure_ascii=False),
    )


def save(conn: sqlite3.Connection, rows: Iterable[tuple[Any, ...]]) -> None:
    """Store (replace) the facts rows of ``row_of`` (inside the caller's transaction)."""
    now = iso(utcnow())
    conn.executemany(
        "INSERT OR REPLACE INTO item_facts (item_id, stage, comment_deadline, effective,"
        " effective_raw, transition_end, repeals, doc_number, penalty, extracted_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(*row, now) for row in rows],
    )


def _stored(row: dict[str, Any]) -> StoredFacts:
    return StoredFacts(
        stage=row["stage"],
        comment_deadline=_day(row["comment_deadline"]),
        effective=_day(row["effective"]),
        effective_raw=row["effective_raw"],
        transition_end=_day(row["transition_end"]),
        repeals=tuple(json.loads(row["repeals"] or "[]")),
        doc_number=row["doc_number"],
        penalty=json.loads(row["penalty"]) if row["penalty"] else None,
    )


def load(db: sqlite_utils.Database, ids: Sequence[str]) -> dict[str, StoredFacts]:
    """``{item id: its facts}`` for the items that have them (one JSON parameter)."""
    if not ids:
        return {}
    sql = f"SELECT * FROM item_facts WHERE item_id IN {IDS}"
    return {row["item_id"]: _stored(row) for row in db.query(sql, [ids_param(ids)])}


def dated(
    db: sqlite_utils.Database, start: date | None = None, end: date | None = None
) -> list[tuple[str, str, date]]:
    """``(item id, field, date)`` of every flagged item's deadline, effective date and
    transition end between ``start`` and ``end`` (both included; None: unbounded), soonest
    first. Each branch of the union reads its own date index (CROSS JOIN: the facts first,
    whatever the planner guesses of an empty or small table)."""
    low = start.isoformat() if start else "0000-01-01"
    high = end.isoformat() if end else "9999-12-31"
    branches = [
        f"SELECT f.item_id, '{name}', f.{name} FROM item_facts f CROSS JOIN items i"
        f" ON i.id = f.item_id"
        f" WHERE f.{name} BETWEEN ? AND ? AND i.flagged = 1"
        for name in DATE_FIELDS
    ]
    sql = " UNION ALL ".join(branches) + " ORDER BY 3, 1, 2"
    rows = db.execute(sql, [low, high] * len(DATE_FIELDS)).fetchall()
    return [(item_id, name, date.fromisoformat(day)) for item_id, name, day in rows]


def extract_rows(
    found: Iterable[tuple[str, str, str, str, datetime | None, Sequence[ItemAttachment]]],
) -> list[tuple[object, ...]]:
    """``item_facts`` rows of ``(id, title, summary, body, published, attachments)``. An item
    the extractor fails on (a bug) is logged and gets no facts; it is still stored."""
    from pipeline.extract import extract_item  # bs4: only where items are stored or reclassified

    rows: list[tuple[object, ...]] = []
    for item_id, title, summary, body, published, files in found:
        texts = tuple(a.text for a in files if a.text)
        try:
            rows.append(row_of(item_id, extract_item(title, summary, body, published, texts)))
        except Exception:
            log.exception("facts of item %s not extracted", item_id)
    return rows
