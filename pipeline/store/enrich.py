"""What the detail stage found about an item: its penalty table and its attachments.

``penalties`` holds one row per item whose detail page has a penalty table (the export
contract of issue #14: parties, amount_yuan, authority, decision_date), ``penalty_records`` one
row per party (party, violation, decision, amount_yuan); ``attachments`` one row per file with
its name, link, kind, size, status, reason and text. They are written with the item, in its
transaction, and only when the detail stage produced them: a later list fetch of the same item
(which carries neither) leaves them as they are.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Any

import sqlite_utils

from pipeline.db import IDS, ids_param, iso, utcnow
from pipeline.models import Item, ItemAttachment

SCHEMA_PENALTIES = """
CREATE TABLE penalties (
    item_id TEXT PRIMARY KEY,
    parties TEXT NOT NULL DEFAULT '[]',
    amount_yuan REAL,
    authority TEXT,
    decision_date TEXT,
    created_at TEXT NOT NULL
);
CREATE TABLE penalty_records (
    item_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    party TEXT NOT NULL,
    violation TEXT NOT NULL DEFAULT '',
    decision TEXT NOT NULL DEFAULT '',
    amount_yuan REAL,
    PRIMARY KEY (item_id, position)
);
CREATE INDEX penalty_records_party ON penalty_records (party);
"""

SCHEMA_ATTACHMENTS = """
CREATE TABLE attachments (
    item_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    url TEXT NOT NULL,
    kind TEXT NOT NULL,
    size INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    text TEXT NOT NULL DEFAULT '',
    fetched_at TEXT NOT NULL,
    PRIMARY KEY (item_id, position)
);
"""
CHUNK = 500  # items enriched at a time while iterating (bounds memory, not variables)


def _number(value: float | None) -> int | float | None:
    """Yuan as the export writes them: an integral amount as an int, else two decimals."""
    if value is None:
        return None
    return int(value) if float(value).is_integer() else round(float(value), 2)


def save(conn: sqlite3.Connection, items: Iterable[Item]) -> None:
    """Store the penalty and attachments the items carry (inside the caller's transaction);
    an item that carries neither keeps what is stored."""
    now = iso(utcnow())
    for item in items:
        if item.penalty is not None:
            p = item.penalty
            conn.execute("DELETE FROM penalty_records WHERE item_id = ?", [item.id])
            conn.execute(
                "INSERT OR REPLACE INTO penalties (item_id, parties, amount_yuan, authority,"
                " decision_date, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    item.id,
                    json.dumps(list(p.get("parties") or []), ensure_ascii=False),
                    p.get("amount_yuan"),
                    p.get("authority"),
                    p.get("decision_date"),
                    now,
                ],
            )
            conn.executemany(
                "INSERT INTO penalty_records (item_id, position, party, violation, decision,"
                " amount_yuan) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (
                        item.id,
                        n,
                        str(r.get("party") or ""),
                        str(r.get("violation") or ""),
                        str(r.get("decision") or ""),
                        r.get("amount_yuan"),
                    )
                    for n, r in enumerate(p.get("records") or [])
                ],
            )
        if item.attachments:
            conn.execute("DELETE FROM attachments WHERE item_id = ?", [item.id])
            conn.executemany(
                "INSERT INTO attachments (item_id, position, name, url, kind, size, status,"
                " reason, text, fetched_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (item.id, n, a.name, a.url, a.kind, a.size, a.status, a.reason, a.text, now)
                    for n, a in enumerate(item.attachments)
                ],
            )


def penalties(db: sqlite_utils.Database, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """``{item id: the export's penalty object}`` for the items that have one."""
    out: dict[str, dict[str, Any]] = {}
    if not ids:
        return out
    param = [ids_param(ids)]
    for row in db.query(f"SELECT * FROM penalties WHERE item_id IN {IDS}", param):
        out[row["item_id"]] = {
            "parties": json.loads(row["parties"]),
            "amount_yuan": _number(row["amount_yuan"]),
            "authority": row["authority"],
            "decision_date": row["decision_date"],
            "records": [],
        }
    sql = f"SELECT * FROM penalty_records WHERE item_id IN {IDS} ORDER BY item_id, position"
    for row in db.query(sql, param):
        if row["item_id"] in out:
            out[row["item_id"]]["records"].append(
                {
                    "party": row["party"],
                    "violation": row["violation"],
                    "decision": row["decision"],
                    "amount_yuan": _number(row["amount_yuan"]),
                }
            )
    return out


def attachments(
    db: sqlite_utils.Database, ids: Sequence[str], *, text: bool = True
) -> dict[str, tuple[ItemAttachment, ...]]:
    """``{item id: its attachments in order}``; ``text=False`` leaves the texts out."""
    out: dict[str, list[ItemAttachment]] = {}
    if not ids:
        return {}
    column = "text" if text else "'' AS text"
    sql = (
        f"SELECT item_id, name, url, kind, size, status, reason, {column} FROM attachments"
        f" WHERE item_id IN {IDS} ORDER BY item_id, position"
    )
    for row in db.query(sql, [ids_param(ids)]):
        out.setdefault(row["item_id"], []).append(
            ItemAttachment(
                row["name"],
                row["url"],
                row["kind"],
                row["size"],
                row["status"],
                row["reason"],
                row["text"],
            )
        )
    return {k: tuple(v) for k, v in out.items()}


def search(db: sqlite_utils.Database, query: str, limit: int) -> list[tuple[str, str]]:
    """``(item id, snippet)`` of items whose penalty records or attachments (name or text)
    contain ``query``; the snippet quotes the match with ``[`` ``]`` as the index's do."""
    found: dict[str, str] = {}
    rows = db.execute(
        "SELECT item_id, party || ' ' || violation || ' ' || decision FROM penalty_records"
        " WHERE instr(party, ?) OR instr(violation, ?) OR instr(decision, ?) LIMIT ?",
        [query, query, query, limit],
    ).fetchall()
    rows += db.execute(
        "SELECT item_id, name || ' ' || substr(text, max(1, instr(text, ?) - 40), 120)"
        " FROM attachments WHERE instr(name, ?) OR instr(text, ?) LIMIT ?",
        [query, query, query, limit],
    ).fetchall()
    for item_id, text in rows:
        if item_id not in found:
            found[item_id] = " ".join(str(text).split()).replace(query, f"[{query}]")[:200]
    return list(found.items())[:limit]


def prune_texts(conn: sqlite3.Connection, older_than_days: int) -> int:
    """Retention: drop attachment texts of items first seen more than N days ago (the names,
    links and statuses stay)."""
    cutoff = iso(utcnow() - timedelta(days=older_than_days))
    cur = conn.execute(
        "UPDATE attachments SET text = '' WHERE text != '' AND item_id IN"
        " (SELECT id FROM items WHERE first_seen < ?)",
        [cutoff],
    )
    return cur.rowcount


def as_plain(penalty: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A penalty mapping as a plain dict (for JSON)."""
    return None if penalty is None else json.loads(json.dumps(dict(penalty), ensure_ascii=False))
