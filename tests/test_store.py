"""The store's table modules on a real SQLite file: dedup, edits, verdicts, state, FTS."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.models import Item, SourceReport, SourceResult, Verdict
from pipeline.store.items import (
    get_item,
    iter_items,
    known_ids,
    prune_bodies,
    save_items,
    save_verdicts,
    search,
)
from pipeline.store.schema import migrate, open_db
from pipeline.store.sources import pending_health_events, record_result, source_state

T0 = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)


def item(guid: str, title: str, **kw: object) -> Item:
    return Item(source_id="src", guid=guid, title=title, url=f"https://x.test/{guid}", **kw)  # type: ignore[arg-type]


def test_open_creates_private_file_and_migrations_rerun(tmp_path: Path) -> None:
    path = tmp_path / "d" / "lendwatch.db"
    db = open_db(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert migrate(db) == []  # nothing left to apply
    db.close()
    db = open_db(path)  # re-open is safe
    assert {"items", "items_fts", "source_state", "health_events"} <= set(db.table_names())


def test_save_dedups_and_detects_edits(tmp_path: Path) -> None:
    db = open_db(tmp_path / "x.db")
    a = item("1", "关于暂停借呗新增授信的公告", published=T0, published_raw="2026-11-28")
    b = item("2", "Second")
    first = save_items(db, [a, b, a])
    assert [i.guid for i in first.new] == ["1", "2"] and not first.updated
    again = save_items(db, [a, b])
    assert not again.new and not again.updated and again.unchanged == 2
    edited = item("2", "Second, corrected")
    third = save_items(db, [edited])
    assert [i.title for i in third.updated] == ["Second, corrected"]
    assert known_ids(db, [a.id, "nope"]) == {a.id}
    stored = get_item(db, a.id)
    assert stored is not None
    assert stored.published == T0 and stored.published_raw == "2026-11-28"
    assert get_item(db, a.id[:6]) is not None  # unique prefix


def test_undated_items_stay_undated(tmp_path: Path) -> None:
    db = open_db(tmp_path / "x.db")
    save_items(db, [item("1", "no date")])
    (stored,) = iter_items(db)
    assert stored.published is None
    assert stored.to_export()["published"] is None
    assert stored.to_export()["first_seen"] is not None


def test_verdicts_round_trip_and_flagged_filter(tmp_path: Path) -> None:
    db = open_db(tmp_path / "x.db")
    a, b = item("1", "A"), item("2", "B")
    save_items(db, [a, b])
    v = Verdict(
        flagged=True,
        severity="high",
        score=9.5,
        topics=("platform-change",),
        doc_numbers=("银保监发〔2020〕9号",),
        rules_version="r1",
    )
    save_verdicts(db, [(a.id, v), (b.id, Verdict(flagged=False, severity=None, score=0.0))])
    flagged = list(iter_items(db, flagged_only=True))
    assert [s.id for s in flagged] == [a.id]
    assert flagged[0].verdict == v
    assert flagged[0].to_export()["doc_numbers"] == ["银保监发〔2020〕9号"]


def test_a_new_items_verdict_is_written_with_its_row(tmp_path: Path) -> None:
    """New items and their verdicts: one insert per row, no update pass; an edited item's
    verdict is an update of its row, as reclassifying is."""
    db = open_db(tmp_path / "x.db")
    save_items(db, [item("0", "旧标题")])
    written: list[str] = []
    db.conn.set_trace_callback(written.append)
    v = Verdict(flagged=True, severity="medium", score=2.0, topics=("credit",), rules_version="r2")
    saved = save_items(
        db,
        [item("0", "新标题"), item("1", "A"), item("2", "B")],
        classify_new=lambda i: v,
    )
    db.conn.set_trace_callback(None)
    assert [i.guid for i in saved.new] == ["1", "2"] and [i.guid for i in saved.updated] == ["0"]
    inserts = [s for s in written if s.startswith("INSERT INTO items ")]
    assert len(inserts) == 2 and all("verdict" in s for s in inserts)
    assert not [s for s in written if s.startswith("UPDATE items SET flagged")]
    stored = {s.guid: s for s in iter_items(db)}
    assert stored["1"].verdict == v and stored["2"].verdict == v and stored["2"].flagged
    assert stored["0"].verdict is None  # the caller classifies edits (``save_verdicts``)


def test_search_chinese_trigram_and_short_terms(tmp_path: Path) -> None:
    db = open_db(tmp_path / "x.db")
    save_items(db, [item("1", "关于暂停借呗新增授信的公告"), item("2", "LPR 下调")])
    hits = search(db, "借呗新增")
    assert [h[0].guid for h in hits] == ["1"] and "[借呗新增]" in hits[0][1]
    assert [h[0].guid for h in search(db, "借呗")] == ["1"]  # 2 chars: LIKE fallback
    assert search(db, "花呗额度") == []


def test_prune_bodies(tmp_path: Path) -> None:
    db = open_db(tmp_path / "x.db")
    save_items(db, [item("1", "old", body="x" * 100)], now=datetime.now(UTC) - timedelta(days=400))
    save_items(db, [item("2", "new", body="y" * 100)])
    assert prune_bodies(db, 180) == 1
    assert {s.guid: s.body for s in iter_items(db)} == {"1": "", "2": "y" * 100}


def _report(result: SourceResult) -> SourceReport:
    return SourceReport(result.source_id, result.status, result.reason, 0, 0, 0, 0, False, 0.1)


@pytest.mark.parametrize("broken_after", [1, 2])
def test_health_transitions_once_each(tmp_path: Path, broken_after: int) -> None:
    db = open_db(tmp_path / "x.db")
    ok = SourceResult("pboc", "ok", etag='"e1"', last_modified="lm1")
    bad = SourceResult("pboc", "blocked", "anti-bot challenge", etag='"e2"')
    assert record_result(db, ok, _report(ok), T0, broken_after) is None
    events = [record_result(db, bad, _report(bad), T0, broken_after) for _ in range(3)]
    fired = [e for e in events if e is not None]
    assert [e.event for e in fired] == ["broken"]
    assert events.index(fired[0]) == broken_after - 1
    state = source_state(db, "pboc")
    assert state.status == "blocked" and state.consecutive_failures == 3
    assert state.etag == '"e1"'  # validators only move with a success
    assert state.last_success == T0
    back = record_result(db, ok, _report(ok), T0, broken_after)
    assert back is not None and back.event == "recovered"
    assert [e.event for e in pending_health_events(db)] == ["broken", "recovered"]
    assert source_state(db, "pboc").consecutive_failures == 0


def test_fts_index_stays_consistent_through_edits_and_pruning(tmp_path: Path) -> None:
    db = open_db(tmp_path / "x.db")
    save_items(db, [item("1", "关于暂停借呗新增授信的公告", body="正文一")])
    assert [h[0].guid for h in search(db, "借呗新增")] == ["1"]  # indexes pending rows
    save_items(db, [item("2", "网络小额贷款业务管理暂行办法", body="正文二")])
    save_items(
        db, [item("2", "网络小额贷款业务管理办法（修订）", body="正文二")]
    )  # edit, unindexed
    save_items(db, [item("1", "关于恢复借呗新增授信的公告", body="正文一")])  # edit, indexed
    save_items(db, [item("3", "old", body="old body")], now=datetime.now(UTC) - timedelta(days=400))
    prune_bodies(db, 180)
    assert [h[0].guid for h in search(db, "恢复借呗")] == ["1"]
    assert search(db, "暂停借呗") == []
    assert [h[0].guid for h in search(db, "业务管理办法")] == ["2"]
    assert search(db, "暂行办法") == []
    assert search(db, "old body") == []
    db.execute("INSERT INTO items_fts (items_fts) VALUES ('integrity-check')")


def test_a_refetch_without_the_detail_body_keeps_the_stored_body(tmp_path: Path) -> None:
    db = open_db(tmp_path / "x.db")
    save_items(db, [item("1", "助贷新规", body="第一条 为规范助贷业务")])
    again = save_items(db, [item("1", "助贷新规")])  # list page only: no body
    assert not again.updated and again.unchanged == 1
    edited = save_items(db, [item("1", "助贷新规（修订）")])
    (changed,) = edited.updated
    assert changed.body == "第一条 为规范助贷业务"  # what the classifier sees again
    stored = get_item(db, item("1", "").id)
    assert stored is not None and stored.body == "第一条 为规范助贷业务"
