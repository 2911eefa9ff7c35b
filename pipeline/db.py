"""The clock and SQLite helpers every layer shares; a leaf: it imports only ``pipeline.errors``.

- ``utcnow``, ``iso``, ``parse_iso``: aware UTC datetimes and the ISO strings stored for them;
- ``connect``: open (creating if needed, readable by the owner only) a database file in WAL mode
  with a busy timeout; the schema is ``pipeline.store.schema``'s business, not this module's;
- ``transaction``: ``BEGIN IMMEDIATE`` ... ``COMMIT``, re-entrant;
- ``IDS`` / ``ids_param``: any number of ids bound as one JSON array parameter;
- ``backup``: SQLite's online backup into one self-contained file.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils

from pipeline.errors import StoreError

BUSY_TIMEOUT_MS = 10_000

# ``... WHERE id IN {IDS}`` with ``ids_param(ids)``: one variable for any number of ids. SQLite
# limits the variables of one statement (32,766 by default); a backlog of items can exceed it.
IDS = "(SELECT value FROM json_each(?))"
# Some builds (Debian's) raise the limit; every connection is held to the stock one, so a
# statement that would fail on a stock SQLite fails everywhere, tests included.
MAX_VARIABLES = 32_766


def ids_param(ids: Iterable[str]) -> str:
    return json.dumps(list(ids), ensure_ascii=False)


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(dt: datetime | None) -> str | None:
    return dt.astimezone(UTC).isoformat(timespec="seconds") if dt is not None else None


def parse_iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def connect(path: Path) -> sqlite_utils.Database:
    """Open the database file at ``path`` (created 0600 if missing); raises StoreError."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        limit = conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, min(limit, MAX_VARIABLES))
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
    except sqlite3.Error as e:
        raise StoreError(f"database {path}: {e}") from e
    except OSError as e:
        raise StoreError(f"database {path}: {e.strerror or e}") from e
    return sqlite_utils.Database(conn)


class transaction:
    """``with transaction(db):`` — BEGIN IMMEDIATE ... COMMIT, ROLLBACK on error; re-entrant.

    The error that ended the transaction is the one raised: when SQLite rolled back by itself
    (a full disk, an I/O error), no ROLLBACK is sent that would fail with "no transaction is
    active" and hide it; a COMMIT that fails rolls back and raises its own error.
    """

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
        if exc_type is not None:
            self._rollback()
            return
        try:
            self.conn.execute("COMMIT")
        except sqlite3.Error:
            self._rollback()
            raise

    def _rollback(self) -> None:
        if self.conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):  # the error in flight is the one to tell
                self.conn.execute("ROLLBACK")


def backup(db: sqlite_utils.Database, dest: Path) -> int:
    """Copy the live database to ``dest`` with SQLite's online backup; return its size in bytes.

    Writers are not stopped. The copy is written to a temporary file beside ``dest`` (created
    readable by the owner only), switched out of WAL mode so it is one self-contained file,
    checked, and renamed into place: ``dest`` is never left half-written.
    """
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    try:
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
