"""Pure parsing from files: every failure class becomes a precise health verdict."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.errors import BlockedError
from pipeline.fetch.detail import body_text
from pipeline.fetch.parse import parse, result
from pipeline.models import Fetched, Item, Source
from tests.support.shipped import SOURCES

FIXTURES = Path(__file__).parent / "fixtures" / "sources"


def fetched(
    name: str, source: Source, content_type: str = "text/html", status: int = 200
) -> Fetched:
    return Fetched(
        source_id=source.id,
        url=source.url,
        status=status,
        headers={"content-type": content_type},
        content=(FIXTURES / name).read_bytes(),
        fetched_at=datetime(2026, 7, 28, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    ("fixture", "source_id", "content_type", "status", "verdict", "reason"),
    [
        ("bad-pboc-wzws.html", "pboc-news", "text/html", 200, "blocked", "WZWS 请开启JavaScript"),
        ("bad-412-cookie.html", "pboc-news", "text/html", 412, "blocked", "HTTP 412 cookie page"),
        (
            "bad-empty-list.html",
            "pboc-news",
            "text/html",
            200,
            "layout-changed",
            "0 items (min_items=1)",
        ),
        ("bad-angular-shell.html", "safe-news", "text/html", 200, "layout-changed", "Angular"),
        (
            "bad-html-not-rss.html",
            "fca-news",
            "text/html",
            200,
            "layout-changed",
            "expected RSS, got HTML",
        ),
        (
            "bad-html-not-rss.html",
            "nfra-915",
            "text/html",
            200,
            "layout-changed",
            "expected JSON, got HTML",
        ),
        (
            "bad-nfra-error.json",
            "nfra-915",
            "application/json",
            200,
            "error",
            "rptCode 500: 系统错误",
        ),
        ("bad-gov-nohits.json", "gov-policy", "application/json", 200, "error", "code 1001: 抱歉"),
        ("pboc-news.html", "pboc-news", "text/html", 404, "error", "HTTP 404"),
        ("bad-pboc-wzws.html", "pboc-news", "text/html", 503, "blocked", "WZWS"),
    ],
)
def test_failure_verdicts(
    fixture: str, source_id: str, content_type: str, status: int, verdict: str, reason: str
) -> None:
    source = SOURCES[source_id]
    res = result(fetched(fixture, source, content_type, status), source)
    assert res.status == verdict
    assert reason in res.reason
    assert res.items == () and res.etag is None


def test_partial_breakage_is_caught_by_count_marker() -> None:
    source = SOURCES["pboc-news"]
    page = (FIXTURES / "pboc-news.html").read_bytes()
    broken = page.replace(b'<font class="newslist_style"', b'<font class="newslist_new"', 1)
    res = result(replace(fetched("pboc-news.html", source), content=broken), source)
    assert res.status == "layout-changed"
    assert res.reason == "parsed 12 rows but the page has 13 'istitle=\"true\"' markers"


def test_pboc_title_comes_from_the_title_attribute_not_the_cut_text() -> None:
    items = parse(fetched("pboc-news.html", SOURCES["pboc-news"]), SOURCES["pboc-news"])
    assert not any(i.title.endswith("...") for i in items)
    assert items[0].title.endswith("侵害消费者合法权益的通报》")
    assert items[0].published_raw == "2020-10-22"
    assert items[0].published == datetime(2020, 10, 21, 16, 0, tzinfo=UTC)  # Beijing midnight


def test_gbk_page_without_a_charset_header() -> None:
    source = SOURCES["safe-news"]
    items = parse(fetched("bad-gbk-page.html", source, "text/html"), source)
    assert [i.title for i in items] == [
        "关于规范网络小额贷款业务的通知",
        "䶮字与€符号在GB18030中可编码",
    ]


def test_mislabelled_page_header_says_utf8_body_is_gbk() -> None:
    source = SOURCES["safe-news"]
    items = parse(fetched("bad-mislabelled.html", source, "text/html; charset=utf-8"), source)
    assert items[0].title == "消费金融公司监管评级办法"
    assert items[0].published == datetime(2026, 7, 3, 2, 30, tzinfo=UTC)
    assert items[0].published_raw == "2026年7月3日 10:30"


def test_broken_feed_goes_through_feedparser_and_warns_on_a_bad_date() -> None:
    source = SOURCES["fca-news"]
    res = result(fetched("bad-broken-feed.xml", source, "application/rss+xml"), source)
    assert res.status == "ok"
    assert [i.title for i in res.items] == ["Fees & charges: new BNPL rules", "Second item"]
    assert res.items[0].url == "https://example.org/a?x=1"  # utm_source stripped
    assert res.items[1].published is None and res.items[1].published_raw == "not a date"
    assert res.warnings == ("unparseable date: 'not a date' for 'Second item'",)


def test_nfra_generic_title_falls_back_and_newlines_collapse() -> None:
    source = SOURCES["nfra-926"]
    items = parse(fetched("nfra-926.json", source, "application/json"), source)
    assert items[1].title == "《商业银行互联网贷款管理暂行办法（修订征求意见稿）》"
    assert (
        items[3].title
        == "国家金融监督管理总局关于加强商业银行互联网助贷业务管理 提升金融服务质效的通知"
    )
    assert items[3].extra["docId"] == "1251304"


def test_not_modified_has_nothing_to_parse() -> None:
    source = SOURCES["fca-news"]
    res = result(replace(fetched("fca-news.xml", source), status=304, not_modified=True), source)
    assert res.status == "ok" and res.not_modified and res.items == ()


def test_min_items_zero_allows_an_empty_list() -> None:
    source = replace(SOURCES["pboc-news"], min_items=0)
    assert result(fetched("bad-empty-list.html", source), source).status == "ok"


def _feed(*entries: tuple[str, str, str | None]) -> bytes:
    items = "".join(
        f"<item><title>{title}</title><link>{link}</link>"
        + (f"<guid isPermaLink='false'>{guid}</guid>" if guid is not None else "")
        + "</item>"
        for title, link, guid in entries
    )
    return f"<?xml version='1.0'?><rss version='2.0'><channel>{items}</channel></rss>".encode()


def _rss_items(content: bytes) -> list[Item]:
    source = SOURCES["fca-news"]
    return parse(replace(fetched("fca-news.xml", source), content=content), source)


def test_an_entry_without_guid_does_not_rekey_the_others() -> None:
    old = [
        ("Rule one", "https://example.org/1", "urn:fca:1"),
        ("Rule two", "https://example.org/2", "urn:fca:2"),
    ]
    before = _rss_items(_feed(*old))
    after = _rss_items(_feed(("New rule", "https://example.org/3?utm_source=x", None), *old))
    assert [i.guid for i in before] == ["urn:fca:1", "urn:fca:2"]
    assert [(i.guid, i.id) for i in after[1:]] == [(i.guid, i.id) for i in before]
    assert after[0].guid == "https://example.org/3"  # no guid: its canonical link


def test_guid_trust_is_decided_per_entry() -> None:
    items = _rss_items(
        _feed(
            ("Placeholder", "https://example.org/p", "null"),
            ("Blank", "https://example.org/b", "  "),
            ("Zero", "https://example.org/z", "0"),
            ("Same guid A", "https://example.org/a", "urn:dup"),
            ("Same guid B", "https://example.org/c", "urn:dup"),
            ("No link, no guid", "", None),
        )
    )
    assert [i.guid for i in items[:3]] == [
        "https://example.org/p",
        "https://example.org/b",
        "https://example.org/z",
    ]
    # a guid reused by another entry of the same feed must not swallow that entry
    assert [i.title for i in items[3:5]] == ["Same guid A", "Same guid B"]
    assert items[3].guid == "urn:dup" and items[4].guid == "https://example.org/c"
    assert items[5].guid.startswith("sha1:")


NOSCRIPT = "<noscript>您的浏览器不支持JavaScript，请开启JavaScript后浏览</noscript>".encode()


def test_a_noscript_hint_on_a_normal_list_page_is_not_a_challenge() -> None:
    source = SOURCES["pboc-news"]
    normal = fetched("pboc-news.html", source)
    noscript = replace(normal, content=normal.content.replace(b"<body>", b"<body>" + NOSCRIPT, 1))
    assert NOSCRIPT in noscript.content
    res = result(noscript, source)
    assert res.status == "ok" and res.reason == ""
    assert res.items == result(normal, source).items and len(res.items) == 13


def test_a_weak_marker_on_a_page_without_items_is_blocked() -> None:
    source = SOURCES["pboc-news"]
    page = b"<html><head><title>x</title></head><body>" + NOSCRIPT + b"</body></html>"
    res = result(replace(fetched("pboc-news.html", source), content=page), source)
    assert (res.status, res.reason) == ("blocked", "anti-bot challenge (请开启JavaScript)")
    rss = SOURCES["fca-news"]  # also when the format check is what fails
    res = result(replace(fetched("fca-news.xml", rss), content=page), rss)
    assert (res.status, res.reason) == ("blocked", "anti-bot challenge (请开启JavaScript)")


def test_strong_markers_block_even_a_page_with_items() -> None:
    source = SOURCES["pboc-news"]
    normal = fetched("pboc-news.html", source)
    marked = normal.content.replace(b"<body>", b'<body><script>var wzwsquestion="x";</script>', 1)
    res = result(replace(normal, content=marked), source)
    assert (res.status, res.reason) == ("blocked", "anti-bot challenge (WZWS)")


def test_detail_page_with_a_noscript_hint_still_gives_its_body() -> None:
    source = SOURCES["pboc-news"]
    page = b"<html><body>" + NOSCRIPT + "<div id='zoom'>正文</div></body></html>".encode()
    assert body_text(replace(fetched("pboc-news.html", source), content=page), source) == "正文"
    empty = b"<html><body>" + NOSCRIPT + b"</body></html>"
    with pytest.raises(BlockedError):
        body_text(replace(fetched("pboc-news.html", source), content=empty), source)


@pytest.mark.parametrize("strip_meta", [False, True])
def test_gbk_page_served_with_a_wrong_latin1_header(strip_meta: bool) -> None:
    source = SOURCES["safe-news"]
    page = fetched("bad-gbk-page.html", source, "text/html; charset=iso-8859-1")
    if strip_meta:
        page = replace(page, content=re.sub(rb"<meta[^>]*>", b"", page.content))
        assert b"charset" not in page.content
    assert [i.title for i in parse(page, source)] == [
        "关于规范网络小额贷款业务的通知",
        "䶮字与€符号在GB18030中可编码",
    ]


def test_yicai_vip_articles_get_the_vip_prefix() -> None:
    source = SOURCES["yicai-headline"]
    items = parse(fetched("yicai-headline.json", source, "application/json"), source)
    links = {i.extra["NewsID"]: i.url for i in items}
    assert links["102811234"] == "https://www.yicai.com/vip/news/102811234.html"  # AppID 0
    assert links["102812345"] == "https://www.yicai.com/news/102812345.html"  # AppID 1
    # AppID 0 with an absolute url: kept as it is, never "/viphttps://…" (RSSHub's rule)
    assert links["102811500"] == "https://www.yicai.com/news/102811500.html"
