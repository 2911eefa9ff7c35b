"""Items and their verdicts: upserts keyed by source + guid, content hash for edits, FTS.

Also the item queries the digest and the alerts plan with (``digest_candidates``,
``alert_candidates``, ``alert_history``).

No statement binds one variable per item: a list of ids travels as one JSON array
(``IN (SELECT value FROM json_each(?))``, ``ids_param``), and the planning queries select their
rows in SQL. SQLite limits the variables of a statement (32,766 by default), and a backlog of
flagged items can be larger than that.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import sqlite_utils

from pipeline.db import IDS, ids_param, iso, parse_iso, transaction, utcnow
from pipeline.models import Item, ItemAttachment, StoredFacts, Verdict

# the facts of ``lendwatch extract`` that ``lendwatch export`` carries under the same names
FACT_FIELDS = (
    "stage",
    "comment_deadline",
    "effective",
    "effective_raw",
    "transition_end",
    "repeals",
    "doc_number",
)


@dataclass(frozen=True, slots=True)
class StoredItem:
    id: str
    source_id: str
    guid: str
    title: str
    url: str | None
    summary: str
    body: str
    published: datetime | None
    published_raw: str | None
    first_seen: datetime
    content_hash: str
    flagged: bool
    severity: str | None
    score: float
    topics: tuple[str, ...]
    verdict: Verdict | None
    rules_version: str | None
    alerted_at: datetime | None
    digested_at: datetime | None
    extra: dict[str, str] = field(default_factory=dict)
    backlog: str | None = None  # why it was stored but not sent one by one (pipeline.news)
    # filled by the Store facade from store.enrich: the penalty table (the export's ``penalty``
    # object) and the attachments of the item's detail page; from store.facts: the lifecycle
    # and enforcement facts (None: never extracted, e.g. stored before schema version 10)
    penalty: dict[str, Any] | None = None
    attachments: tuple[ItemAttachment, ...] = ()
    facts: StoredFacts | None = None

    def stated_penalty(self) -> dict[str, Any] | None:
        """The export's ``penalty``: the detail page's table (issue #14: parties, amount_yuan,
        authority, decision_date, records) with the ``violations`` of ``lendwatch extract``
        added; else the penalty the text states, in the same shape; else None."""
        found = self.facts.penalty if self.facts is not None else None
        if self.penalty is not None:
            records = self.penalty.get("records") or []
            named = (str(r.get("violation") or "") for r in records)
            return {**self.penalty, "violations": list(dict.fromkeys(v for v in named if v))}
        if found is None:
            return None
        return {
            "parties": list(found.get("parties") or []),
            "amount_yuan": found.get("amount_yuan"),
            "authority": found.get("authority"),
            "decision_date": found.get("decision_date"),
            "records": list(found.get("records") or []),
            "violations": list(found.get("violations") or []),
        }

    def to_export(self) -> dict[str, Any]:
        stated = self.facts.to_dict() if self.facts is not None else {}
        return {
            "id": self.id,
            "source": self.source_id,
            "title": self.title,
            "url": self.url,
            "published": iso(self.published),
            "published_raw": self.published_raw,
            "first_seen": iso(self.first_seen),
            "flagged": self.flagged,
            "severity": self.severity,
            "score": self.score,
            "topics": list(self.topics),
            "doc_numbers": list(self.verdict.doc_numbers) if self.verdict else [],
            "alerted_at": iso(self.alerted_at),
            "digested_at": iso(self.digested_at),
            "backlog": self.backlog,
            **{name: stated.get(name) for name in FACT_FIELDS},
            "penalty": self.stated_penalty(),
            "attachments": [a.to_dict() for a in self.attachments],
        }


@dataclass(frozen=True, slots=True)
class SaveResult:
    new: tuple[Item, ...]
    updated: tuple[Item, ...]
    unchanged: int


def _row_to_item(row: dict[str, Any]) -> StoredItem:
    verdict = Verdict.from_dict(json.loads(row["verdict"])) if row["verdict"] else None
    return StoredItem(
        id=row["id"],
        source_id=row["source_id"],
        guid=row["guid"],
        title=row["title"],
        url=row["url"],
        summary=row["summary"],
        body=row["body"],
        published=parse_iso(row["published"]),
        published_raw=row["published_raw"],
        first_seen=datetime.fromisoformat(row["first_seen"]),
        content_hash=row["content_hash"],
        flagged=bool(row["flagged"]),
        severity=row["severity"],
        score=float(row["score"]),
        topics=tuple(json.loads(row["topics"])),
        verdict=verdict,
        rules_version=row["rules_version"],
        alerted_at=parse_iso(row["alerted_at"]),
        digested_at=parse_iso(row["digested_at"]),
        extra=json.loads(row["extra"] or "{}"),
        backlog=row.get("backlog"),
    )


def known_ids(db: sqlite_utils.Database, ids: Iterable[str]) -> set[str]:
    """Which of these item ids are stored already."""
    return {r[0] for r in db.execute(f"SELECT id FROM items WHERE id IN {IDS}", [ids_param(ids)])}


def save_items(
    db: sqlite_utils.Database,
    items: Sequence[Item],
    now: datetime | None = None,
    backlog: Mapping[str, str] | None = None,
    classify_new: Callable[[Item], Verdict] | None = None,
) -> SaveResult:
    """Insert new items, update edited ones (content hash changed), touch the rest.

    ``backlog``: item id -> why a new item is backlog (``pipeline.news``); stored with it.
    ``classify_new``: the verdict of a new item, stored in the same row as the item (one write
    per new item, not an insert and then an update)."""
    now_s = iso(now or utcnow())
    by_id: dict[str, Item] = {}
    for item in items:  # a feed may list the same entry twice: keep the first
        by_id.setdefault(item.id, item)
    existing: dict[str, tuple[str, str]] = {}
    sql = f"SELECT id, content_hash, body FROM items WHERE id IN {IDS}"
    for row in db.execute(sql, [ids_param(by_id)]):
        existing[row[0]] = (row[1], row[2])
    new: list[Item] = []
    inserts: list[list[object]] = []
    columns: list[str] = []
    updated: list[Item] = []
    unchanged: list[str] = []
    classified_s = iso(utcnow())
    with transaction(db) as conn:
        for iid, item in by_id.items():
            if iid in existing and not item.body and existing[iid][1]:
                item = replace(item, body=existing[iid][1])  # keep the detail page's body
            record = {
                "id": iid,
                "source_id": item.source_id,
                "guid": item.guid,
                "url": item.url,
                "title": item.title,
                "summary": item.summary,
                "body": item.body,
                "published": iso(item.published),
                "published_raw": item.published_raw,
                "extra": json.dumps(dict(item.extra), ensure_ascii=False),
                "content_hash": item.content_hash,
                "last_seen": now_s,
            }
            if iid not in existing:
                record["first_seen"] = now_s
                record["backlog"] = (backlog or {}).get(iid)
                values: list[object] = list(record.values())
                if classify_new is not None:
                    values += _verdict_values(classify_new(item), classified_s)
                inserts.append(values)
                if not columns:  # every new row has the same columns
                    columns = [*record, *(_VERDICT if classify_new is not None else ())]
                new.append(item)
            elif existing[iid][0] != item.content_hash:
                record["updated_at"] = now_s
                sets = ", ".join(f"{k} = ?" for k in record if k != "id")
                conn.execute(
                    f"UPDATE items SET {sets} WHERE id = ?",
                    [v for k, v in record.items() if k != "id"] + [iid],
                )
                updated.append(item)
            else:
                unchanged.append(iid)
        if inserts:
            marks = ", ".join("?" * len(columns))
            conn.executemany(f"INSERT INTO items ({', '.join(columns)}) VALUES ({marks})", inserts)
        if unchanged:
            conn.execute(
                f"UPDATE items SET last_seen = ? WHERE id IN {IDS}", [now_s, ids_param(unchanged)]
            )
    return SaveResult(tuple(new), tuple(updated), len(unchanged))


# the columns of a verdict, as ``_verdict_values`` gives them
_VERDICT = ("flagged", "severity", "score", "topics", "verdict", "rules_version", "classified_at")


def _verdict_values(v: Verdict, classified_at: str | None) -> list[object]:
    """The ``_VERDICT`` columns of one verdict."""
    return [
        int(v.flagged),
        v.severity,
        v.score,
        json.dumps(list(v.topics), ensure_ascii=False),
        v.to_json(),
        v.rules_version,
        classified_at,
    ]


def save_verdicts(db: sqlite_utils.Database, verdicts: Iterable[tuple[str, Verdict]]) -> None:
    now_s = iso(utcnow())
    sets = ", ".join(f"{column} = ?" for column in _VERDICT)
    with transaction(db) as conn:
        conn.executemany(
            f"UPDATE items SET {sets} WHERE id = ?",
            [[*_verdict_values(v, now_s), iid] for iid, v in verdicts],
        )


def get_item(db: sqlite_utils.Database, item_id: str) -> StoredItem | None:
    rows = list(db.query("SELECT * FROM items WHERE id = ?", [item_id]))
    if not rows:  # allow a unique prefix, as git does
        rows = list(db.query("SELECT * FROM items WHERE id LIKE ? LIMIT 2", [item_id + "%"]))
        if len(rows) != 1:
            return None
    return _row_to_item(rows[0])


def iter_items(
    db: sqlite_utils.Database,
    *,
    flagged_only: bool = False,
    since: datetime | None = None,
    ids: Sequence[str] | None = None,
    source_id: str | None = None,
    backlog_only: bool = False,
) -> Iterator[StoredItem]:
    where = ["1 = 1"]
    params: list[Any] = []
    if flagged_only:
        where.append("flagged = 1")
    if source_id is not None:
        where.append("source_id = ?")
        params.append(source_id)
    if backlog_only:
        where.append("backlog IS NOT NULL")
    if since is not None:
        where.append("COALESCE(published, first_seen) >= ?")
        params.append(iso(since))
    if ids is not None:
        where.append(f"id IN {IDS}")
        params.append(ids_param(ids))
    yield from _select(db, " AND ".join(where), params)


def _select(
    db: sqlite_utils.Database,
    where: str,
    params: Sequence[Any],
    order: str = "first_seen, rowid",
) -> Iterator[StoredItem]:
    sql = f"SELECT * FROM items WHERE {where} ORDER BY {order}"
    for row in db.query(sql, params):
        yield _row_to_item(row)


# The conditions of the partial index ``items_pending`` (schema): the planners read only it.
PENDING = "flagged = 1 AND digested_at IS NULL AND backlog IS NULL"


def digest_candidates(db: sqlite_utils.Database, until: datetime) -> list[StoredItem]:
    """Flagged items not yet digested and not backlog, first seen up to ``until``, oldest
    first."""
    where = f"{PENDING} AND first_seen <= ?"
    return list(_select(db, where, [iso(until)]))


def alert_candidates(
    db: sqlite_utils.Database, since: datetime, until: datetime
) -> list[StoredItem]:
    """Flagged items neither alerted nor digested nor backlog, first seen between ``since`` and
    ``until``."""
    where = f"{PENDING} AND alerted_at IS NULL AND first_seen >= ? AND first_seen <= ?"
    return list(_select(db, where, [iso(since), iso(until)]))


@dataclass(frozen=True, slots=True)
class BacklogCount:
    """Backlog items of one source not yet told in a digest, for one reason
    (``pipeline.news``)."""

    source_id: str
    reason: str
    items: int
    flagged: int


# The conditions of the partial index ``items_backlog_untold`` (schema).
UNTOLD = "backlog IS NOT NULL AND digested_at IS NULL"


def untold_backlog(db: sqlite_utils.Database, until: datetime) -> list[BacklogCount]:
    """Counts of the backlog first seen up to ``until`` that no digest has told of yet."""
    sql = (
        f"SELECT source_id, backlog, COUNT(*), SUM(flagged) FROM items WHERE {UNTOLD}"
        " AND first_seen <= ? GROUP BY source_id, backlog ORDER BY source_id, backlog"
    )
    return [BacklogCount(*row) for row in db.execute(sql, [iso(until)])]


def mark_backlog_told(db: sqlite_utils.Database, until: datetime, now: datetime) -> int:
    """The backlog first seen up to ``until`` is told (a digest carrying its counts is
    recorded): ``digested_at`` = ``now``. Returns how many items."""
    with transaction(db) as conn:
        cur = conn.execute(
            f"UPDATE items SET digested_at = ? WHERE {UNTOLD} AND first_seen <= ?",
            [iso(now), iso(until)],
        )
    return cur.rowcount


def alert_history(db: sqlite_utils.Database, since: datetime) -> list[StoredItem]:
    """Items alerted, or carried by an alert delivery created, at or after ``since``."""
    since_s = iso(since)
    # ``+first_seen``: sorted after the look-ups, not by walking the whole first_seen index
    return list(_select(db, HISTORY, [since_s, since_s], order="+first_seen, rowid"))


# Both branches read an index: ``items_alerted`` and the alert deliveries' items by id.
HISTORY = (
    "alerted_at >= ? OR id IN"
    " (SELECT di.item_id FROM delivery_items di JOIN deliveries d ON d.id = di.delivery_id"
    "  WHERE d.kind = 'alert' AND d.created_at >= ?)"
)


def index_pending(db: sqlite_utils.Database) -> int:
    """Add the rows inserted since the last call to the full-text index, in one batch."""
    with transaction(db) as conn:
        (mark,) = conn.execute("SELECT indexed_rowid FROM fts_state").fetchone()
        (top,) = conn.execute("SELECT COALESCE(MAX(rowid), 0) FROM items").fetchone()
        if top <= mark:
            return 0
        cur = conn.execute(
            "INSERT INTO items_fts (rowid, title, summary, body)"
            " SELECT rowid, title, summary, body FROM items WHERE rowid > ? AND rowid <= ?",
            (mark, top),
        )
        conn.execute("UPDATE fts_state SET indexed_rowid = ?", (top,))
    return cur.rowcount


def search(db: sqlite_utils.Database, query: str, limit: int = 20) -> list[tuple[StoredItem, str]]:
    """Full-text search (trigram: substrings of 3+ characters); returns items with a snippet."""
    index_pending(db)
    phrase = '"' + query.replace('"', '""') + '"'
    if len(query) < 3:  # trigram cannot index shorter terms: fall back to LIKE
        rows = db.query(
            "SELECT *, NULL AS snip FROM items WHERE title LIKE ? OR summary LIKE ? OR body LIKE ?"
            " ORDER BY first_seen DESC LIMIT ?",
            [f"%{query}%"] * 3 + [limit],
        )
    else:
        rows = db.query(
            "SELECT items.*, snippet(items_fts, -1, '[', ']', '…', 24) AS snip FROM items_fts"
            " JOIN items ON items.rowid = items_fts.rowid WHERE items_fts MATCH ?"
            " ORDER BY rank LIMIT ?",
            [phrase, limit],
        )
    out = []
    for row in rows:
        snip = row.pop("snip") or _like_snippet(row["title"], query)
        out.append((_row_to_item(row), snip))
    return out


def _like_snippet(text: str, query: str) -> str:
    return text.replace(query, f"[{query}]")


def prune_bodies(db: sqlite_utils.Database, older_than_days: int) -> int:
    """Retention: drop raw bodies of items first seen more than N days ago."""
    cutoff = iso(utcnow() - timedelta(days=older_than_days))
    with transaction(db) as conn:
        cur = conn.execute(
            "UPDATE items SET body = '' WHERE body != '' AND first_seen < ?", [cutoff]
        )
    return cur.rowcount
