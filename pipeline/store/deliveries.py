"""Delivery records (the outbox), owned by the digest stage.

Every message gets a row in ``deliveries`` *before* it is handed to SMTP (or written to the
outbox folder, or posted to a chat webhook), together with links to the items
(``delivery_items``) and health events (``delivery_health``) it carries. A row is ``pending``
until its first attempt, ``sent`` once the server accepted it, ``failed`` (with the error) when
the attempt failed; failed rows are retried after a backoff.

Items get ``digested_at`` / ``alerted_at`` and health events ``notified_at`` only when *every*
mail delivery (smtp or outbox) linked to them is sent, in the same transaction that records the
send. A crash between the server's acceptance and that transaction leaves the row pending: the
mail is sent again — repeated, never lost. Chat webhooks (channel ``notify``) are tracked and
retried too but never hold back these marks.

A digest links the pending *broken* events of the sources its health section shows failing, so
its acceptance marks them notified like an alert's would: the alert that follows has nothing
to repeat. Chat webhooks get no digest; ``sources.digest_told_events`` lets them still hear of
those events.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlite_utils

from pipeline.db import IDS, ids_param, iso, parse_iso, transaction

KINDS = ("digest", "alert", "reminder")
BACKOFF_BASE = timedelta(minutes=5)
BACKOFF_MAX = timedelta(hours=6)
_MARK_COLUMN = {"digest": "digested_at", "alert": "alerted_at"}  # reminders mark no item

# A reminder of a dated fact (an item's comment deadline, effective date or transition end),
# ``lead`` days before it, recorded with the delivery that carries it: created = claimed, so
# each (reader, item, field, date, lead) is mailed once, retried like any delivery.
SCHEMA_REMINDERS = """
CREATE TABLE delivery_reminders (
    delivery_id INTEGER NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    item_id TEXT NOT NULL,
    field TEXT NOT NULL,
    day TEXT NOT NULL,
    lead INTEGER NOT NULL,
    PRIMARY KEY (delivery_id, item_id, field, day)
);
CREATE INDEX delivery_reminders_day ON delivery_reminders (day);
"""


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    kind: str  # "digest" | "alert" | "reminder"
    channel: str  # "smtp" | "outbox" | "notify"
    target: str  # recipient address, "outbox", or "notify:<name>"
    recipients: tuple[str, ...]
    subject: str
    message_id: str
    payload: bytes  # the message as sent (RFC 5322 bytes), or the chat text in UTF-8
    status: str  # "pending" | "sent" | "failed"
    attempts: int
    last_error: str | None
    created_at: datetime
    last_attempt: datetime | None
    next_attempt: datetime
    sent_at: datetime | None
    path: str | None


def _delivery(row: dict[str, Any]) -> Delivery:
    return Delivery(
        id=row["id"],
        kind=row["kind"],
        channel=row["channel"],
        target=row["target"],
        recipients=tuple(json.loads(row["recipients"])),
        subject=row["subject"],
        message_id=row["message_id"],
        payload=bytes(row["payload"]),
        status=row["status"],
        attempts=row["attempts"],
        last_error=row["last_error"],
        created_at=datetime.fromisoformat(row["created_at"]),
        last_attempt=parse_iso(row["last_attempt"]),
        next_attempt=datetime.fromisoformat(row["next_attempt"]),
        sent_at=parse_iso(row["sent_at"]),
        path=row["path"],
    )


def backoff(attempts: int) -> timedelta:
    """Delay before the next try after ``attempts`` failed ones: 5 min doubling, at most 6 h."""
    delay: timedelta = BACKOFF_BASE * (2 ** max(attempts - 1, 0))
    return min(delay, BACKOFF_MAX)


def create_delivery(
    db: sqlite_utils.Database,
    *,
    kind: str,
    channel: str,
    target: str,
    recipients: Sequence[str],
    subject: str,
    message_id: str,
    payload: bytes,
    item_ids: Iterable[str],
    event_ids: Iterable[int] = (),
    reminders: Iterable[tuple[str, str, str, int]] = (),
    now: datetime,
) -> int:
    """Record a pending delivery and what it carries (items, health events, reminders as
    ``(item id, field, YYYY-MM-DD, lead days)``); returns its id."""
    with transaction(db) as conn:
        cur = conn.execute(
            "INSERT INTO deliveries (kind, channel, target, recipients, subject, message_id,"
            " payload, created_at, next_attempt) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                kind,
                channel,
                target,
                json.dumps(list(recipients), ensure_ascii=False),
                subject,
                message_id,
                payload,
                iso(now),
                iso(now),
            ),
        )
        assert cur.lastrowid is not None
        delivery_id = cur.lastrowid
        conn.executemany(
            "INSERT OR IGNORE INTO delivery_items (delivery_id, item_id) VALUES (?, ?)",
            [(delivery_id, i) for i in item_ids],
        )
        conn.executemany(
            "INSERT OR IGNORE INTO delivery_health (delivery_id, event_id) VALUES (?, ?)",
            [(delivery_id, e) for e in event_ids],
        )
        conn.executemany(
            "INSERT OR IGNORE INTO delivery_reminders (delivery_id, item_id, field, day, lead)"
            " VALUES (?, ?, ?, ?, ?)",
            [(delivery_id, *r) for r in reminders],
        )
    return delivery_id


def claimed_reminders(
    db: sqlite_utils.Database, target: str, since: str
) -> dict[tuple[str, str, str], int]:
    """``{(item id, field, YYYY-MM-DD): the shortest lead already reminded}`` for the reminders
    of dates on or after ``since`` that a delivery to ``target`` carries."""
    sql = (
        "SELECT r.item_id, r.field, r.day, MIN(r.lead) FROM delivery_reminders r"
        " JOIN deliveries d ON d.id = r.delivery_id WHERE d.target = ? AND r.day >= ?"
        " GROUP BY r.item_id, r.field, r.day"
    )
    return {(i, f, d): int(lead) for i, f, d, lead in db.execute(sql, [target, since])}


def get_delivery(db: sqlite_utils.Database, delivery_id: int) -> Delivery:
    rows = list(db.query("SELECT * FROM deliveries WHERE id = ?", [delivery_id]))
    if not rows:
        raise KeyError(delivery_id)
    return _delivery(rows[0])


def list_deliveries(
    db: sqlite_utils.Database, *, statuses: Sequence[str] | None = None, limit: int = 50
) -> list[Delivery]:
    where, params = "1 = 1", []
    if statuses:
        where = f"status IN ({','.join('?' * len(statuses))})"
        params = list(statuses)
    sql = f"SELECT * FROM deliveries WHERE {where} ORDER BY id DESC LIMIT ?"
    return [_delivery(r) for r in db.query(sql, [*params, limit])]


def due_deliveries(
    db: sqlite_utils.Database,
    now: datetime,
    *,
    kinds: Sequence[str] = KINDS,
    ignore_backoff: bool = False,
) -> list[Delivery]:
    """Pending or failed deliveries whose next attempt is due (or all), oldest first."""
    marks = ",".join("?" * len(kinds))
    sql = (
        "SELECT * FROM deliveries WHERE status IN ('pending', 'failed') AND next_attempt <= ?"
        f" AND kind IN ({marks}) ORDER BY id"
    )
    until = "9999" if ignore_backoff else iso(now)
    return [_delivery(r) for r in db.query(sql, [until, *kinds])]


def claimed_item_ids(
    db: sqlite_utils.Database,
    kind: str,
    target: str | None = None,
    *,
    among: Iterable[str] | None = None,
) -> set[str]:
    """Items already carried by a delivery of this kind (to ``target``, or to anyone); with
    ``among``, only which of those items (looked up by id: the cost follows the candidates,
    not everything ever delivered)."""
    params: list[Any] = [kind]
    if among is None:
        sql = (
            "SELECT DISTINCT di.item_id FROM delivery_items di JOIN deliveries d"
            " ON d.id = di.delivery_id WHERE d.kind = ?"
        )
    else:
        sql = (
            "SELECT DISTINCT di.item_id FROM json_each(?) j CROSS JOIN delivery_items di"
            " ON di.item_id = j.value JOIN deliveries d ON d.id = di.delivery_id"
            " WHERE d.kind = ?"
        )
        params.insert(0, ids_param(among))
    if target is not None:
        sql += " AND d.target = ?"
        params.append(target)
    return {r[0] for r in db.execute(sql, params)}


def claimed_event_ids(db: sqlite_utils.Database, target: str | None = None) -> set[int]:
    sql = (
        "SELECT DISTINCT dh.event_id FROM delivery_health dh JOIN deliveries d"
        " ON d.id = dh.delivery_id"
    )
    params: list[Any] = []
    if target is not None:
        sql += " WHERE d.target = ?"
        params.append(target)
    return {int(r[0]) for r in db.execute(sql, params)}


def last_digest_created(db: sqlite_utils.Database) -> datetime | None:
    """When the newest digest delivery was created (by the daemon or ``lendwatch run``)."""
    row = db.execute("SELECT MAX(created_at) FROM deliveries WHERE kind = 'digest'").fetchone()
    return parse_iso(row[0]) if row else None


def last_sent(db: sqlite_utils.Database, kind: str) -> datetime | None:
    sql = "SELECT MAX(sent_at) FROM deliveries WHERE kind = ? AND status = 'sent'"
    row = db.execute(sql, [kind]).fetchone()
    return parse_iso(row[0]) if row else None


def mark_sent(
    db: sqlite_utils.Database,
    delivery_id: int,
    now: datetime,
    *,
    channel: str | None = None,
    path: str | None = None,
    note: str | None = None,
) -> None:
    """Record that the server accepted the message; mark what it carried once fully delivered.

    ``note`` keeps a partial problem (a refused extra recipient) next to the success.
    """
    now_s = iso(now)
    with transaction(db) as conn:
        conn.execute(
            "UPDATE deliveries SET status = 'sent', sent_at = ?, last_attempt = ?,"
            " attempts = attempts + 1, last_error = ?, channel = COALESCE(?, channel),"
            " path = COALESCE(?, path) WHERE id = ?",
            (now_s, now_s, note, channel, path, delivery_id),
        )
        kind = conn.execute("SELECT kind FROM deliveries WHERE id = ?", [delivery_id]).fetchone()[0]
        column = _MARK_COLUMN.get(kind)
        if column is None:
            return
        conn.execute(
            f"UPDATE items SET {column} = ? WHERE {column} IS NULL AND id IN"
            " (SELECT item_id FROM delivery_items WHERE delivery_id = ?) AND NOT EXISTS"
            " (SELECT 1 FROM delivery_items di JOIN deliveries d ON d.id = di.delivery_id"
            "  WHERE di.item_id = items.id AND d.kind = ? AND d.status != 'sent'"
            "  AND d.channel IN ('smtp', 'outbox'))",
            (now_s, delivery_id, kind),
        )
        conn.execute(
            "UPDATE health_events SET notified_at = ? WHERE notified_at IS NULL AND id IN"
            " (SELECT event_id FROM delivery_health WHERE delivery_id = ?) AND NOT EXISTS"
            " (SELECT 1 FROM delivery_health dh JOIN deliveries d ON d.id = dh.delivery_id"
            "  WHERE dh.event_id = health_events.id AND d.status != 'sent'"
            "  AND d.channel IN ('smtp', 'outbox'))",
            (now_s, delivery_id),
        )


def mark_failed(db: sqlite_utils.Database, delivery_id: int, error: str, now: datetime) -> None:
    """Record a failed attempt and schedule the next one with exponential backoff."""
    with transaction(db) as conn:
        row = conn.execute("SELECT attempts FROM deliveries WHERE id = ?", [delivery_id]).fetchone()
        attempts = int(row[0]) + 1
        conn.execute(
            "UPDATE deliveries SET status = 'failed', attempts = ?, last_error = ?,"
            " last_attempt = ?, next_attempt = ? WHERE id = ?",
            (attempts, error, iso(now), iso(now + backoff(attempts)), delivery_id),
        )


def mark_items(
    db: sqlite_utils.Database, kind: str, item_ids: Iterable[str], now: datetime
) -> None:
    """Mark items handled without a message (no reader wants them, or a repeat of a story)."""
    column = _MARK_COLUMN[kind]
    with transaction(db) as conn:
        conn.execute(
            f"UPDATE items SET {column} = ? WHERE {column} IS NULL AND id IN {IDS}",
            [iso(now), ids_param(item_ids)],
        )
