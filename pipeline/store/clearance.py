"""Anti-bot clearance cookies per host (WZWS ``wzws_cid`` …), so the next cycle and the next
process reuse a solved challenge instead of answering it again.

In the database, not a file: two processes (the daemon and a manual ``lendwatch fetch``) read
and write it under SQLite's locking. A host's row is replaced after each solve and deleted when
a solve failed; expired rows are never returned and are deleted at the next write.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import sqlite_utils

from pipeline.db import iso, transaction, utcnow

SCHEMA = """
CREATE TABLE host_cookies (
    host TEXT PRIMARY KEY,
    cookies TEXT NOT NULL,
    expires REAL NOT NULL,
    updated_at TEXT NOT NULL
);
"""


def load(db: sqlite_utils.Database, now: float | None = None) -> dict[str, dict[str, Any]]:
    """``{host: {"cookies": {name: value}, "expires": epoch seconds}}`` of the live rows (a
    read only: the cycle may start on a database it cannot write). A row whose cookies are not
    JSON is returned as it is, for the caller to reject by name."""
    now = time.time() if now is None else now
    rows = db.execute(
        "SELECT host, cookies, expires FROM host_cookies WHERE expires > ?", [now]
    ).fetchall()
    out: dict[str, dict[str, Any]] = {}
    for host, cookies, expires in rows:
        try:
            decoded: object = json.loads(cookies)
        except ValueError:
            decoded = cookies
        out[host] = {"cookies": decoded, "expires": expires}
    return out


def save(db: sqlite_utils.Database, host: str, cookies: Mapping[str, str], expires: float) -> None:
    with transaction(db) as conn:
        conn.execute("DELETE FROM host_cookies WHERE expires <= ?", [time.time()])
        conn.execute(
            "INSERT INTO host_cookies (host, cookies, expires, updated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (host) DO UPDATE SET cookies = excluded.cookies,"
            " expires = excluded.expires, updated_at = excluded.updated_at",
            [host.lower(), json.dumps(dict(cookies), sort_keys=True), expires, iso(utcnow())],
        )


def drop(db: sqlite_utils.Database, host: str) -> None:
    with transaction(db) as conn:
        conn.execute("DELETE FROM host_cookies WHERE host = ?", [host.lower()])
