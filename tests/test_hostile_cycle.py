"""One hostile source never stops a cycle: its page makes the fetch side raise (a detail page of
deeply nested JSON, ~200 KB: RecursionError), and `fetch`, `run` and the daemon's start-up job
still finish, report that source as failed, and mail the good source's items once.

Behaviour only: whichever layer catches the error (the fetch side per item, or the cycle's own
boundary in ``pipeline.jobs.fetch_cycle``), the outcome asserted here is the same.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from pipeline import jobs
from pipeline.config import load_config
from pipeline.run import run_cycle
from pipeline.store import PRUNE_LAST, Store
from tests.support.harness import (
    RSS_TYPE,
    Src,
    db_rows,
    good_route,
    lendwatch,
    mail_text,
    mailed_for,
    write_config,
)
from tests.support.httpserver import HTTPTestServer, Route
from tests.support.smtpserver import SMTPTestServer

NESTED = ("[" * 100_000 + "]" * 100_000).encode()  # 200 KB: json.loads recurses 100,000 deep

HOSTILE_FEED = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>h</title><link>{home}</link><description>x</description>
<item><title>{title}</title><link>{page}</link><guid>{page}</guid></item>
</channel></rss>
"""


def _sources(http: HTTPTestServer) -> list[Src]:
    http.routes["/good.xml"] = good_route("a")
    http.routes["/hostile.xml"] = Route(
        HOSTILE_FEED.format(
            home=http.url("/"), page=http.url("/doc/1.json"), title=mailed_for("hostile")
        ).encode(),
        content_type=RSS_TYPE,
    )
    http.routes["/doc/1.json"] = Route(NESTED, content_type="application/json")
    return [
        Src("a", http.url("/good.xml")),
        Src("hostile", http.url("/hostile.xml"), 'detail = "div"\ndetail_json = "data.docClob"'),
    ]


def _health(db: Path, sid: str) -> tuple[str, str]:
    rows = db_rows(db, "SELECT status, reason FROM source_state WHERE source_id = ?", [sid])
    return (str(rows[0][0]), str(rows[0][1])) if rows else ("never-fetched", "")


def test_fetch_and_run_finish_and_mail_the_good_source_once(
    tmp_path: Path, http_server: HTTPTestServer, smtp_server: SMTPTestServer
) -> None:
    config = write_config(tmp_path, _sources(http_server), smtp_server)
    db = tmp_path / "data" / "lendwatch.db"

    fetched = lendwatch(config, "fetch")
    assert fetched.returncode == 0, fetched.stderr
    assert "2 sources" in fetched.stdout
    assert http_server.hits("/doc/1.json"), "the hostile detail page was never asked for"
    # the hostile source is recorded (failed, or ok with the detail page left out), not lost
    assert _health(db, "hostile")[0] != "never-fetched"
    assert _health(db, "a")[0] == "ok"
    [alert] = smtp_server.messages
    assert mailed_for("a") in mail_text(alert)

    ran = lendwatch(config, "run")
    assert ran.returncode == 0, ran.stderr
    [digest] = smtp_server.messages[1:]
    assert mailed_for("a") in mail_text(digest)
    assert _health(db, "hostile")[0] != "never-fetched"

    again = lendwatch(config, "run")
    assert again.returncode == 0, again.stderr
    assert len(smtp_server.messages) == 2, "mailed twice"


def test_the_daemons_start_up_job_still_retries_and_prunes(
    tmp_path: Path, http_server: HTTPTestServer, smtp_server: SMTPTestServer
) -> None:
    config = load_config(write_config(tmp_path, _sources(http_server), smtp_server))
    with Store.open(config.settings.db_path) as store:
        jobs.startup_job(config, store)
        assert store.get_time(PRUNE_LAST) is not None  # retention ran after the fetch
        states = store.source_states()
        assert states["a"].status == "ok"
        assert "hostile" in states  # recorded, whatever its page raised
    assert any(mailed_for("a") in mail_text(m) for m in smtp_server.messages)


def test_each_start_up_step_has_its_own_boundary(
    tmp_path: Path,
    http_server: HTTPTestServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A bug in one step (any exception class) is logged with its traceback; the others run.
    config = load_config(write_config(tmp_path, _sources(http_server)))
    ran: list[str] = []

    def broken_fetch(*args: object, **kwargs: object) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    def retry(*args: object, **kwargs: object) -> None:
        ran.append("retry")

    monkeypatch.setattr(jobs, "fetch_job", broken_fetch)
    monkeypatch.setattr(jobs, "retry_job", retry)
    with Store.open(config.settings.db_path) as store, caplog.at_level(logging.ERROR):
        jobs.startup_job(config, store)
        assert store.get_time(PRUNE_LAST) is not None
    assert ran == ["retry"]
    failed = [r for r in caplog.records if "start-up fetch failed" in r.getMessage()]
    assert failed and failed[0].exc_info is not None  # with the traceback


def test_a_cycle_cut_short_records_the_sources_it_left(
    tmp_path: Path, http_server: HTTPTestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The cycle's own boundary, whatever the fetch side does: the good source is handled, then
    # the cycle raises; the source left is recorded as failed with the error as the reason.
    config = load_config(write_config(tmp_path, _sources(http_server)))
    real = run_cycle

    def cut_short(cfg: object, store: Store, **kwargs: object) -> object:
        real(config, store, sources=[config.source("a")])
        raise RecursionError("maximum recursion depth exceeded while decoding a JSON array")

    monkeypatch.setattr(jobs, "run_cycle", cut_short)
    with Store.open(config.settings.db_path) as store:
        report = jobs.fetch_cycle(config, store)
        states = store.source_states()
    assert [r.source_id for r in report.sources] == ["a", "hostile"]
    assert report.sources[0].status == "ok" and report.sources[0].new == 2
    assert report.sources[1].status == "error"
    assert states["hostile"].reason.startswith("internal error: RecursionError")
