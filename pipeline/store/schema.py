"""Open the SQLite database and apply migrations.

Each store module owns its tables and declares ``MIGRATIONS``: ``(name, sql)`` pairs applied
once, in order, and recorded in ``_migrations``; re-running is safe. The database runs in WAL
mode with a busy timeout, and its file is readable by the owner only.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils

from pipeline.errors import StoreError

log = logging.getLogger(__name__)

Migration = tuple[str, str]
BUSY_TIMEOUT_MS = 10_000


def _all_migrations() -> Sequence[Migration]:
    from pipeline.store import deliveries, items, meta, sources

    return (*items.MIGRATIONS, *sources.MIGRATIONS, *deliveries.MIGRATIONS, *meta.MIGRATIONS)


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(dt: datetime | None) -> str | None:
    return dt.astimezone(UTC).isoformat(timespec="seconds") if dt is not None else None


def parse_iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def open_db(path: Path) -> sqlite_utils.Database:
    """Open (creating if needed) the database at ``path`` and migrate it."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        db = sqlite_utils.Database(conn)
        migrate(db)
    except sqlite3.Error as e:
        raise StoreError(f"database {path}: {e}") from e
    except OSError as e:
        raise StoreError(f"database {path}: {e.strerror or e}") from e
    return db


def migrate(db: sqlite_utils.Database) -> list[str]:
    """Apply pending migrations; return their names."""
    conn = db.conn
    conn.execute(
        "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
    )
    done = {row[0] for row in conn.execute("SELECT name FROM _migrations")}
    applied: list[str] = []
    for name, sql in _all_migrations():
        if name in done:
            continue
        with transaction(db):
            for statement in _split(sql):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO _migrations (name, applied_at) VALUES (?, ?)", (name, iso(utcnow()))
            )
        applied.append(name)
        log.debug("applied migration %s", name)
    return applied


def _split(sql: str) -> list[str]:
    """Split a migration script into statements (no semicolons inside our literals)."""
    out: list[str] = []
    buf = ""
    for line in sql.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                out.append(buf.strip())
            buf = ""
    if buf.strip():
        out.append(buf.strip())
    return out


class transaction:
    """``with transaction(db):`` — BEGIN IMMEDIATE ... COMMIT, ROLLBACK on error; re-entrant."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.conn = db.conn
        self.outer = False

    def __enter__(self) -> sqlite3.Connection:
        if not self.conn.in_transaction:
            self.conn.execute("BEGIN IMMEDIATE")
            self.outer = True
        return self.conn

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if not self.outer:
            return
        if exc_type is None:
            self.conn.execute("COMMIT")
        else:
            self.conn.execute("ROLLBACK")
