"""Facts with the item (issue #16, item 2): extracted when an item is stored and classified,
kept in ``item_facts`` (schema version 10), extracted again by ``lendwatch reclassify``, shown
by ``lendwatch explain`` and exported under ``lendwatch extract``'s names. A version-9 file
migrates in place with the table empty; ``reclassify`` fills it (documented in the README)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from pipeline.models import Item, Verdict
from pipeline.store import Store
from pipeline.store.schema import MIGRATIONS, VERSION, _run
from tests.support.harness import ROOT, Src, clean_env, db_rows, lendwatch, write_config

PUBLISHED = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 10:00 Beijing time

DRAFT = Item(
    source_id="pboc",
    guid="draft-1",
    title="中国人民银行关于《征信业务管理办法（征求意见稿）》公开征求意见的通知",
    url="https://example.cn/pboc/draft-1.html",
    body=(
        "为规范征信业务及其相关活动，中国人民银行起草了《征信业务管理办法（征求意见稿）》，"
        "现向社会公开征求意见。公众可通过以下途径和方式提出反馈意见：电子邮件发送至"
        "zhengxin@pbc.gov.cn。意见反馈截止时间为2026年12月20日。"
    ),
    published=PUBLISHED,
)
FINAL = Item(
    source_id="nfra",
    guid="final-1",
    title="国家金融监督管理总局关于印发《消费金融公司管理办法》的通知",
    url="https://example.cn/nfra/final-1.html",
    body=(
        "金规〔2026〕12号\n各金融监管局：现将《消费金融公司管理办法》印发给你们，请遵照执行。"
        "本办法自2026年12月5日起施行。对不符合本办法规定的，过渡期至2027年12月31日。"
        "《消费金融公司试点管理办法》（中国银行业监督管理委员会令2013年第2号）同时废止。"
    ),
    published=PUBLISHED,
)
FINE = Item(
    source_id="nfra",
    guid="fine-1",
    title="某消费金融有限公司因违规催收被罚款50万元",
    url="https://example.cn/nfra/fine-1.html",
    body=(
        "国家金融监督管理总局某监管局依法对某消费金融有限公司委托第三方催收管理不到位等"
        "违法违规行为罚款50万元。"
    ),
    published=PUBLISHED,
)
NEWS = Item(source_id="nfra", guid="news-1", title="金融监管总局召开季度工作会议")
ITEMS = (DRAFT, FINAL, FINE, NEWS)
FACT_FIELDS = (
    "stage",
    "comment_deadline",
    "effective",
    "effective_raw",
    "transition_end",
    "repeals",
    "doc_number",
    "penalty",
)


def flag(item: Item) -> Verdict:
    return Verdict(flagged=True, severity="medium", score=1.0, topics=("consumer-finance",))


def _extract_cli(lines: Sequence[str]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "extract"],
        input="\n".join(lines),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=clean_env(),
        check=True,
    )
    return done.stdout


def config_with_sources(tmp_path: Path) -> Path:
    return write_config(
        tmp_path, [Src("pboc", "http://127.0.0.1:9/a"), Src("nfra", "http://127.0.0.1:9/b")]
    )


def stored(tmp_path: Path, items: Sequence[Item] = ITEMS) -> Path:
    """A config and its database holding ``items``, saved as a cycle saves them."""
    config = config_with_sources(tmp_path)
    with Store.open(tmp_path / "data" / "lendwatch.db") as store:
        store.save_classified(items, flag)
    return config


def exported(config: Path) -> dict[str, dict[str, object]]:
    out = lendwatch(config, "export")
    assert out.returncode == 0, out.stderr
    return {row["title"]: row for row in map(json.loads, out.stdout.splitlines())}


def extracted(items: Sequence[Item]) -> dict[str, dict[str, object]]:
    """What `lendwatch extract` says of the same texts: the contract export must repeat."""
    lines = [
        json.dumps(
            {"id": i.title, "title": i.title, "body": i.body, "published": "2026-11-25"},
            ensure_ascii=False,
        )
        for i in items
    ]
    return {row["id"]: row for row in map(json.loads, _extract_cli(lines).splitlines())}


def test_a_cycle_stores_the_facts_with_the_item(tmp_path: Path) -> None:
    stored(tmp_path)
    rows = db_rows(
        tmp_path / "data" / "lendwatch.db",
        "SELECT i.guid, f.stage, f.comment_deadline, f.effective, f.transition_end, f.repeals,"
        " f.doc_number FROM item_facts f JOIN items i ON i.id = f.item_id ORDER BY i.guid",
    )
    assert rows == [
        ("draft-1", "draft", "2026-12-20", None, None, "[]", None),
        (
            "final-1",
            "final",
            None,
            "2026-12-05",
            "2027-12-31",
            '["消费金融公司试点管理办法"]',
            "金规〔2026〕12号",
        ),
        ("fine-1", "enforcement", None, None, None, "[]", None),
        ("news-1", "news", None, None, None, "[]", None),
    ]


def test_export_carries_the_facts_under_extracts_names(tmp_path: Path) -> None:
    rows = exported(stored(tmp_path))
    want = extracted(ITEMS[:3])
    for title, facts in want.items():
        row = rows[title]
        for name in FACT_FIELDS[:-1]:
            assert row[name] == facts[name], (title, name)
    final = rows[FINAL.title]
    assert final["effective_raw"] == "自2026年12月5日起施行"
    # the penalty the text states: extract's object, plus the records of the table contract
    penalty = rows[FINE.title]["penalty"]
    assert isinstance(penalty, dict)
    extract_penalty = want[FINE.title]["penalty"]
    assert isinstance(extract_penalty, dict)
    assert {k: penalty[k] for k in extract_penalty} == extract_penalty
    assert set(penalty) == {*extract_penalty, "records"}
    assert penalty["parties"] == ["某消费金融有限公司"] and penalty["amount_yuan"] == 500000
    assert rows[DRAFT.title]["penalty"] is None


def test_reclassify_extracts_the_facts_again(tmp_path: Path) -> None:
    config = stored(tmp_path)
    db = tmp_path / "data" / "lendwatch.db"
    conn = sqlite3.connect(db)
    conn.execute("UPDATE item_facts SET effective = '1999-01-01', stage = 'other'")
    conn.execute(
        "DELETE FROM item_facts WHERE item_id IN (SELECT id FROM items WHERE guid = ?)", ["draft-1"]
    )
    conn.commit()
    conn.close()
    out = lendwatch(config, "reclassify", "--dry-run")
    assert out.returncode == 0, out.stderr
    assert db_rows(db, "SELECT count(*) FROM item_facts") == [(3,)]  # a dry run stores nothing
    out = lendwatch(config, "reclassify")
    assert out.returncode == 0, out.stderr
    assert "facts extracted again for 4 item(s)" in out.stdout.splitlines()[0]
    rows = exported(config)
    assert rows[FINAL.title]["effective"] == "2026-12-05" and rows[FINAL.title]["stage"] == "final"
    assert rows[DRAFT.title]["comment_deadline"] == "2026-12-20"


def test_explain_shows_the_stored_facts(tmp_path: Path) -> None:
    config = stored(tmp_path)
    [(item_id,)] = db_rows(
        tmp_path / "data" / "lendwatch.db", "SELECT id FROM items WHERE guid = 'final-1'"
    )
    out = lendwatch(config, "explain", str(item_id))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    facts = lines[lines.index("facts:") + 1 :]
    assert "  stage: final" in facts
    assert "  effective: 2026-12-05" in facts
    assert "  effective_raw: 自2026年12月5日起施行" in facts
    assert "  transition_end: 2027-12-31" in facts
    assert '  repeals: ["消费金融公司试点管理办法"]' in facts
    assert "  doc_number: 金规〔2026〕12号" in facts
    as_json = lendwatch(config, "explain", "--json", str(item_id))
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout)["facts"]["transition_end"] == "2027-12-31"


def version_9_database(path: Path) -> None:
    """A file as lendwatch wrote it at schema version 9 (the shipped steps 1..9), with items."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    for version in range(1, 10):
        conn.execute("BEGIN")
        _run(conn, MIGRATIONS[version].sql)
        conn.execute(f"PRAGMA user_version = {version}")
        conn.execute("COMMIT")
    now = "2026-11-27T00:00:00+00:00"
    for item in (DRAFT, FINAL):
        conn.execute(
            "INSERT INTO items (id, source_id, guid, url, title, body, published, content_hash,"
            " first_seen, last_seen, flagged, severity, topics) VALUES"
            " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, 'medium', '[\"consumer-finance\"]')",
            [
                item.id,
                item.source_id,
                item.guid,
                item.url,
                item.title,
                item.body,
                item.published.isoformat() if item.published else None,
                item.content_hash,
                now,
                now,
            ],
        )
    conn.close()


