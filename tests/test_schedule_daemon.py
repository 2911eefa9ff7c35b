"""`lendwatch daemon` as a real process: single instance, clean stop on signals, restart after
SIGKILL (stale lock taken over, no alert repeated, the missed digest sent once)."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

import pytest

from pipeline.lock import DataDirLock
from pipeline.store import DIGEST_LAST_SLOT, Store
from tests.support.harness import (
    ROOT,
    WAIT,
    HeldRoute,
    Src,
    clean_env,
    db_rows,
    far_digest_time,
    good_route,
    lendwatch,
    mail_text,
    mailed_for,
    stored_titles,
    titles_for,
    wait_for,
    write_config,
)
from tests.support.httpserver import HTTPTestServer, Route
from tests.support.smtpserver import SMTPTestServer


class DaemonProcess:
    """A `lendwatch daemon` subprocess whose stderr goes to a file (a pipe could fill up)."""

    def __init__(self, config: Path, name: str, grace: float = 30) -> None:
        self.log = config.parent / f"{name}.stderr"
        self._err: IO[str] = self.log.open("w", encoding="utf-8")
        self.proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "pipeline", "--config", str(config)),
                *("daemon", "--grace", str(grace)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=self._err,
            text=True,
            env=clean_env(),
            cwd=ROOT,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stderr(self) -> str:
        return self.log.read_text(encoding="utf-8")

    def stop(self, signum: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signum)
        code = self.proc.wait(WAIT)
        self._err.close()
        return code

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(WAIT)
        self._err.close()


def _setup(tmp_path: Path, http: HTTPTestServer, smtp: SMTPTestServer) -> tuple[Path, Path]:
    http.routes["/a.xml"] = good_route("a")
    http.routes["/b.xml"] = good_route("b")
    config = write_config(
        tmp_path,
        [
            Src("a", http.url("/a.xml"), "every = 2"),
            Src("b", http.url("/b.xml"), "every = 3"),
        ],
        smtp,
        digest=f'at = "{far_digest_time()}"',
    )
    return config, tmp_path / "data" / "lendwatch.db"


def _cycles(db: Path, sid: str) -> int:
    if not db.exists():
        return 0
    try:
        rows = db_rows(db, "SELECT COUNT(*) FROM fetch_log WHERE source_id = ?", [sid])
    except sqlite3.OperationalError:  # the database is being created and migrated
        return 0
    return int(str(rows[0][0]))


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_daemon_single_instance_status_and_clean_stop(
    tmp_path: Path, http_server: HTTPTestServer, smtp_server: SMTPTestServer, signum: int
) -> None:
    config, db = _setup(tmp_path, http_server, smtp_server)
    daemon = DaemonProcess(config, "first")
    try:
        assert wait_for(lambda: _cycles(db, "a") >= 2 and _cycles(db, "b") >= 1), daemon.stderr()
        assert sorted(stored_titles(db)) == sorted(titles_for("a") + titles_for("b"))

        second = lendwatch(config, "daemon")
        assert second.returncode == 4
        assert f"pid {daemon.pid}" in second.stderr
        assert "lendwatch.lock" in second.stderr

        status = lendwatch(config, "status", "--json")
        assert status.returncode == 0, status.stderr
        data = json.loads(status.stdout)
        assert data["daemon"] == {
            "running": True,
            "pid": daemon.pid,
            "started": data["daemon"]["started"],
        }
        by_id = {s["id"]: s for s in data["sources"]}
        assert by_id["a"]["health"] == "ok" and by_id["a"]["next_run"] is not None
        assert data["database"]["bytes"] > 0
        text = lendwatch(config, "status")
        assert f"running (pid {daemon.pid}" in text.stdout
    finally:
        code = daemon.stop(signum)
    assert code == 0, daemon.stderr()
    err = daemon.stderr()
    assert "a: ok" in err and "b: ok" in err
    assert "daemon stopped" in err
    log_file = tmp_path / "data" / "lendwatch.log"
    assert "a: ok" in log_file.read_text(encoding="utf-8")
    for private in (db, log_file, tmp_path / "data" / "lendwatch.lock"):
        assert private.stat().st_mode & 0o777 == 0o600, private
    assert db_rows(db, "PRAGMA integrity_check") == [("ok",)]
    after = json.loads(lendwatch(config, "status", "--json").stdout)
    assert after["daemon"]["running"] is False


def test_daemon_killed_and_restarted(
    tmp_path: Path, http_server: HTTPTestServer, smtp_server: SMTPTestServer
) -> None:
    config, db = _setup(tmp_path, http_server, smtp_server)

    def alert_sent() -> bool:
        rows = db_rows(
            db, "SELECT COUNT(*) FROM deliveries WHERE kind = 'alert' AND status = 'sent'"
        )
        return int(str(rows[0][0])) >= 1

    first = DaemonProcess(config, "first")
    try:
        assert wait_for(lambda: _cycles(db, "a") >= 1 and alert_sent()), first.stderr()
    finally:
        first.kill()
    assert len(smtp_server.messages) == 1  # the alert for the high-severity items
    assert smtp_server.messages[0].message["X-Lendwatch-Kind"] == "alert"

    with Store.open(db) as store:  # pretend the daemon had been down over a digest time
        store.set_time(DIGEST_LAST_SLOT, datetime.now(UTC) - timedelta(days=2))
    cycles_before = _cycles(db, "a")

    second = DaemonProcess(config, "second")
    try:
        assert wait_for(lambda: _cycles(db, "a") >= cycles_before + 2), second.stderr()
        assert wait_for(lambda: len(smtp_server.messages) >= 2), second.stderr()
    finally:
        code = second.stop()
    assert code == 0, second.stderr()
    assert f"took over a stale lock {tmp_path / 'data' / 'lendwatch.lock'}" in second.stderr()
    assert f"left by pid {first.pid}" in second.stderr()

    kinds = [m.message["X-Lendwatch-Kind"] for m in smtp_server.messages]
    assert kinds == ["alert", "digest"], "no alert repeated; the missed digest sent once"
    digest = mail_text(smtp_server.messages[1])
    assert mailed_for("a") in digest and mailed_for("b") in digest
    assert sorted(stored_titles(db)) == sorted(titles_for("a") + titles_for("b"))
    assert db_rows(db, "PRAGMA integrity_check") == [("ok",)]

    third = DaemonProcess(config, "third")  # a further restart: no digest again
    try:
        assert wait_for(lambda: _cycles(db, "a") >= cycles_before + 4), third.stderr()
    finally:
        assert third.stop() == 0, third.stderr()
    assert len(smtp_server.messages) == 2


@pytest.mark.parametrize("finishes", [True, False], ids=["within-grace", "grace-exceeded"])
def test_sigterm_during_a_cycle(
    tmp_path: Path, http_server: HTTPTestServer, smtp_server: SMTPTestServer, finishes: bool
) -> None:
    """SIGTERM while a fetch is in flight: the cycle finishes within the grace time and its items
    are stored; past the grace time the daemon exits anyway and the database stays consistent."""
    held = HeldRoute("slow")
    http_server.routes["/fast.xml"] = good_route("fast")
    http_server.routes["/slow.xml"] = Route(handler=held)
    config = write_config(
        tmp_path,
        [Src("fast", http_server.url("/fast.xml")), Src("slow", http_server.url("/slow.xml"))],
        smtp_server,
        digest=f'at = "{far_digest_time()}"',
    )
    db = tmp_path / "data" / "lendwatch.db"
    daemon = DaemonProcess(config, "daemon", grace=WAIT if finishes else 0.5)
    try:
        assert held.arrived.wait(WAIT), daemon.stderr()
        daemon.proc.send_signal(signal.SIGTERM)
        assert wait_for(lambda: "waiting for the running one" in daemon.stderr()), daemon.stderr()
        if finishes:
            held.release.set()
        code = daemon.stop()
    finally:
        held.release.set()
        if daemon.proc.poll() is None:
            daemon.kill()
    assert code == 0, daemon.stderr()
    assert db_rows(db, "PRAGMA integrity_check") == [("ok",)]
    if finishes:
        assert "daemon stopped" in daemon.stderr()
        assert sorted(stored_titles(db)) == sorted(titles_for("fast") + titles_for("slow"))
    else:
        assert "still running after" in daemon.stderr()
        # the held source's items are not stored; the others wholly or not at all
        assert set(stored_titles(db)) in (set(), set(titles_for("fast")))
    assert DataDirLock.holder(tmp_path / "data") is None
