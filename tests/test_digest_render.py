"""Rendering: golden text and HTML, hostile item text, ordering, clustering, snippets.

Goldens live in tests/data/digest/; regenerate with ``LENDWATCH_UPDATE_GOLDEN=1 pytest``
after checking the change by eye (``scripts/render_preview.py`` renders the HTML to a PNG).
"""

from __future__ import annotations

import email
import email.policy
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from pipeline.digest import send_alerts, send_digest
from pipeline.digest.cluster import cluster, doc_key
from pipeline.digest.text import clean, safe_url
from tests.support.digest_fixtures import (
    NOW,
    add_item,
    database,
    fail_source,
    make_config,
    ok_source,
    sample_items,
)
from tests.support.golden import check_golden, normalized_headers, parse, parts


def sample_digest(tmp_path: Path, language: str) -> EmailMessage:
    config = make_config(tmp_path, language=language)
    store = database(config)
    sample_items(store)
    for sid in ("nfra", "nifa", "sina", "yicai"):
        ok_source(store, sid, NOW - timedelta(hours=1))
    reason = "anti-bot challenge page (请开启JavaScript)"
    fail_source(store, "pboc", "blocked", reason, 3, NOW - timedelta(days=2))
    report = send_digest(store, config, now=NOW, dry_run=True)
    store.close()
    eml = next(p for p in report.paths if p.suffix == ".eml")
    return parse(eml)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_digest_matches_golden(tmp_path: Path, language: str) -> None:
    msg = sample_digest(tmp_path, language)
    text, html = parts(msg)
    check_golden(f"digest_{language}.headers", normalized_headers(msg))
    check_golden(f"digest_{language}.txt", text)
    check_golden(f"digest_{language}.html", html)


def test_digest_structure(tmp_path: Path) -> None:
    msg = sample_digest(tmp_path, "zh")
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in msg.iter_parts())
    # the counts name the sections (重要 / 关注 / 一般), in the subject and the header alike
    assert msg["Subject"] == "【借贷监测】11月28日：重要2条，关注2条，一般1条，1个数据源异常"
    assert msg["Date"] == "Sat, 28 Nov 2026 00:00:00 +0000"
    text, html = parts(msg)
    assert text.splitlines()[1] == "重要 2 条 · 关注 2 条 · 一般 1 条"
    assert "==== 重要（2） ====" in text and "==== 关注（2） ====" in text
    assert "==== 一般（1） ====" in text
    # high first, then by topic; the reprint folded into the regulator's entry
    order = [text.index(t) for t in ("借呗暂停", "网络小额贷款业务管理", "消费贷利率", "征信修复")]
    assert order == sorted(order)
    assert "金融监管总局印发" not in text and "另见：新浪财经" in text
    assert text.count("金规〔2026〕12号") == 1 and "金规[2026]12号" not in text
    assert "「网络小额贷款」" in text  # matched terms marked in the snippet
    # the reason is built from the verdict's matches and authority, not its explanation lines
    assert "原因：命中「网络小额贷款」+「联合贷款」 · 国家金融监督管理总局" in text
    assert "监管机构发布网络小贷新规" not in text
    assert "发布：2026-11-27 10:00" in text  # Beijing time
    assert "发现（来源未给发布时间）：2026-11-28 05:00" in text  # never a fake publish time
    assert "中国人民银行 [pboc]：被拦截" in text
    # e-mail-safe HTML: tables, inline styles, nothing external
    assert "<table" in html and "<style" not in html and "<script" not in html
    assert "<link" not in html and "@import" not in html and "url(" not in html
    assert 'href="https://example.cn/nfra/2026-12.html"' in html
    assert 'font-weight:bold;">网络小额贷款</span>' in html


def test_digest_in_english_has_english_labels(tmp_path: Path) -> None:
    msg = sample_digest(tmp_path, "en")
    subject = "[Lending watch] 28 Nov: 2 important, 2 notable, 1 other, 1 source(s) failing"
    # 78+ characters: the email package folds the whole value onto a continuation line, and
    # its parser keeps the fold's space (mail clients drop it)
    assert msg["Subject"].strip() == subject
    text, _ = parts(msg)
    assert text.splitlines()[1] == "2 important · 2 notable · 1 other"
    assert "Why: " in text and "Also reported by: 新浪财经" in text
    assert "Published: 2026-11-27 10:00" in text and "Beijing time" in text


HOSTILE = (
    '<script>alert(1)</script>"><img src=x onerror=alert(2)>\r\n'
    "Bcc: victim@example.com\r\n\r\nbody" + "长" * 5000
)


