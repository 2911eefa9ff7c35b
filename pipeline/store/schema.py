"""The database schema: every migration, in order, keyed by the version it brings the file to.

The version lives in ``PRAGMA user_version``: 0 is an empty file, ``VERSION`` is what this code
reads and writes. ``migrate`` applies the missing steps one transaction each, re-reading the
version inside the transaction so two processes opening the file at once apply each step once.
A file from a newer lendwatch (a version above ``VERSION``) is refused, never downgraded.

To change the schema, add ``MIGRATIONS[VERSION + 1]`` at the end; never edit a step that shipped.
A fresh file runs every step, so a fresh and a migrated database end with the same schema.

A database with history is never silently replaced by an empty one: once a file holds the
schema, ``HISTORY_SUFFIX`` marks it beside it (``lendwatch.db.history``). Should the database
then be missing or empty (0 bytes: truncated, deleted, a failed restore), ``open_db`` refuses
it instead of creating a new one, which would take every item on the sources' pages as new and
mail them all again. The message says how to restore a backup or, deliberately, start afresh
(delete the marker). A data directory without the marker (a fresh install, or the whole
directory gone) starts afresh.

Until 2026-12 the steps were recorded by name in a ``_migrations`` table (``LEGACY_NAMES``). Such
a file is converted once: the named steps it lacks are applied, ``_migrations`` is dropped and
``user_version`` is set, all in one transaction.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import sqlite_utils

from pipeline.db import connect, iso, transaction, utcnow
from pipeline.errors import StoreError
from pipeline.store import clearance, deliveries, enrich, facts

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Migration:
    name: str
    sql: str


_ITEMS = """
CREATE TABLE items (
    id TEXT PRIMARY KEY,
    source_id TEXT NOT NULL,
    guid TEXT NOT NULL,
    url TEXT,
    title TEXT NOT NULL,
    summary TEXT NOT NULL DEFAULT '',
    body TEXT NOT NULL DEFAULT '',
    published TEXT,
    published_raw TEXT,
    extra TEXT NOT NULL DEFAULT '{}',
    content_hash TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    updated_at TEXT,
    flagged INTEGER NOT NULL DEFAULT 0,
    severity TEXT,
    score REAL NOT NULL DEFAULT 0,
    topics TEXT NOT NULL DEFAULT '[]',
    verdict TEXT,
    rules_version TEXT,
    classified_at TEXT,
    alerted_at TEXT,
    digested_at TEXT
);
CREATE UNIQUE INDEX items_source_guid ON items (source_id, guid);
CREATE INDEX items_flagged ON items (flagged, digested_at);
CREATE INDEX items_first_seen ON items (first_seen);
"""

_ITEMS_FTS = """
CREATE VIRTUAL TABLE items_fts USING fts5(
    title, summary, body, content='items', content_rowid='rowid', tokenize='trigram'
);
CREATE TRIGGER items_ai AFTER INSERT ON items BEGIN
    INSERT INTO items_fts (rowid, title, summary, body)
    VALUES (new.rowid, new.title, new.summary, new.body);
END;
CREATE TRIGGER items_ad AFTER DELETE ON items BEGIN
    INSERT INTO items_fts (items_fts, rowid, title, summary, body)
    VALUES ('delete', old.rowid, old.title, old.summary, old.body);
END;
CREATE TRIGGER items_au AFTER UPDATE OF title, summary, body ON items BEGIN
    INSERT INTO items_fts (items_fts, rowid, title, summary, body)
    VALUES ('delete', old.rowid, old.title, old.summary, old.body);
    INSERT INTO items_fts (rowid, title, summary, body)
    VALUES (new.rowid, new.title, new.summary, new.body);
