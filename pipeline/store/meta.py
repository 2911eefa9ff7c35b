"""Operational records kept by the scheduler: a key/value table.

Keys in use:
- ``digest.last_slot``  the scheduled digest time (UTC ISO) last handled by the daemon, so a digest
  missed while the daemon was down is sent once at the next start;
- ``prune.last``        when raw bodies were last pruned for retention;
- ``daemon.started``    when the running (or last) daemon started, with ``daemon.pid``;
- ``next.<job id>``     the daemon's next run time of each job (``NEXT_RUN_PREFIX``).
"""

from __future__ import annotations

from datetime import datetime

import sqlite_utils

from pipeline.db import iso, parse_iso, transaction, utcnow

DIGEST_LAST_SLOT = "digest.last_slot"
PRUNE_LAST = "prune.last"
DAEMON_STARTED = "daemon.started"
DAEMON_PID = "daemon.pid"
NEXT_RUN_PREFIX = "next."


def get_meta(db: sqlite_utils.Database, key: str) -> str | None:
    row = db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    return str(row[0]) if row else None


def set_meta(db: sqlite_utils.Database, key: str, value: str) -> None:
    with transaction(db) as conn:
        conn.execute(
            "INSERT INTO meta (key, value, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value,"
            " updated_at = excluded.updated_at",
            [key, value, iso(utcnow())],
        )


def get_time(db: sqlite_utils.Database, key: str) -> datetime | None:
    return parse_iso(get_meta(db, key))


def set_time(db: sqlite_utils.Database, key: str, when: datetime) -> None:
    value = iso(when)
    assert value is not None
    set_meta(db, key, value)