def test_hostile_item_text_is_escaped_and_truncated(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    store = database(config)
    add_item(
        store,
        "sina",
        "evil",
        HOSTILE,
        severity="high",
        topics=("<b>topic</b>",),
        summary='正文 <iframe src="https://evil.example/"></iframe> 助贷' + "\n" * 3 + "x" * 9000,
        url="javascript:alert(document.cookie)",
        explanation=("<svg onload=alert(3)>",),
        authority="<svg onload=alert(3)>",
        terms=("助贷",),
    )
    add_item(store, "yicai", "ok", "正常标题", severity="low", url='https://ok.example/a?b=1&c="2"')
    report = send_digest(store, config, now=NOW, dry_run=True)
    raw = next(p for p in report.paths if p.suffix == ".eml").read_bytes()
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    assert msg["Bcc"] is None and b"\nBcc:" not in raw
    text, html = parts(msg)
    for needle in ("<script", "<img", "<iframe", "<svg", "<b>topic", "javascript:"):
        assert needle not in html, needle
    assert "&lt;script&gt;" in html and "&lt;svg onload=alert(3)&gt;" in html
    assert 'href="https://ok.example/a?b=1&amp;c=&#34;2&#34;"' in html
    title_line = next(line for line in text.splitlines() if "alert(1)" in line)
    assert len(title_line) < 200 and title_line.endswith("…")
    assert "Bcc: victim@example.com body" in title_line  # CR/LF became spaces
    assert max(len(line) for line in text.splitlines()) < 400
    assert len(html) < 20_000
    # the alert subject carries the title: one line, cut short
    send_alerts(store, config, now=NOW)
    alert = next(config.settings.outbox_dir.glob("alert-*.eml"))
    amsg = parse(alert)
    subject = str(amsg["Subject"])
    assert "\n" not in subject and "\r" not in subject and len(subject) < 100
    assert amsg["Bcc"] is None
    store.close()


def test_clean_and_safe_url() -> None:
    assert clean("a\r\nb\tc\u2028d\u202eе", 100) == "a b c dе"
    assert clean("x" * 10, 5) == "xxxx…"
    assert safe_url("javascript:alert(1)") is None
    assert safe_url(" https://a.example/x\n") == "https://a.example/x"
    assert safe_url("data:text/html,hi") is None
    assert safe_url("//no-scheme.example/") is None


def test_doc_number_spellings_are_one_number() -> None:
    spellings = ("银发〔2024〕12号", "银发[2024]12号", "银发【2024】12号", "银发（2024）12号")
    assert len({doc_key(s) for s in spellings}) == 1


def test_clustering_reprints_and_separating_different_numbers(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    store = database(config)
    same = "中国人民银行关于加强个人征信业务管理的通知"
    add_item(store, "sina", "1", f"转载：{same}", severity="medium", summary="全文如下")
    add_item(store, "pboc", "2", same, severity="high", summary="为规范征信业务")
    add_item(store, "yicai", "3", f"【快讯】{same}", severity="medium", summary="央行发布")
    # same wording, different document numbers: two different notices
    add_item(
        store, "nfra", "4", "关于公布第一批网络小贷名单的公告", doc_numbers=("公告〔2026〕1号",)
    )
    add_item(
        store, "nfra", "5", "关于公布第二批网络小贷名单的公告", doc_numbers=("公告〔2026〕2号",)
    )
    # different title, same document number: one story
    add_item(store, "nifa", "6", "协会解读：第二批名单发布", doc_numbers=("公告[2026]2号",))
    add_item(store, "yicai", "7", "借呗暂停新增授信", severity="high")
    items = list(store.iter_items())
    authority = {s.id: s.authority for s in config.sources}
    stories = cluster(items, lambda sid: authority[sid])
    groups = sorted(sorted(i.guid for i in s.items) for s in stories)
    assert groups == [["1", "2", "3"], ["4"], ["5", "6"], ["7"]]
    reprinted = next(s for s in stories if len(s.items) == 3)
    assert reprinted.lead.source_id == "pboc"  # regulator before media
    numbered = next(s for s in stories if len(s.items) == 2)
    assert numbered.lead.source_id == "nfra"  # regulator before association
    store.close()


def test_carry_over_beyond_max_items(tmp_path: Path) -> None:
    config = make_config(tmp_path, max_items=2)
    store = database(config)
    for n in range(4):
        title = f"第{n}条完全不同的标题内容{'甲乙丙丁'[n] * 6}"
        add_item(store, "sina", f"m{n}", title, severity="low")
    report = send_digest(store, config, now=NOW)
    assert report.stories == 2 and report.written == 1
    text, _ = parts(parse(report.paths[0]))
    assert "另有 2 条将在下一期列出" in text
    again = send_digest(store, config, now=NOW + timedelta(days=1))
    assert again.stories == 2
    store.close()


def test_alert_matches_golden(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    store = database(config)
    sample_items(store)
    fail_source(
        store, "pboc", "blocked", "WZWS challenge (请开启JavaScript)", 2, NOW - timedelta(hours=3)
    )
    report = send_alerts(store, config, now=NOW)
    store.close()
    assert (report.written, report.stories, report.events) == (1, 2, 1)
    msg = parse(report.paths[0])
    text, html = parts(msg)
    check_golden("alert_zh.headers", normalized_headers(msg))
    check_golden("alert_zh.txt", text)
    check_golden("alert_zh.html", html)
