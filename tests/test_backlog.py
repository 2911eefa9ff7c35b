"""A backlog larger than SQLite's limit of variables per statement (32,766) goes through
`fetch`, `run` and `digest`: no statement binds one variable per item.

The database is built directly (one transaction, fast): 40,001 flagged items waiting for the
digest, beside a real loopback source and a real SMTP sink. Each command must finish, mail what
is due once, and mark the backlog.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from pipeline.db import iso, utcnow
from pipeline.models import Verdict
from pipeline.store import Store
from tests.support.harness import (
    Src,
    db_rows,
    good_route,
    lendwatch,
    mail_text,
    mailed_for,
    write_config,
)
from tests.support.httpserver import HTTPTestServer
from tests.support.smtpserver import SMTPTestServer

BACKLOG = 40_001
# One regulator template, numbered: the flood of a listing that republished its archive.
TEMPLATE = "关于网络小额贷款公司跨省展业风险的第{k}号提示"


def build_backlog(db: Path, count: int) -> None:
    with Store.open(db):
        pass  # the schema
    first_seen = iso(utcnow() - timedelta(hours=1))
    verdict = Verdict(flagged=True, severity="medium", score=6.0, topics=("网络小贷",))
    rows = [
        (
            f"backlog{k:06d}",
            "archive",
            f"g{k}",
            f"https://archive.example.cn/{k}.html",
            TEMPLATE.format(k=k),
            first_seen,
            first_seen,
            f"h{k}",
            verdict.to_json(),
        )
        for k in range(count)
    ]
    conn = sqlite3.connect(db)
    with conn:
        conn.executemany(
            "INSERT INTO items (id, source_id, guid, url, title, first_seen, last_seen,"
            " content_hash, flagged, severity, score, topics, verdict, rules_version)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, 'medium', 6.0, '[\"网络小贷\"]', ?, 'test')",
            rows,
        )
    conn.close()


@pytest.mark.timeout(900)
def test_a_backlog_beyond_the_variable_limit(
    tmp_path: Path, http_server: HTTPTestServer, smtp_server: SMTPTestServer
) -> None:
    http_server.routes["/good.xml"] = good_route("good")
    config = write_config(tmp_path, [Src("good", http_server.url("/good.xml"))], smtp_server)
    db = config.parent / "data" / "lendwatch.db"
    build_backlog(db, BACKLOG)

    fetched = lendwatch(config, "fetch")  # alerts read every undelivered flagged item
    assert fetched.returncode == 0, fetched.stderr
    assert "too many SQL variables" not in fetched.stderr
    assert "Traceback" not in fetched.stderr
    [alert] = smtp_server.messages  # the good source's high item; the backlog is medium
    assert mailed_for("good") in mail_text(alert)
    assert TEMPLATE.format(k=7) not in mail_text(alert)

    ran = lendwatch(config, "run")  # the digest plans with all 40,002 flagged items
    assert ran.returncode == 0, ran.stderr
    assert "too many SQL variables" not in ran.stderr
    [digest] = smtp_server.messages[1:]
    text = mail_text(digest)
    assert "跨省展业风险" in text  # the backlog, one story
    assert mailed_for("good") in text
    undigested = db_rows(db, "SELECT COUNT(*) FROM items WHERE flagged = 1 AND digested_at IS NULL")
    assert undigested == [(0,)]
    carried = db_rows(db, "SELECT COUNT(DISTINCT item_id) FROM delivery_items")
    assert carried == [(BACKLOG + 1,)]  # the backlog story and the good item, each linked

    again = lendwatch(config, "digest")
    assert again.returncode == 0, again.stderr
    assert len(smtp_server.messages) == 2  # nothing mailed twice
    stored = db_rows(db, "SELECT COUNT(*) FROM items")
    assert stored == [(BACKLOG + 2,)]
