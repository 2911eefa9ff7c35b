"""Fault injection, mail and database side: SMTP down, auth failure, a rejected recipient, the
database locked by another writer. Real aiosmtpd, real SQLite file, the real command."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import AuthResult
from click.testing import CliRunner

from pipeline import db as sqlite_helpers
from pipeline.cli import cli
from tests.support.harness import (
    Src,
    clean_env,
    db_rows,
    good_route,
    lendwatch,
    mail_text,
    mailed_for,
    stored_titles,
    titles_for,
    write_config,
)
from tests.support.httpserver import HTTPTestServer
from tests.support.smtpserver import SMTPTestServer

GOOD_PASSWORD = "c0rrect-h0rse"
BAD_PASSWORD = "wr0ng-pa55"


def status_json(config: Path) -> dict[str, object]:
    result = lendwatch(config, "status", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    return data


def pending_count(config: Path) -> int:
    deliveries = status_json(config)["deliveries"]
    assert isinstance(deliveries, dict)
    return int(deliveries["pending"])


def test_smtp_down_then_back(
    tmp_path: Path, http_server: HTTPTestServer, smtp_server: SMTPTestServer
) -> None:
    http_server.routes["/a.xml"] = good_route("a")
    config = write_config(tmp_path, [Src("a", http_server.url("/a.xml"))], smtp_server)
    db = tmp_path / "data" / "lendwatch.db"
    smtp_server.stop()

    down = lendwatch(config, "run")
    assert down.returncode == 1
    assert f"{smtp_server.host}:{smtp_server.port}" in down.stderr
    assert sorted(stored_titles(db)) == sorted(titles_for("a")), "fetching went on"
    assert pending_count(config) >= 1

    smtp_server.start()
    up = lendwatch(config, "run")
    assert up.returncode == 0, up.stderr
    assert len(smtp_server.messages) == 1
    assert mailed_for("a") in mail_text(smtp_server.messages[0])
    assert pending_count(config) == 0

    again = lendwatch(config, "run")
    assert again.returncode == 0, again.stderr
    assert len(smtp_server.messages) == 1


# aiosmtpd warns that AUTH without TLS is unsafe: on loopback, in a test, that is the point
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


class AuthServer(SMTPTestServer):
    """Answers a failed login with 535 as real servers do (tests.support's authenticator leaves
    the reply unhandled, so the client would just time out)."""

    def _authenticator(self, *args: Any) -> AuthResult:
        ok = super()._authenticator(*args).success
        return AuthResult(success=ok, handled=ok)


@pytest.fixture
def auth_smtp() -> Iterator[SMTPTestServer]:
    with AuthServer(auth=("mailer", GOOD_PASSWORD)) as srv:
        yield srv


def test_smtp_auth_failure_is_reported_without_the_password(
    tmp_path: Path, http_server: HTTPTestServer, auth_smtp: SMTPTestServer
) -> None:
    http_server.routes["/a.xml"] = good_route("a")
    config = write_config(
        tmp_path, [Src("a", http_server.url("/a.xml"))], auth_smtp, username="mailer"
    )
    log_file = tmp_path / "data" / "lendwatch.log"

    bad = lendwatch(config, "-v", "run", env=clean_env(LENDWATCH_SMTP_PASSWORD=BAD_PASSWORD))
    assert bad.returncode == 1
    assert "login as 'mailer' refused (535" in bad.stderr
    assert auth_smtp.messages == []
    assert BAD_PASSWORD not in bad.stderr + bad.stdout
    assert BAD_PASSWORD not in log_file.read_text(encoding="utf-8")
    assert pending_count(config) >= 1

    good = lendwatch(config, "-v", "run", env=clean_env(LENDWATCH_SMTP_PASSWORD=GOOD_PASSWORD))
    assert good.returncode == 0, good.stderr
    assert len(auth_smtp.messages) == 1
    assert mailed_for("a") in mail_text(auth_smtp.messages[0])
    logged = log_file.read_text(encoding="utf-8")
    assert GOOD_PASSWORD not in good.stderr + good.stdout + logged
    assert log_file.stat().st_mode & 0o777 == 0o600


def test_rejected_recipient_does_not_hold_back_or_double_the_others(
    tmp_path: Path, http_server: HTTPTestServer, smtp_server: SMTPTestServer
) -> None:
    http_server.routes["/a.xml"] = good_route("a")
    smtp_server.reject.add("gone@example.com")
    config = write_config(
        tmp_path,
        [Src("a", http_server.url("/a.xml"))],
        smtp_server,
        recipients=("risk@example.com", "gone@example.com"),
    )

    first = lendwatch(config, "run")
    assert first.returncode == 1, "a delivery failed: exit 1"
    assert "gone@example.com" in first.stderr
    assert [m.recipients for m in smtp_server.messages] == [["risk@example.com"]]
    assert mailed_for("a") in mail_text(smtp_server.messages[0])
    assert pending_count(config) == 1

    second = lendwatch(config, "run")
    assert second.returncode in (0, 1), second.stderr
    assert [m.recipients for m in smtp_server.messages] == [["risk@example.com"]], (
        "the accepted reader must not get the digest twice"
    )

    smtp_server.reject.clear()  # the mailbox is back: delivery resumes, once
    third = lendwatch(config, "run")
    assert third.returncode == 0, third.stderr
    assert [m.recipients for m in smtp_server.messages] == [
        ["risk@example.com"],
        ["gone@example.com"],
    ]
    assert mailed_for("a") in mail_text(smtp_server.messages[1])
    assert pending_count(config) == 0


class WriterHoldingLock:
    """Another process-like writer: a second connection holding BEGIN IMMEDIATE."""

    def __init__(self, db: Path) -> None:
        self.conn = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.execute("UPDATE meta SET value = value")  # a write in flight

    def release(self) -> None:
        self.conn.execute("ROLLBACK")
        self.conn.close()


def test_database_locked_briefly_the_cycle_waits(
    tmp_path: Path, http_server: HTTPTestServer, smtp_server: SMTPTestServer
) -> None:
    http_server.routes["/a.xml"] = good_route("a")
    http_server.routes["/b.xml"] = good_route("b")
    config = write_config(
        tmp_path,
        [Src("a", http_server.url("/a.xml")), Src("b", http_server.url("/b.xml"))],
        smtp_server,
    )
    db = tmp_path / "data" / "lendwatch.db"
    assert lendwatch(config, "status").returncode == 0  # creates and migrates the database
    writer = WriterHoldingLock(db)
    fetched = threading.Event()

    def release_after_fetch() -> None:
        # once both feeds were served the cycle is about to write: then let go (well within
        # the busy timeout), so the cycle meets the lock and waits for it
        while len(http_server.requests) < 2 and not fetched.wait(0.05):
            pass
        fetched.wait(0.5)
        writer.release()

    releaser = threading.Thread(target=release_after_fetch)
    releaser.start()
    try:
        result = lendwatch(config, "run")
    finally:
        fetched.set()
        releaser.join(30)
    assert result.returncode == 0, result.stderr
    assert sorted(stored_titles(db)) == sorted(titles_for("a") + titles_for("b"))
    assert len(smtp_server.messages) == 1


def test_database_locked_beyond_the_busy_timeout(
    tmp_path: Path,
    http_server: HTTPTestServer,
    smtp_server: SMTPTestServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    http_server.routes["/a.xml"] = good_route("a")
    config = write_config(tmp_path, [Src("a", http_server.url("/a.xml"))], smtp_server)
    db = tmp_path / "data" / "lendwatch.db"
    runner = CliRunner()
    args = ["--config", str(config)]
    assert runner.invoke(cli, [*args, "status"], env=clean_env()).exit_code == 0
    monkeypatch.setattr(sqlite_helpers, "BUSY_TIMEOUT_MS", 200)

    writer = WriterHoldingLock(db)
    try:
        locked = runner.invoke(cli, [*args, "fetch"], env=clean_env())
    finally:
        writer.release()
    assert locked.exit_code == 3, locked.output
    assert "locked" in locked.output
    assert stored_titles(db) == []
    assert db_rows(db, "PRAGMA integrity_check") == [("ok",)]

    monkeypatch.setattr(sqlite_helpers, "BUSY_TIMEOUT_MS", 10_000)
    result = lendwatch(config, "run")
    assert result.returncode == 0, result.stderr
    assert sorted(stored_titles(db)) == sorted(titles_for("a")), "nothing lost"
    assert len(smtp_server.messages) == 1
