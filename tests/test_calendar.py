"""The calendar (issue #16, item 4): ``lendwatch calendar [--out FILE.ics]`` and the daemon's
``<data_dir>/lendwatch.ics``, read back with icalendar: one all-day event per deadline,
effective date and transition end of a flagged item, stable UIDs (a re-run updates, never
duplicates)."""

from __future__ import annotations

import logging
import subprocess
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

import icalendar
import pytest

from pipeline.config import load_config
from pipeline.jobs import calendar_job, digest_job, fetch_job
from pipeline.models import Item
from pipeline.store import Store
from tests.support.digest_fixtures import NOW
from tests.support.harness import ROOT, clean_env, lendwatch
from tests.test_facts_store import DRAFT, FINAL, NEWS, config_with_sources, flag

Events = dict[str, icalendar.Event]


def events_of(data: bytes) -> Events:
    cal = icalendar.Calendar.from_ical(data)
    assert cal["version"] == "2.0" and cal["prodid"]
    out: Events = {}
    for event in cal.walk("VEVENT"):
        assert isinstance(event, icalendar.Event)
        uid = str(event["uid"])
        assert uid not in out, f"duplicate UID {uid}"
        out[uid] = event
    return out


def store_with(tmp_path: Path, *items: Item) -> Path:
    config = config_with_sources(tmp_path)
    with Store.open(tmp_path / "data" / "lendwatch.db") as store:
        store.save_classified(list(items), flag)
    return config


def calendar_stdout(config: Path) -> bytes:
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "--config", str(config), "calendar"],
        capture_output=True,
        cwd=ROOT,
        env=clean_env(),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_one_all_day_event_per_date_with_title_issuer_doc_number_and_link(tmp_path: Path) -> None:
    config = store_with(tmp_path, FINAL, DRAFT, NEWS)
    events = events_of(calendar_stdout(config))
    assert set(events) == {
        f"{FINAL.id}-effective@lendwatch",
        f"{FINAL.id}-transition_end@lendwatch",
        f"{DRAFT.id}-comment_deadline@lendwatch",
    }
    effective = events[f"{FINAL.id}-effective@lendwatch"]
    start = effective.decoded("dtstart")
    assert type(start) is date and start == date(2026, 12, 5)  # all day: a date, not a time
    assert effective.decoded("dtend") == date(2026, 12, 6)
    assert str(effective["summary"]) == f"施行：{FINAL.title}"
    description = str(effective["description"])
    assert "发文：Source nfra" in description  # no authority in the verdict: the source
    assert "文号：金规〔2026〕12号" in description
    assert f"链接：{FINAL.url}" in description
    assert str(effective["url"]) == FINAL.url
    transition = events[f"{FINAL.id}-transition_end@lendwatch"]
    assert transition.decoded("dtstart") == date(2027, 12, 31)
    assert str(transition["summary"]).startswith("过渡期结束：")
    deadline = events[f"{DRAFT.id}-comment_deadline@lendwatch"]
    assert deadline.decoded("dtstart") == date(2026, 12, 20)
    assert str(deadline["summary"]) == f"征求意见截止：{DRAFT.title}"


def test_rerunning_updates_the_events_and_never_duplicates_them(tmp_path: Path) -> None:
    config = store_with(tmp_path, FINAL, DRAFT)
    out = tmp_path / "agenda.ics"
    done = lendwatch(config, "calendar", "--out", str(out))
    assert done.returncode == 0 and f"wrote {out}" in done.stdout, done.stderr
    first = out.read_bytes()
    assert lendwatch(config, "calendar", "--out", str(out)).returncode == 0
    assert out.read_bytes() == first  # the same data, the same bytes
    assert calendar_stdout(config) == first  # stdout is the same calendar

    # the regulator edits the page: the rule now takes effect later
    moved = replace(
        FINAL,
        summary="施行日期调整",  # the list shows the edit (the hash covers title, summary, link)
        body=FINAL.body.replace("2026年12月5日", "2027年3月1日"),
    )
    with Store.open(tmp_path / "data" / "lendwatch.db") as store:
        saved, _ = store.save_classified([moved], flag)
        assert len(saved.updated) == 1
    assert lendwatch(config, "calendar", "--out", str(out)).returncode == 0
    before, after = events_of(first), events_of(out.read_bytes())
    assert set(after) == set(before)  # same UIDs: the app moves the event
    uid = f"{FINAL.id}-effective@lendwatch"
    assert before[uid].decoded("dtstart") == date(2026, 12, 5)
    assert after[uid].decoded("dtstart") == date(2027, 3, 1)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_an_empty_calendar_is_still_a_valid_calendar(tmp_path: Path) -> None:
    config = store_with(tmp_path, NEWS)
    assert events_of(calendar_stdout(config)) == {}


def test_the_daemon_keeps_data_lendwatch_ics_current(tmp_path: Path) -> None:
    config = load_config(store_with(tmp_path, DRAFT))
    path = config.settings.data_dir / "lendwatch.ics"
    with Store.open(config.settings.db_path) as store:
        assert digest_job(config, store, NOW, catch_up=False)  # the digest slot: ics rewritten
        assert set(events_of(path.read_bytes())) == {f"{DRAFT.id}-comment_deadline@lendwatch"}
        store.save_classified([FINAL], flag)
        fetch_job(config, store, sources=[])  # a cycle (here of no source) rewrites it too
    assert len(events_of(path.read_bytes())) == 3
    assert sorted(p.name for p in path.parent.iterdir() if "lendwatch.ics" in p.name) == [
        "lendwatch.ics"
    ]


def test_a_calendar_that_cannot_be_written_is_logged_and_the_daemon_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = load_config(store_with(tmp_path, DRAFT))
    blocker = config.settings.data_dir / "lendwatch.ics"
    blocker.mkdir()  # a directory where the file goes: the rename fails
    with Store.open(config.settings.db_path) as store, caplog.at_level(logging.ERROR):
        calendar_job(config, store)
    assert "calendar not written" in caplog.text
    assert blocker.is_dir() and not [p for p in blocker.parent.iterdir() if p.suffix == ".tmp"]


def test_calendar_out_to_an_unwritable_place_fails_with_exit_1(tmp_path: Path) -> None:
    config = store_with(tmp_path, DRAFT)
    target = tmp_path / "nowhere" / "x.ics"
    (tmp_path / "nowhere").write_text("a file, not a folder")
    done = lendwatch(config, "calendar", "--out", str(target))
    assert done.returncode == 1 and "cannot write" in done.stderr
    assert (tmp_path / "nowhere").read_text() == "a file, not a folder"
