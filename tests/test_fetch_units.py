"""Dates, charsets, URLs and kind option validation."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import formatdate
from pathlib import Path

import pytest

from pipeline.config import load_config
from pipeline.errors import ConfigError
from pipeline.fetch.charset import decode
from pipeline.fetch.dates import parse_date
from pipeline.fetch.http import retry_after
from pipeline.fetch.urls import canonical

NOW = datetime(2026, 7, 28, 4, 0, tzinfo=UTC)  # 12:00 in Beijing


@pytest.mark.parametrize(
    ("raw", "tz", "expected"),
    [
        ("2026-07-27", "Asia/Shanghai", datetime(2026, 7, 26, 16, 0, tzinfo=UTC)),
        ("2026.07.27", "Asia/Shanghai", datetime(2026, 7, 26, 16, 0, tzinfo=UTC)),
        ("2026年7月27日 15:30", "Asia/Shanghai", datetime(2026, 7, 27, 7, 30, tzinfo=UTC)),
        ("2026-07-27-15:30:05", "Asia/Shanghai", datetime(2026, 7, 27, 7, 30, 5, tzinfo=UTC)),
        ("2026-07-27 15:30:05", "Asia/Shanghai", datetime(2026, 7, 27, 7, 30, 5, tzinfo=UTC)),
        (
            "Monday, July 27, 2026 - 15:30",
            "Europe/London",
            datetime(2026, 7, 27, 14, 30, tzinfo=UTC),
        ),
        (
            "Monday, January 5, 2026 - 15:30",
            "Europe/London",
            datetime(2026, 1, 5, 15, 30, tzinfo=UTC),
        ),
        (
            "Mon, 27 Jul 2026 15:30:00 GMT",
            "Asia/Shanghai",
            datetime(2026, 7, 27, 15, 30, tzinfo=UTC),
        ),
        (  # RFC 2822 "-0000": UTC without a statement about the local zone (formatdate())
            "Mon, 27 Jul 2026 15:30:00 -0000",
            "America/New_York",
            datetime(2026, 7, 27, 15, 30, tzinfo=UTC),
        ),
        (  # no zone at all: the source's own time
            "Mon, 27 Jul 2026 15:30:00",
            "America/New_York",
            datetime(2026, 7, 27, 19, 30, tzinfo=UTC),
        ),
        (
            "Mon, 27 Jul 2026 15:30:00 +0000",
            "America/New_York",
            datetime(2026, 7, 27, 15, 30, tzinfo=UTC),
        ),
        ("2026-07-27T15:30:00+08:00", "Europe/London", datetime(2026, 7, 27, 7, 30, tzinfo=UTC)),
        ("1785146400", "Asia/Shanghai", datetime(2026, 7, 27, 10, 0, tzinfo=UTC)),
        ("1785146400000", "Asia/Shanghai", datetime(2026, 7, 27, 10, 0, tzinfo=UTC)),
        (1785146400, "Asia/Shanghai", datetime(2026, 7, 27, 10, 0, tzinfo=UTC)),
        ("1小时前", "Asia/Shanghai", datetime(2026, 7, 28, 3, 0, tzinfo=UTC)),
        ("5分钟前", "Asia/Shanghai", datetime(2026, 7, 28, 3, 55, tzinfo=UTC)),
        ("昨天", "Asia/Shanghai", datetime(2026, 7, 26, 16, 0, tzinfo=UTC)),
        ("昨天 21:05", "Asia/Shanghai", datetime(2026, 7, 27, 13, 5, tzinfo=UTC)),
        ("前天 08:30", "Asia/Shanghai", datetime(2026, 7, 26, 0, 30, tzinfo=UTC)),
        ("刚刚", "Asia/Shanghai", NOW),
        ("not a date", "Asia/Shanghai", None),
        ("2026-02-30", "Asia/Shanghai", None),
        ("", "Asia/Shanghai", None),
    ],
)
def test_parse_date(raw: object, tz: str, expected: datetime | None) -> None:
    assert parse_date(raw, tz, now=NOW) == expected


def test_formatdate_output_is_utc() -> None:
    stamp = datetime(2026, 7, 27, 15, 30, tzinfo=UTC)
    raw = formatdate(stamp.timestamp())  # 'Mon, 27 Jul 2026 15:30:00 -0000'
    assert raw.endswith("-0000")
    assert parse_date(raw, "America/New_York") == stamp


def test_parse_date_with_a_source_format() -> None:
    got = parse_date("27/07/2026 15h30", "Asia/Shanghai", "%d/%m/%Y %Hh%M")
    assert got == datetime(2026, 7, 27, 7, 30, tzinfo=UTC)
    assert parse_date("garbage", "Asia/Shanghai", "%d/%m/%Y") is None


def test_charset_order_and_gbk_family() -> None:
    text = "网络小额贷款"
    assert decode(text.encode("gbk"), "text/html; charset=GB2312") == (text, "gb18030")
    meta = f'<meta charset="gbk"><p>{text}</p>'.encode("gbk")
    assert decode(meta, "text/html; charset=utf-8")[0].endswith(f"{text}</p>")
    xml = f'<?xml version="1.0" encoding="gb2312"?><rss>{text}</rss>'.encode("gb18030")
    assert decode(xml, None)[1] == "gb18030"
    latin_default = f'<meta charset="gbk"><p>{text}</p>'.encode("gbk")
    assert text in decode(latin_default, "text/html; charset=ISO-8859-1")[0]
    assert decode("é".encode(), "text/html; charset=gbk") == ("é", "utf-8")
    assert decode(b"\xef\xbb\xbfabc", None) == ("abc", "utf-8")


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        (
            "//www.csrc.gov.cn/csrc/c100028/c1/content.shtml",
            "https://www.csrc.gov.cn/searchList/x",
            "https://www.csrc.gov.cn/csrc/c100028/c1/content.shtml",
        ),
        (
            "/safe/2026/0220/1.html",
            "https://www.safe.gov.cn/safe/whxw/index.html",
            "https://www.safe.gov.cn/safe/2026/0220/1.html",
        ),
        (
            "HTTPS://WWW.Example.COM:443/a?utm_source=x&id=3&spm=a.b#frag",
            None,
            "https://www.example.com/a?id=3",
        ),
        ("http://example.com:8080", None, "http://example.com:8080/"),
        ("javascript:void(0)", None, None),
        ("mailto:a@example.com", None, None),
    ],
)
def test_canonical(url: str, base: str | None, expected: str | None) -> None:
    assert canonical(url, base) == expected


def test_canonical_https_upgrade() -> None:
    assert canonical("http://finance.sina.com.cn/a.shtml", https=True) == (
        "https://finance.sina.com.cn/a.shtml"
    )


def test_retry_after_forms() -> None:
    assert retry_after("7") == 7.0
    assert retry_after("Tue, 28 Jul 2026 04:00:30 GMT", now=NOW) == 30.0
    assert retry_after("soon") is None and retry_after(None) is None


def test_broken_source_options_are_reported_with_source_and_key(tmp_path: Path) -> None:
    cfg = tmp_path / "sources.toml"
    cfg.write_text(
        """