END;
"""

_SOURCES = """
CREATE TABLE source_state (
    source_id TEXT PRIMARY KEY,
    status TEXT NOT NULL DEFAULT 'never-fetched',
    reason TEXT NOT NULL DEFAULT '',
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    failing_since TEXT,
    broken INTEGER NOT NULL DEFAULT 0,
    last_attempt TEXT,
    last_success TEXT,
    last_http_status INTEGER,
    etag TEXT,
    last_modified TEXT,
    last_new INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE health_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source_id TEXT NOT NULL,
    event TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT NOT NULL,
    at TEXT NOT NULL,
    notified_at TEXT
);
CREATE TABLE fetch_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source_id TEXT NOT NULL,
    at TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT NOT NULL,
    fetched INTEGER NOT NULL,
    new INTEGER NOT NULL,
    updated INTEGER NOT NULL,
    flagged INTEGER NOT NULL,
    not_modified INTEGER NOT NULL,
    elapsed REAL NOT NULL
);
CREATE INDEX fetch_log_source ON fetch_log (source_id, at);
"""

_DELIVERIES = """
CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    channel TEXT NOT NULL,
    target TEXT NOT NULL,
    recipients TEXT NOT NULL DEFAULT '[]',
    subject TEXT NOT NULL DEFAULT '',
    message_id TEXT NOT NULL DEFAULT '',
    payload BLOB NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at TEXT NOT NULL,
    last_attempt TEXT,
    next_attempt TEXT NOT NULL,
    sent_at TEXT,
    path TEXT
);
CREATE INDEX deliveries_due ON deliveries (status, next_attempt);
CREATE TABLE delivery_items (
    delivery_id INTEGER NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    item_id TEXT NOT NULL,
    PRIMARY KEY (delivery_id, item_id)
);
CREATE INDEX delivery_items_item ON delivery_items (item_id);
CREATE TABLE delivery_health (
    delivery_id INTEGER NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    event_id INTEGER NOT NULL,
    PRIMARY KEY (delivery_id, event_id)
);
"""

_META = """
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
"""

# Indexing each row as it is inserted made every saved item pay for its trigram tokens and the
# segment merges they trigger; one INSERT ... SELECT per cycle does that work once. New rows are
# indexed by ``items.index_pending`` (end of a cycle, before a search, before a backup); the
# update/delete triggers only touch rows already indexed (below the watermark).
_ITEMS_FTS_DEFERRED = """
DROP TRIGGER items_ai;
DROP TRIGGER items_ad;
DROP TRIGGER items_au;
CREATE TABLE fts_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    indexed_rowid INTEGER NOT NULL
);
INSERT INTO fts_state (id, indexed_rowid) SELECT 1, COALESCE(MAX(rowid), 0) FROM items;
CREATE TRIGGER items_ad AFTER DELETE ON items
WHEN old.rowid <= (SELECT indexed_rowid FROM fts_state) BEGIN
    INSERT INTO items_fts (items_fts, rowid, title, summary, body)
    VALUES ('delete', old.rowid, old.title, old.summary, old.body);
END;
CREATE TRIGGER items_au AFTER UPDATE OF title, summary, body ON items
WHEN old.rowid <= (SELECT indexed_rowid FROM fts_state) BEGIN
    INSERT INTO items_fts (items_fts, rowid, title, summary, body)
    VALUES ('delete', old.rowid, old.title, old.summary, old.body);
    INSERT INTO items_fts (rowid, title, summary, body)
    VALUES (new.rowid, new.title, new.summary, new.body);
END;
"""

# Backlog (``pipeline.news``): new items of a first fetch, of a source back after a long failure,
# or below everything seen on their list, are stored and classified but not mailed one by one;
# the digest counts them once. The planning queries read only what can be sent, through partial
# indexes whose conditions are theirs.
_ITEMS_BACKLOG = """
ALTER TABLE items ADD COLUMN backlog TEXT;
CREATE INDEX items_pending ON items (first_seen)
    WHERE flagged = 1 AND digested_at IS NULL AND backlog IS NULL;
CREATE INDEX items_backlog_untold ON items (source_id)
    WHERE backlog IS NOT NULL AND digested_at IS NULL;
