"""Per-source fetch state (conditional-GET validators, health) and health events.

A source turns *broken* after ``BROKEN_AFTER`` consecutive failures and *recovers* on its next
success; each transition is recorded once in ``health_events`` for the operator to be told.
Validators (ETag / Last-Modified) are committed only together with a successful result, after
its items were stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlite_utils

from pipeline.db import iso, parse_iso, transaction, utcnow
from pipeline.models import HealthStatus, SourceReport, SourceResult

BROKEN_AFTER = 2


@dataclass(frozen=True, slots=True)
class SourceState:
    source_id: str
    status: str
    reason: str
    consecutive_failures: int
    failing_since: datetime | None
    broken: bool
    last_attempt: datetime | None
    last_success: datetime | None
    last_http_status: int | None
    etag: str | None
    last_modified: str | None

    @staticmethod
    def never(source_id: str) -> SourceState:
        return SourceState(
            source_id, "never-fetched", "", 0, None, False, None, None, None, None, None
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.source_id,
            "status": self.status,
            "reason": self.reason,
            "consecutive_failures": self.consecutive_failures,
            "failing_since": iso(self.failing_since),
            "last_attempt": iso(self.last_attempt),
            "last_success": iso(self.last_success),
            "last_http_status": self.last_http_status,
        }


@dataclass(frozen=True, slots=True)
class HealthEvent:
    id: int
    source_id: str
    event: str  # "broken" | "recovered"
    status: str
    reason: str
    at: datetime

    @staticmethod
    def from_row(row: dict[str, Any]) -> HealthEvent:
        return HealthEvent(
            row["id"],
            row["source_id"],
            row["event"],
            row["status"],
            row["reason"],
            datetime.fromisoformat(row["at"]),
        )


def _state(row: dict[str, Any]) -> SourceState:
    return SourceState(
        source_id=row["source_id"],
        status=row["status"],
        reason=row["reason"],
        consecutive_failures=row["consecutive_failures"],
        failing_since=parse_iso(row["failing_since"]),
        broken=bool(row["broken"]),
        last_attempt=parse_iso(row["last_attempt"]),
        last_success=parse_iso(row["last_success"]),
        last_http_status=row["last_http_status"],
        etag=row["etag"],
        last_modified=row["last_modified"],
    )


def source_states(db: sqlite_utils.Database) -> dict[str, SourceState]:
    return {row["source_id"]: _state(row) for row in db.query("SELECT * FROM source_state")}


def source_state(db: sqlite_utils.Database, source_id: str) -> SourceState:
    rows = list(db.query("SELECT * FROM source_state WHERE source_id = ?", [source_id]))
    return _state(rows[0]) if rows else SourceState.never(source_id)


def record_result(
    db: sqlite_utils.Database,
    result: SourceResult,
    report: SourceReport,
    now: datetime | None = None,
    broken_after: int = BROKEN_AFTER,
) -> HealthEvent | None:
    """Record one source's outcome; return the health transition it caused, if any."""
    now = now or utcnow()
    prev = source_state(db, result.source_id)
    ok = result.status == "ok"
    failures = 0 if ok else prev.consecutive_failures + 1
    broken = prev.broken
    event: str | None = None
    if ok and prev.broken:
        broken, event = False, "recovered"
    elif not ok and not prev.broken and failures >= broken_after:
        broken, event = True, "broken"
    record = {
        "source_id": result.source_id,
        "status": result.status,
        "reason": result.reason,
        "consecutive_failures": failures,
        "failing_since": None if ok else iso(prev.failing_since or now),
        "broken": int(broken),
        "last_attempt": iso(now),
        "last_success": iso(now) if ok else iso(prev.last_success),
        "last_http_status": result.http_status,
        # validators move only with a success, so a failed parse is fetched in full again
        "etag": (result.etag if ok else prev.etag),
        "last_modified": (result.last_modified if ok else prev.last_modified),
        "last_new": report.new,
    }
    if ok and result.not_modified:
        record["etag"] = result.etag or prev.etag
        record["last_modified"] = result.last_modified or prev.last_modified
    health: HealthEvent | None = None
    with transaction(db) as conn:
        cols = ", ".join(record)
        conn.execute(
            f"INSERT OR REPLACE INTO source_state ({cols}) VALUES ({','.join('?' * len(record))})",
            list(record.values()),
        )
        conn.execute(
            "INSERT INTO fetch_log (source_id, at, status, reason, fetched, new, updated, flagged,"
            " not_modified, elapsed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                report.source_id,
                iso(now),
                report.status,
                report.reason,
                report.fetched,
                report.new,
                report.updated,
                report.flagged,
                int(report.not_modified),
                report.elapsed_seconds,
            ),
        )
        if event is not None:
            cur = conn.execute(
                "INSERT INTO health_events (source_id, event, status, reason, at)"
                " VALUES (?, ?, ?, ?, ?)",
                (result.source_id, event, result.status, result.reason, iso(now)),
            )
            assert cur.lastrowid is not None
            health = HealthEvent(
                cur.lastrowid, result.source_id, event, result.status, result.reason, now
            )
    return health


def pending_health_events(db: sqlite_utils.Database) -> list[HealthEvent]:
    sql = "SELECT * FROM health_events WHERE notified_at IS NULL ORDER BY id"
    return [HealthEvent.from_row(r) for r in db.query(sql)]


def digest_told_events(db: sqlite_utils.Database, since: datetime) -> list[HealthEvent]:
    """Health events carried by a digest recorded at or after ``since``, oldest first."""
    sql = (
        "SELECT * FROM health_events WHERE id IN (SELECT dh.event_id FROM delivery_health dh"
        " JOIN deliveries d ON d.id = dh.delivery_id WHERE d.kind = 'digest'"
        " AND d.created_at >= ?) ORDER BY id"
    )
    return [HealthEvent.from_row(r) for r in db.query(sql, [iso(since)])]


def fetch_log_mark(db: sqlite_utils.Database) -> int:
    """The newest fetch-log row: what a cycle records after it is ``fetch_reports(mark)``."""
    return int(db.execute("SELECT COALESCE(MAX(id), 0) FROM fetch_log").fetchone()[0])


def fetch_reports(db: sqlite_utils.Database, after: int) -> list[SourceReport]:
    """The sources' reports recorded after the fetch-log row ``after``, oldest first."""
    sql = "SELECT * FROM fetch_log WHERE id > ? ORDER BY id"
    return [
        SourceReport(
            source_id=row["source_id"],
            status=_status(row["status"]),
            reason=row["reason"],
            fetched=row["fetched"],
            new=row["new"],
            updated=row["updated"],
            flagged=row["flagged"],
            not_modified=bool(row["not_modified"]),
            elapsed_seconds=float(row["elapsed"]),
        )
        for row in db.query(sql, [after])
    ]


def _status(value: str) -> HealthStatus:
    statuses: tuple[HealthStatus, ...] = ("ok", "blocked", "layout-changed", "error")
    return next((s for s in statuses if s == value), "error")