[[sources]]
id = "bad-html"
name = "x"
kind = "html"
url = "https://example.org/"
item = "li:::nope"
title = "a[title"
link_pattern = "(unclosed"
detail = "#zoom"
detail_hosts = ["https://www.pbc.gov.cn/"]

[[sources]]
id = "bad-json"
name = "y"
kind = "json"
url = "https://example.org/api"
items = "data"
date_unit = "minutes"
link_template = "https://example.org/{docId"
link_rules = [
  { field = "AppID", equals = 0, template = "/vip{url" },
  { field = "AppID", equals = 1 },
]

[[sources]]
id = "no-items"
name = "z"
kind = "json"
url = "https://example.org/api"
title = "t"
link = "u"
""",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as err:
        load_config(cfg)
    text = "\n".join(err.value.problems)
    assert "source 'bad-html': item: invalid CSS selector 'li:::nope'" in text
    assert "source 'bad-html': title: invalid CSS selector 'a[title'" in text
    assert "source 'bad-html': link_pattern: invalid regex" in text
    assert "source 'bad-html': detail_hosts: expected a list of host names" in text
    assert "source 'bad-json': date_unit: expected 's' or 'ms'" in text
    assert "source 'bad-json': link_template: bad template" in text
    assert "source 'bad-json': link_rules[0].template: bad template '/vip{url'" in text
    assert "source 'bad-json': link_rules[1]: expected { field = ..., equals = ..." in text
    assert "source 'bad-json'.title: missing required key for kind 'json'" in text
    assert "source 'no-items'.items: missing required key for kind 'json'" in text


def test_shipped_sources_load_and_cover_the_issue() -> None:
    config = load_config(Path(__file__).resolve().parent.parent / "sources.toml")
    ids = {s.id for s in config.sources}
    assert {"nfra-915", "nfra-926", "nfra-4113", "nfra-4114", "nfra-4115", "nfra-4097"} <= ids
    assert {"csrc-news", "gov-policy", "pboc-penalty", "pboc-zwgk-normative"} <= ids
    assert {"pboc-news", "pboc-normative", "safe-news", "cac-news", "nifa-news"} <= ids
    assert {"kr36", "yicai-headline", "sina-finance", "jiemian-finance", "eeo-kuaixun"} <= ids
    assert {"cfpb-newsroom", "fca-news", "fed-press", "finextra-headlines"} <= ids
    assert config.email is None and config.digest.at == "08:00"
    for s in config.sources:
        assert s.authority in ("regulator", "association", "media")
        assert s.authority == "media" or s.issuer
    assert config.source("fca-news").timezone == "Europe/London"


def test_a_latin1_header_does_not_garble_a_gbk_page() -> None:
    text = "关于规范网络小额贷款业务的通知"
    bare = f"<html><body><p>{text}</p></body></html>".encode("gbk")  # no meta charset
    for header in ("text/html; charset=iso-8859-1", "text/html; charset=ISO-8859-1"):
        assert decode(bare, header) == (f"<html><body><p>{text}</p></body></html>", "gb18030")
    assert decode(bare, "text/html; charset=us-ascii")[1] == "gb18030"
    latin = "<p>Crédit à la consommation, façade</p>".encode("latin-1")
    assert decode(latin, "text/html; charset=iso-8859-1") == (latin.decode("latin-1"), "iso8859-1")
