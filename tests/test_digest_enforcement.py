"""Penalties and attachments in the digest: the entry of a fine says who, how much, which
authority and when, from the stored penalty table; the entry of a document with files lists
their names and links, and says which ones could not be read. Golden files, in both languages.

The items go through the real rules (``classify_fields``: the penalty records join the summary)
and the real store (``save_classified`` keeps the penalty and the files with the item).
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from pipeline.classify import Classifier
from pipeline.classify.inputs import classify_fields
from pipeline.digest import send_digest
from pipeline.extract import penalty_from_page
from pipeline.models import Item, ItemAttachment
from pipeline.store import Store
from tests.support.digest_fixtures import CST, NOW, SOURCES, database, make_config, ok_source
from tests.support.golden import check_golden, parse, parts

ROOT = Path(__file__).resolve().parent.parent
PENALTY = Path(__file__).parent / "fixtures" / "penalty"
ISSUERS = {"nfra": "nfra", "pboc": "pboc"}
REAL_SOURCES = tuple(replace(s, issuer=ISSUERS.get(s.id)) for s in SOURCES)
MIDNIGHT = NOW - CST


def fine() -> Item:
    """The NFRA horizontal 信息公示表 (anonymised consumer-finance company), as stored."""
    data = json.loads((PENALTY / "nfra-penalty-detail-horizontal.json").read_text("utf-8"))
    found = penalty_from_page(data["data"]["docClob"])
    assert found is not None
    return Item(
        "nfra",
        "docId:1263776",
        "国家金融监督管理总局赣州监管分局行政处罚信息公开表",
        "https://example.cn/nfra/1263776.html",
        published=MIDNIGHT - timedelta(hours=10),
        penalty=found.to_export_dict(),
    )


def rules_with_files() -> Item:
    files = (
        ItemAttachment(
            "小额贷款公司监督管理暂行办法.pdf",
            "https://example.cn/pboc/files/1.pdf",
            "pdf",
            120_000,
            "ok",
            "",
            "第一条 为加强小额贷款公司监督管理，规范小额贷款公司经营行为……",
        ),
        ItemAttachment(
            "附件2：新旧条文对照表.wps",
            "https://example.cn/pboc/files/2.wps",
            "wps",
            40_000,
            "skipped",
            "text not extracted: WPS Writer (.wps) is not read",
        ),
    )
    return Item(
        "pboc",
        "2026-88",
        "中国人民银行 国家金融监督管理总局关于小额贷款公司跨省经营的通知",
        "https://example.cn/pboc/2026-88.html",
        published=MIDNIGHT - timedelta(hours=4),
        attachments=files,
    )


def digest(tmp_path: Path, language: str) -> EmailMessage:
    config = make_config(tmp_path, language=language, sources=REAL_SOURCES)
    store: Store = database(config)
    rules = Classifier.from_file(ROOT / "rules.toml")
    by_id = {s.id: s for s in REAL_SOURCES}

    def classify(item: Item) -> object:
        source = by_id[item.source_id]
        fields = classify_fields(
            item.title, item.summary, item.body, item.penalty, item.attachments
        )
        return rules.classify(*fields, issuer=source.issuer, authority=source.authority)

    store.save_classified([fine(), rules_with_files()], classify)  # type: ignore[arg-type]
    store.db.execute("UPDATE items SET first_seen = ?", [(NOW - timedelta(hours=2)).isoformat()])
    for source in REAL_SOURCES:
        ok_source(store, source.id, NOW - timedelta(hours=1))
    report = send_digest(store, config, now=NOW, dry_run=True)
    store.close()
    return parse(next(p for p in report.paths if p.suffix == ".eml"))


@pytest.mark.parametrize("language", ["zh", "en"])
def test_digest_shows_the_penalty_and_the_files(tmp_path: Path, language: str) -> None:
    text, html = parts(digest(tmp_path, language))
    check_golden(f"digest_enforcement_{language}.txt", text)
    check_golden(f"digest_enforcement_{language}.html", html)
    if language == "zh":
        assert (
            "处罚：某消费金融有限公司赣州分公司等3个当事人 · 罚没合计40万元"
            " · 国家金融监督管理总局赣州监管分局"
        ) in text
        assert "附件：小额贷款公司监督管理暂行办法.pdf https://example.cn/pboc/files/1.pdf" in text
        assert (
            "附件：附件2：新旧条文对照表.wps（未读取） https://example.cn/pboc/files/2.wps" in text
        )
    else:
        assert "Penalty: 某消费金融有限公司赣州分公司 and 2 others" in text
        assert "fines and confiscations CNY 400,000" in text
    assert '<a href="https://example.cn/pboc/files/1.pdf"' in html
