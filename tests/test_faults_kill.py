"""SIGKILL in the middle of a cycle, then a restart: items consistent, no mail lost, none doubled.

Both kills are placed by events, not sleeps: the first lands while a source's response is held
back by the test server, the second while the SMTP server holds the DATA reply of a message it
has already received (the client never hears "250", so the delivery stays pending and is sent
again with the same Message-ID: at-least-once, never lost).
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Self

import pytest
from aiosmtpd.controller import Controller

from tests.support.harness import (
    ROOT,
    WAIT,
    HeldRoute,
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
from tests.support.httpserver import HTTPTestServer, Route
from tests.support.smtpserver import Received, SMTPTestServer


def start_run(config: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", "--config", str(config), "run"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
        cwd=ROOT,
    )


def kill(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=WAIT)
    assert proc.returncode == -signal.SIGKILL


def test_killed_during_fetch_then_restarted(
    tmp_path: Path, http_server: HTTPTestServer, smtp_server: SMTPTestServer
) -> None:
    held = HeldRoute("slow")
    http_server.routes["/fast.xml"] = good_route("fast")
    http_server.routes["/slow.xml"] = Route(handler=held)
    config = write_config(
        tmp_path,
        [Src("fast", http_server.url("/fast.xml")), Src("slow", http_server.url("/slow.xml"))],
        smtp_server,
    )
    db = tmp_path / "data" / "lendwatch.db"

    proc = start_run(config)
    try:
        assert held.arrived.wait(WAIT), "the run never reached the held source"
    finally:
        kill(proc)
    held.release.set()

    assert db_rows(db, "PRAGMA integrity_check") == [("ok",)]
    assert smtp_server.messages == []

    again = lendwatch(config, "run")
    assert again.returncode == 0, again.stderr
    assert sorted(stored_titles(db)) == sorted(titles_for("fast") + titles_for("slow"))
    assert len(smtp_server.messages) == 1
    text = mail_text(smtp_server.messages[0])
    assert mailed_for("fast") in text and mailed_for("slow") in text

    third = lendwatch(config, "run")
    assert third.returncode == 0, third.stderr
    assert len(smtp_server.messages) == 1


class _HoldingHandler:
    """Receives the message, then withholds the 250 reply while ``hold`` is set."""

    def __init__(self, owner: HoldingSMTP) -> None:
        self.owner = owner

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.owner.messages.append(
            Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content))
        )
        self.owner.received.set()
        while self.owner.hold.is_set() and not self.owner.proceed.is_set():
            await asyncio.sleep(0.02)
        return "250 Message accepted for delivery"


class HoldingSMTP(SMTPTestServer):
    def __init__(self) -> None:
        super().__init__()
        self.received = threading.Event()
        self.hold = threading.Event()
        self.proceed = threading.Event()

    def start(self) -> Self:
        self._controller = Controller(_HoldingHandler(self), hostname=self.host, port=self.port)
        self._controller.start()
        return self


def test_killed_after_the_smtp_server_took_the_message(
    tmp_path: Path, http_server: HTTPTestServer
) -> None:
    http_server.routes["/a.xml"] = good_route("a")
    with HoldingSMTP() as smtp:
        smtp.hold.set()
        config = write_config(tmp_path, [Src("a", http_server.url("/a.xml"))], smtp)
        db = tmp_path / "data" / "lendwatch.db"

        proc = start_run(config)
        try:
            assert smtp.received.wait(WAIT), "the digest never reached the SMTP server"
        finally:
            kill(proc)
        smtp.hold.clear()
        smtp.proceed.set()

        assert db_rows(db, "PRAGMA integrity_check") == [("ok",)]
        assert sorted(stored_titles(db)) == sorted(titles_for("a"))
        undelivered = db_rows(db, "SELECT COUNT(*) FROM items WHERE digested_at IS NOT NULL")
        assert undelivered == [(0,)], "items were marked digested without an accepted mail"

        again = lendwatch(config, "run")
        assert again.returncode == 0, again.stderr
        assert len(smtp.messages) == 2  # resent once: at-least-once, never lost
        first, second = smtp.messages
        assert first.message["Message-ID"] == second.message["Message-ID"]
        assert mailed_for("a") in mail_text(second)
        assert db_rows(
            db, "SELECT COUNT(*) FROM items WHERE flagged = 1 AND digested_at IS NULL"
        ) == [(0,)]

        third = lendwatch(config, "run")
        assert third.returncode == 0, third.stderr
        assert len(smtp.messages) == 2


class Killed(BaseException):
    """A kill is not an Exception: no error boundary catches it (a classifier's Exception is
    only its source's error, see tests/test_run.py)."""


class DiesMidClassification:
    """Stands in for a process killed while classifying: the first verdict never comes."""

    def classify(self, *args: object, **kwargs: object) -> object:
        raise Killed("killed while classifying")


def test_crash_between_storing_and_classifying_loses_nothing(
    tmp_path: Path, http_server: HTTPTestServer, smtp_server: SMTPTestServer
) -> None:
    """Items and their verdicts are written together: a crash in between must not leave items
    stored but never classified (a later run sees them as unchanged and would never flag them)."""
    from pipeline.config import load_config
    from pipeline.run import run_cycle
    from pipeline.store import Store

    http_server.routes["/a.xml"] = good_route("a")
    config = load_config(write_config(tmp_path, [Src("a", http_server.url("/a.xml"))], smtp_server))
    store = Store.open(config.settings.db_path)
    try:
        with pytest.raises(Killed, match="killed while classifying"):
            run_cycle(config, store, classifier=DiesMidClassification())  # type: ignore[arg-type]
        unclassified = store.db.execute("SELECT COUNT(*) FROM items WHERE classified_at IS NULL")
        assert unclassified.fetchone() == (0,), "items stored without their verdicts"

        run_cycle(config, store)
        flagged = [r[0] for r in store.db.execute("SELECT title FROM items WHERE flagged = 1")]
        assert flagged == [mailed_for("a")]
    finally:
        store.close()
    ran = lendwatch(config.path, "run")
    assert ran.returncode == 0, ran.stderr
    assert len(smtp_server.messages) == 1
    assert mailed_for("a") in mail_text(smtp_server.messages[0])