def test_a_version_9_database_migrates_in_place_and_reclassify_fills_the_facts(
    tmp_path: Path,
) -> None:
    db = tmp_path / "data" / "lendwatch.db"
    version_9_database(db)
    config = config_with_sources(tmp_path)
    rows = exported(config)  # opening it migrates it
    assert db_rows(db, "PRAGMA user_version") == [(VERSION,)] and VERSION >= 10
    assert db_rows(db, "SELECT count(*) FROM items") == [(2,)]  # in place: the items stay
    assert db_rows(db, "SELECT count(*) FROM item_facts") == [(0,)]  # not backfilled
    assert rows[FINAL.title]["stage"] is None and rows[FINAL.title]["effective"] is None
    explained = lendwatch(config, "explain", FINAL.id)
    assert "facts: none stored (`lendwatch reclassify` extracts them)" in explained.stdout
    out = lendwatch(config, "reclassify")
    assert out.returncode == 0, out.stderr
    rows = exported(config)
    assert rows[FINAL.title]["effective"] == "2026-12-05"
    assert rows[DRAFT.title]["comment_deadline"] == "2026-12-20"
    assert db_rows(db, "SELECT count(*) FROM item_facts") == [(2,)]


def test_an_item_the_extractor_fails_on_is_still_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pipeline.extract

    def broken(*args: object, **kwargs: object) -> None:
        raise RecursionError("a hostile page")

    monkeypatch.setattr(pipeline.extract, "extract_item", broken)
    with Store.open(tmp_path / "lendwatch.db") as store:
        saved, verdicts = store.save_classified([FINAL], flag)
        assert len(saved.new) == 1 and len(verdicts) == 1
        item = store.get_item(FINAL.id)
        assert item is not None and item.flagged and item.facts is None


