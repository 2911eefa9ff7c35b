"""The digest a reader really gets: items classified by the real rules.toml (no hand-made
verdicts), stored in a real SQLite file, rendered in both languages and compared with goldens.

If the classifier's output changes, these goldens change with it: review the diff by eye and
regenerate with ``LENDWATCH_UPDATE_GOLDEN=1``. Whatever the rules say, a reader never sees a
topic id, an explanation line of the classifier, or an excerpt that repeats the title.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import replace
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from pipeline.classify import Classifier
from pipeline.digest import send_digest
from pipeline.digest.labels import TOPICS, topic_label
from pipeline.digest.views import Viewer
from pipeline.models import Item, Match, Verdict
from pipeline.store import Store
from tests.support.digest_fixtures import CST, NOW, SOURCES, database, make_config, ok_source
from tests.support.golden import check_golden, parse, parts

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "rules.toml"
ISSUERS = {"nfra": "nfra", "pboc": "pboc", "nifa": "nifa"}
REAL_SOURCES = tuple(replace(s, issuer=ISSUERS.get(s.id)) for s in SOURCES)
MIDNIGHT = NOW - CST  # 28 Nov, 00:00 Beijing time

# (source, guid, title, summary, hours before midnight; None = undated)
ITEMS = (
    (
        "pboc",
        "2026-41",
        "中国人民银行 国家金融监督管理总局关于规范商业银行互联网贷款业务的通知",
        "为规范商业银行互联网贷款业务，银发〔2026〕41号明确联合贷款出资比例和地域限制。",
        15,
    ),
    ("yicai", "n-6001", "关于暂停借呗新增授信的公告", "", 6),
    (
        "sina",
        "a-9001",
        "某网贷平台暴力催收被立案调查",
        "记者调查发现，该平台委托第三方催收机构，以爆通讯录等方式催收，当地警方已立案。",
        9,
    ),
    (
        "nfra",
        "2026-77",
        "国家金融监督管理总局关于《小额贷款公司监督管理暂行办法（征求意见稿）》公开征求意见的公告",
        "国家金融监督管理总局关于《小额贷款公司监督管理暂行办法（征求意见稿）》公开征求意见的公告",
        20,
    ),
    ("yicai", "n-6002", "花呗上调分期手续费", "花呗上调分期手续费。", None),
    (
        "nifa",
        "gg-401",
        "中国互联网金融协会发布《个人征信业务自律公约》",
        "公约要求会员机构依法采集个人信用信息，不得违规向助贷机构提供征信数据。",
        30,
    ),
    ("sina", "a-9002", "A股三大指数集体收涨", "沪指涨0.8%，成交额放大。", 3),  # not flagged
)


def classified_items(store: Store) -> None:
    classifier = Classifier.from_file(RULES)
    sources = {s.id: s for s in REAL_SOURCES}
    for source_id, guid, title, summary, hours in ITEMS:
        published = None if hours is None else MIDNIGHT - timedelta(hours=hours)
        item = Item(source_id, guid, title, f"https://example.cn/{source_id}/{guid}.html", summary)
        item = replace(item, published=published)
        store.save_items([item], now=NOW - timedelta(hours=2))
        source = sources[source_id]
        verdict = classifier.classify(
            title, summary, issuer=source.issuer, authority=source.authority
        )
        store.save_verdicts([(item.id, verdict)])


def real_digest(tmp_path: Path, language: str) -> EmailMessage:
    config = make_config(tmp_path, language=language, sources=REAL_SOURCES)
    store = database(config)
    classified_items(store)
    for source in REAL_SOURCES:
        ok_source(store, source.id, NOW - timedelta(hours=1))
    report = send_digest(store, config, now=NOW, dry_run=True)
    store.close()
    return parse(next(p for p in report.paths if p.suffix == ".eml"))


@pytest.mark.parametrize("language", ["zh", "en"])
def test_digest_of_real_classifier_output_matches_golden(tmp_path: Path, language: str) -> None:
    text, html = parts(real_digest(tmp_path, language))
    check_golden(f"digest_real_{language}.txt", text)
    check_golden(f"digest_real_{language}.html", html)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_real_digest_shows_labels_and_short_reasons_never_classifier_internals(
    tmp_path: Path, language: str
) -> None:
    text, html = parts(real_digest(tmp_path, language))
    assert text.count("https://example.cn/") == 6  # every flagged item, the market news not
    topic_ids = set(tomllib.loads(RULES.read_text(encoding="utf-8"))["topics"])
    headers = re.findall(r"^▌(.+)$", text, re.M)
    assert headers and not set(headers) & topic_ids
    assert all(h == topic_label(language, t) for h in headers for t in [_id(h, language)])
    reason = "原因：" if language == "zh" else "Why: "
    reasons = [line.strip()[len(reason) :] for line in text.splitlines() if reason in line]
    assert len(reasons) == 6
    for line in reasons:
        assert not re.search(r"flagged|rule|relevance|topic|severity|\[\d+:\d+\]", line), line
        assert not line.endswith("…"), line  # short enough never to be cut
    for needle in ("flagged:", "rule(s)", "relevance"):
        assert needle not in text and needle not in html
    if language == "zh":
        assert "原因：命中「借呗」+「暂停」 · 规范性文件\n" in text
        assert "原因：命中「暴力催收」+「网贷」 · 「立案」\n" in text
        assert "中国人民银行" in next(r for r in reasons if "互联网贷款" in r)
    else:
        assert 'Why: matched "借呗" + "暂停" · normative document\n' in text
    # an excerpt only where it says more than the title
    excerpt = "摘要：" if language == "zh" else "Excerpt: "
    assert text.count(excerpt) == 3
    for title in ("关于暂停借呗新增授信的公告", "花呗上调分期手续费", "小额贷款公司监督管理"):
        block = text[text.index(title) :].split("\n\n")[0]
        assert excerpt not in block, title


def _id(header: str, language: str) -> str:
    return next(k for k in TOPICS if topic_label(language, k) == header)


def test_every_topic_of_the_rules_has_labels_in_both_languages() -> None:
    topic_ids = set(tomllib.loads(RULES.read_text(encoding="utf-8"))["topics"])
    assert topic_ids == set(TOPICS)
    for topic in topic_ids:
        zh, en = topic_label("zh", topic), topic_label("en", topic)
        assert zh != topic and en != topic and re.search(r"[\u4e00-\u9fff]", zh)
        assert not re.search(r"[\u4e00-\u9fff]", en)
    assert topic_label("zh", "no-such-topic") == "no-such-topic"


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("zh", "命中「借呗」+「暂停」 · 规范性文件 · 中国人民银行"),
        ("en", 'matched "借呗" + "暂停" · normative document · PBOC'),
    ],
)
def test_reason_names_document_type_and_action_from_match_kinds(
    tmp_path: Path, language: str, expected: str
) -> None:
    """The classifier reports the document type and action that weighed the severity as matches
    of kinds ``doctype:<key>`` / ``action:<key>``; the reason names them from there, never by
    parsing the explanation's severity line (the action 暂停 is one of the matched terms already,
    so it is not repeated)."""
    config = make_config(tmp_path, language=language)
    store = database(config)
    title = "关于暂停借呗新增授信的公告"
    item = Item("pboc", "x", title, "https://example.cn/x.html")
    store.save_items([item], now=NOW)
    matches = (
        Match("借呗", "title", 4, 6, "platform-change", "platform-change", "products"),
        Match("暂停", "title", 2, 4, "platform-change", "platform-change", "product-events"),
        Match("公告", "title", 11, 13, "", "", "doctype:normative"),
        Match("暂停", "title", 2, 4, "", "", "action:closure"),
    )
    explanation = ("severity: relevance 3 + doctype 2.5 (规范性文件) + action 5 = 10.5",)
    verdict = Verdict(
        True, "high", 10.5, ("platform-change",), matches, explanation, "中国人民银行"
    )
    store.save_verdicts([(item.id, verdict)])
    [stored] = store.iter_items()
    assert Viewer(config).reason(stored) == expected
    store.close()
