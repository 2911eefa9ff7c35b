"""Operational records kept by the scheduler (a key/value table) and the online backup.

Keys in use:
- ``digest.last_slot``  the scheduled digest time (UTC ISO) last handled by the daemon, so a digest
  missed while the daemon was down is sent once at the next start;
- ``prune.last``        when raw bodies were last pruned for retention;
- ``daemon.started``    when the running (or last) daemon started, with ``daemon.pid``.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from datetime import datetime
from pathlib import Path

import sqlite_utils

from pipeline.errors import StoreError
from pipeline.store.items import index_pending
from pipeline.store.schema import iso, parse_iso, transaction, utcnow

MIGRATIONS = (
    (
        "meta-0001-create",
        """
        CREATE TABLE meta (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        """,
    ),
)

DIGEST_LAST_SLOT = "digest.last_slot"
PRUNE_LAST = "prune.last"
DAEMON_STARTED = "daemon.started"
DAEMON_PID = "daemon.pid"


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


def last_digest_created(db: sqlite_utils.Database) -> datetime | None:
    """When the newest digest delivery was created (by the daemon or ``lendwatch run``)."""
    row = db.execute("SELECT MAX(created_at) FROM deliveries WHERE kind = 'digest'").fetchone()
    return parse_iso(row[0]) if row else None


def backup(db: sqlite_utils.Database, dest: Path) -> int:
    """Copy the live database to ``dest`` with SQLite's online backup; return its size in bytes.

    Writers are not stopped. Rows not yet in the full-text index are indexed first, so the copy's
    index is complete. The copy is written to a temporary file beside ``dest`` (created readable
    by the owner only), switched out of WAL mode so it is one self-contained file, checked, and
    renamed into place: ``dest`` is never left half-written.
    """
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    try:
        index_pending(db)
        fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.close(fd)
        target = sqlite3.connect(tmp)
        try:
            db.conn.backup(target)
            target.execute("PRAGMA journal_mode = DELETE")
            check = target.execute("PRAGMA quick_check").fetchone()
        finally:
            target.close()
        if not check or check[0] != "ok":
            raise StoreError(f"backup {dest}: integrity check failed: {check}")
        os.replace(tmp, dest)
    except sqlite3.Error as e:
        raise StoreError(f"backup to {dest}: {e}") from e
    except OSError as e:
        raise StoreError(f"backup to {dest}: {e.strerror or e}") from e
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    return dest.stat().st_size
