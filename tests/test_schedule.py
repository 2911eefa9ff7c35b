"""The scheduler's wiring and job bodies, in process: real SQLite, loopback feeds, aiosmtpd."""

from __future__ import annotations

import logging
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pipeline.config import Config, load_config
from pipeline.jobs import (
    digest_job,
    fetch_job_id,
    group_by_interval,
    jitter_for,
    latest_slot,
    missed_digest,
    next_slot,
)
from pipeline.models import Source
from pipeline.run import run_cycle
from pipeline.schedule import Daemon
from pipeline.store import DIGEST_LAST_SLOT, NEXT_RUN_PREFIX, PRUNE_LAST, Store
from tests.support.harness import (
    WAIT,
    Src,
    db_rows,
    far_digest_time,
    free_port,
    good_route,
    mail_text,
    mailed_for,
    stored_titles,
    titles_for,
    wait_for,
    write_config,
)
from tests.support.httpserver import HTTPTestServer
from tests.support.smtpserver import SMTPTestServer

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_digest_slots_in_the_configured_timezone() -> None:
    now = datetime(2026, 11, 27, 23, 30, tzinfo=UTC)  # 07:30 on the 28th in Shanghai
    assert latest_slot("08:00", SHANGHAI, now) == datetime(2026, 11, 27, 0, 0, tzinfo=UTC)
    assert next_slot("08:00", SHANGHAI, now) == datetime(2026, 11, 28, 0, 0, tzinfo=UTC)
    at_slot = datetime(2026, 11, 28, 0, 0, tzinfo=UTC)
    assert latest_slot("08:00", SHANGHAI, at_slot) == at_slot
    assert next_slot("08:00", SHANGHAI, at_slot) == at_slot + timedelta(days=1)


def test_sources_grouped_by_interval_with_bounded_jitter() -> None:
    def src(sid: str, every: int, enabled: bool = True) -> Source:
        return Source(sid, sid, "rss", f"https://{sid}.example/", every, enabled=enabled)

    groups = group_by_interval(
        [src("a", 1800), src("b", 600), src("c", 1800), src("d", 600, enabled=False)]
    )
    assert {every: [s.id for s in g] for every, g in groups.items()} == {
        600: ["b"],
        1800: ["a", "c"],
    }
    assert fetch_job_id(1800) == "fetch-1800s"
    assert jitter_for(1800) == 120
    assert jitter_for(2) == pytest.approx(0.2)


def _config(tmp_path: Path, http: HTTPTestServer, smtp: SMTPTestServer, every: int = 1) -> Config:
    http.routes["/a.xml"] = good_route("a")
    http.routes["/b.xml"] = good_route("b")
    path = write_config(
        tmp_path,
        [
            Src("a", http.url("/a.xml"), f"every = {every}"),
            Src("b", http.url("/b.xml"), f"every = {every}"),
        ],
        smtp,
        digest=f'at = "{far_digest_time()}"',
    )
    return load_config(path)


def test_missed_digest_is_sent_once(
    tmp_path: Path, http_server: HTTPTestServer, smtp_server: SMTPTestServer
) -> None:
    config = _config(tmp_path, http_server, smtp_server)
    store = Store.open(config.settings.db_path)
    try:
        run_cycle(config, store)
        now = datetime.now(UTC)
        assert missed_digest(store, config, now) is None, "a fresh install has missed nothing"

        store.set_time(DIGEST_LAST_SLOT, now - timedelta(days=3))  # the daemon was down
        slot = latest_slot(config.digest.at, config.settings.tz, now)
        assert missed_digest(store, config, now) == slot
        assert digest_job(config, store, now, catch_up=True) is True
        assert len(smtp_server.messages) == 1
        text = mail_text(smtp_server.messages[0])
        assert mailed_for("a") in text and mailed_for("b") in text
        assert store.get_time(DIGEST_LAST_SLOT) == slot

        # once: neither a second start nor the cron job for the same slot sends it again
        assert digest_job(config, store, now, catch_up=True) is False
        assert digest_job(config, store, now, catch_up=False) is False
        assert len(smtp_server.messages) == 1
    finally:
        store.close()


def _fetch_log(db: Path, sid: str) -> list[tuple[object, ...]]:
    try:
        return db_rows(db, "SELECT status, reason FROM fetch_log WHERE source_id = ?", [sid])
    except sqlite3.OperationalError:  # not created or not migrated yet
        return []


def _run_daemon(daemon: Daemon, stop: threading.Event) -> tuple[threading.Thread, list[bool]]:
    result: list[bool] = []
    thread = threading.Thread(target=lambda: result.append(daemon.run(stop)), daemon=True)
    thread.start()
    return thread, result


def test_daemon_fetches_at_start_and_on_interval_then_stops_cleanly(
    tmp_path: Path,
    http_server: HTTPTestServer,
    smtp_server: SMTPTestServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    config = _config(tmp_path, http_server, smtp_server, every=1)
    db = config.settings.db_path
    stop = threading.Event()
    thread, result = _run_daemon(Daemon(config, grace=WAIT), stop)
    try:
        # the start-up cycle plus at least one interval cycle per source
        assert wait_for(lambda: all(len(_fetch_log(db, s)) >= 2 for s in ("a", "b")))
    finally:
        stop.set()
        thread.join(WAIT)
    assert result == [True], "stopped cleanly"
    assert sorted(stored_titles(db)) == sorted(titles_for("a") + titles_for("b"))
    assert {r[0] for r in _fetch_log(db, "a")} == {"ok"}
    # alerts went out once for the high-severity items, not again on later cycles
    alerts = [m for m in smtp_server.messages if m.message["X-Lendwatch-Kind"] == "alert"]
    assert len(alerts) == 1
    store = Store.open(db)
    try:
        assert store.get_time(NEXT_RUN_PREFIX + fetch_job_id(1)) is not None
        assert store.get_time(NEXT_RUN_PREFIX + "digest") is not None
        assert store.get_time(PRUNE_LAST) is not None, "retention ran at start"
    finally:
        store.close()
    lines = [r.getMessage() for r in caplog.records if r.name == "pipeline.run"]
    assert any(line.startswith("a: ok") for line in lines)
    assert any("daemon started" in r.getMessage() for r in caplog.records)


def test_without_network_every_source_fails_and_the_daemon_keeps_going(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    dead = [
        Src(f"dead-{i}", f"http://127.0.0.1:{free_port()}/feed.xml", "every = 1") for i in (1, 2)
    ]
    config = load_config(write_config(tmp_path, dead, digest=f'at = "{far_digest_time()}"'))
    db = config.settings.db_path
    stop = threading.Event()
    thread, result = _run_daemon(Daemon(config, grace=WAIT), stop)
    try:
        assert wait_for(lambda: all(len(_fetch_log(db, s.id)) >= 2 for s in dead))
        assert thread.is_alive()
    finally:
        stop.set()
        thread.join(WAIT)
    assert result == [True]
    for s in dead:
        rows = _fetch_log(db, s.id)
        assert {r[0] for r in rows} == {"error"}
        # one clear line per failing source per cycle
        lines = [
            r.getMessage()
            for r in caplog.records
            if r.name == "pipeline.run" and r.getMessage().startswith(f"{s.id}: error: ")
        ]
        assert len(lines) == len(rows)