CREATE INDEX items_alerted ON items (alerted_at) WHERE alerted_at IS NOT NULL;
"""

# In the order they shipped; version N is the state after MIGRATIONS[N]. Keys run 1..VERSION.
MIGRATIONS: Mapping[int, Migration] = MappingProxyType(
    {
        1: Migration("items", _ITEMS),
        2: Migration("items full-text index", _ITEMS_FTS),
        3: Migration("source state, health events, fetch log", _SOURCES),
        4: Migration("deliveries", _DELIVERIES),
        5: Migration("meta", _META),
        6: Migration("items full-text index filled once per cycle", _ITEMS_FTS_DEFERRED),
        7: Migration("anti-bot clearance cookies per host", clearance.SCHEMA),
        8: Migration("penalty tables of detail pages", enrich.SCHEMA_PENALTIES),
        9: Migration("attachments of items", enrich.SCHEMA_ATTACHMENTS),
        10: Migration(
            "lifecycle facts of items, reminders of their dates",
            facts.SCHEMA + deliveries.SCHEMA_REMINDERS,
        ),
        11: Migration("backlog of items, indexes of what can be sent", _ITEMS_BACKLOG),
    }
)
VERSION = max(MIGRATIONS)

# The names the ``_migrations`` table recorded, and the step each one is.
LEGACY_NAMES: Mapping[str, int] = MappingProxyType(
    {
        "items-0001-create": 1,
        "items-0002-fts": 2,
        "sources-0001-create": 3,
        "deliveries-0001-create": 4,
        "meta-0001-create": 5,
        "items-0003-fts-deferred": 6,
    }
)


def user_version(db: sqlite_utils.Database) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


HISTORY_SUFFIX = ".history"


def history_marker(path: Path) -> Path:
    return path.with_name(path.name + HISTORY_SUFFIX)


def open_db(path: Path) -> sqlite_utils.Database:
    """Open (creating if needed) the database at ``path`` and bring it to ``VERSION``.

    Refuses (``StoreError``) a missing or empty file where a database with history was.
    """
    _refuse_lost_history(path)
    db = connect(path)
    try:
        migrate(db)
        _mark_history(path)
    except sqlite3.Error as e:
        db.close()
        raise StoreError(f"database {path}: {e}") from e
    except StoreError as e:
        db.close()
        raise StoreError(f"database {path}: {e}") from e
    except OSError as e:
        db.close()
        raise StoreError(f"database {path}: cannot write {history_marker(path)}: {e}") from e
    return db


def _refuse_lost_history(path: Path) -> None:
    marker = history_marker(path)
    try:
        if not marker.exists():
            return
        size = path.stat().st_size if path.exists() else None
    except OSError as e:
        raise StoreError(f"database {path}: {e.strerror or e}") from e
    if size:
        return
    state = "is missing" if size is None else "is empty (0 bytes)"
    since = marker.read_text(encoding="utf-8", errors="replace").splitlines()[:1]
    raise StoreError(
        f"database {path} {state}, but this data directory held one"
        f" ({marker}: {since[0] if since else 'no date'}). lendwatch will not start afresh"
        " by itself: every item on the sources' pages would be taken as new and mailed again."
        f" Restore the database from a backup (`lendwatch backup` makes them) to {path}, or,"
        f" to start afresh on purpose, delete {marker} and run again"
    )


def _mark_history(path: Path) -> None:
    marker = history_marker(path)
    if marker.exists():
        return
    fd = os.open(marker, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(
            f"history marked {iso(utcnow())}\n"
            f"lendwatch refuses to recreate {path.name} while this file exists: if the database"
            " is lost, restore a backup, or delete this file to start afresh (every current"
            " item is then new and mailed again).\n"
        )


def migrate(db: sqlite_utils.Database) -> list[int]:
    """Apply the missing steps; return the versions applied (empty when up to date)."""
    applied = _from_legacy(db) if _has_legacy_table(db) else []
    current = user_version(db)
    _refuse_newer(current)
    for version in range(current + 1, VERSION + 1):
        with transaction(db) as conn:
            current = user_version(db)  # another process may have migrated meanwhile
            _refuse_newer(current)
            if current >= version:
                continue
            _run(conn, MIGRATIONS[version].sql)
            conn.execute(f"PRAGMA user_version = {version}")
        applied.append(version)
        log.debug("schema migrated to version %d (%s)", version, MIGRATIONS[version].name)
    return applied


def _refuse_newer(version: int) -> None:
    if version > VERSION:
        raise StoreError(
            f"written by a newer lendwatch (schema version {version}; this one knows versions"
            f" up to {VERSION}): upgrade lendwatch to use it"
        )


def _has_legacy_table(db: sqlite_utils.Database) -> bool:
    sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_migrations'"
    return db.execute(sql).fetchone() is not None


def _from_legacy(db: sqlite_utils.Database) -> list[int]:
    """Convert a database that recorded its migrations by name to ``user_version``."""
    applied: list[int] = []
    with transaction(db) as conn:
        if not _has_legacy_table(db):  # another process converted it meanwhile
            return applied
        names = {row[0] for row in conn.execute("SELECT name FROM _migrations")}
        unknown = sorted(names - set(LEGACY_NAMES))
        if unknown:
            raise StoreError(
                f"written by a newer lendwatch (unknown migrations {', '.join(unknown)}):"
                " upgrade lendwatch to use it"
            )
        have = {LEGACY_NAMES[name] for name in names}
        for version in sorted(MIGRATIONS):
            if version not in have:
                _run(conn, MIGRATIONS[version].sql)
                applied.append(version)
        conn.execute("DROP TABLE _migrations")
        conn.execute(f"PRAGMA user_version = {VERSION}")
    log.info("database converted from named migrations to schema version %d", VERSION)
    return applied


def _run(conn: sqlite3.Connection, sql: str) -> None:
    """Execute a migration script statement by statement (inside the caller's transaction)."""
    buf = ""
    for line in sql.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                conn.execute(buf.strip())
            buf = ""
    if buf.strip():
        conn.execute(buf.strip())
