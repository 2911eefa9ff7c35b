"""`lendwatch demo`: offline, two days of six shipped sources, into a folder every command can
be pointed at; a folder that is not a demo is never touched."""

from __future__ import annotations

import email
import email.policy
import tomllib
from pathlib import Path

import pytest

from pipeline.demo import SOURCES, headlines, lists
from tests.support.harness import ROOT, db_rows, lendwatch

pytestmark = pytest.mark.timeout(300)


def body(path: Path) -> str:
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    part = msg.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def run_demo(folder: Path) -> str:
    done = lendwatch(Path("unused.toml"), "demo", "--dir", str(folder))
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_demo_runs_two_days_into_its_folder(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    out = run_demo(folder)
    config = folder / "sources.toml"
    assert f"lendwatch --config {config} serve" in out
    assert f"lendwatch --config {config} search 助贷" in out

    outbox = folder / "data" / "outbox"
    digests = sorted(outbox.glob("digest-*.eml"))
    assert len(digests) == 2 and all(p.with_suffix(".html").exists() for p in digests)
    first, second = body(digests[0]), body(digests[1])
    # day 1: every source's first fetch, counted, not listed
    assert "首次抓取，收录 8 条较早的条目" in first
    # day 2: the items that appeared on top are the digest's entries
    zh_news = [title for title, _ in headlines(ROOT)["zh"][: len(SOURCES)]]
    assert sum(title[:20] in second for title in zh_news) >= 4, second[:2000]
    assert "首次抓取" not in second

    # every command works on the demo's folder
    status = lendwatch(config, "status")
    assert status.returncode == 0, status.stderr
    assert all(sid in status.stdout for sid in SOURCES)
    found = lendwatch(config, "search", "助贷")
    assert found.returncode == 0 and "助贷" in found.stdout
    db = folder / "data" / "lendwatch.db"
    assert db_rows(db, "SELECT COUNT(*) FROM items WHERE backlog IS NULL") == [(12,)]

    # again into the same folder: a previous demo is started afresh
    run_demo(folder)
    assert len(sorted(outbox.glob("digest-*.eml"))) == 2


def test_a_folder_that_is_not_a_demo_is_refused_untouched(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    done = lendwatch(Path("unused.toml"), "demo", "--dir", str(tmp_path))
    assert done.returncode == 2
    assert "not empty and not a previous demo" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_the_demo_sources_are_the_shipped_ones(tmp_path: Path) -> None:
    """Only the URL (the loopback server) and the detail pages differ from sources.toml."""
    run_demo(tmp_path / "demo")
    shipped = {
        s["id"]: s
        for s in tomllib.loads((ROOT / "sources.toml").read_text(encoding="utf-8"))["sources"]
    }
    demo = tomllib.loads((tmp_path / "demo" / "sources.toml").read_text(encoding="utf-8"))
    assert [s["id"] for s in demo["sources"]] == list(SOURCES)
    for source in demo["sources"]:
        real = dict(shipped[source["id"]])
        for key in [k for k in real if k.startswith("detail") or k == "attachments"]:
            del real[key]
        assert source.pop("url").startswith("http://127.0.0.1:")
        real.pop("url")
        assert source == real


def test_each_day_lists_newest_first_with_new_items_on_top() -> None:
    from datetime import UTC, datetime

    built = lists(ROOT, datetime(2026, 12, 3, tzinfo=UTC))
    for day1, day2 in built.values():
        assert day2[2:] == day1 and len(day1) == 8
        assert {e.guid for e in day2[:2]}.isdisjoint(e.guid for e in day1)
        assert day2[1].when < day1[-1].when  # a late-posted item: dated before all the others