def test_the_agenda_reads_dates_of_flagged_items_only_and_binds_few_variables(
    tmp_path: Path,
) -> None:
    """More dated items than SQLite binds variables (32,766): one statement, soonest first;
    unflagged items are left out."""
    count = 33_000
    many = [Item(source_id="nfra", guid=f"bulk-{n}", title=f"第{n}号办法") for n in range(count)]
    with Store.open(tmp_path / "lendwatch.db") as store:
        store.save_items(many)
        conn = store.db.conn
        conn.execute("UPDATE items SET flagged = 1 WHERE guid != 'bulk-1'")
        conn.executemany(
            "INSERT INTO item_facts (item_id, stage, effective, extracted_at)"
            " VALUES (?, 'final', ?, '2026-11-28')",
            [(i.id, date(2027, 1, 1 + n % 28).isoformat()) for n, i in enumerate(many)],
        )
        agenda = store.agenda(date(2027, 1, 1), date(2027, 1, 31))
    days = [day for _, _, day in agenda]
    assert days == sorted(days) and days[0] == date(2027, 1, 1)
    assert {name for _, name, _ in agenda} == {"effective"}
    assert all(item.flagged and item.facts is not None for item, _, _ in agenda)
    assert len(agenda) == count - 1 and "bulk-1" not in {item.guid for item, _, _ in agenda}
