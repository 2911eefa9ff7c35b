"""The small pieces under the fetch stage: plain text, secrets, decoding caps, DOCTYPEs,
registrable domains and address classes, routed fragments, the per-entry boundary, options."""

from __future__ import annotations

import gzip
import ipaddress
import zlib
from datetime import UTC, datetime

import pytest

from pipeline.errors import FetchError, LayoutChangedError
from pipeline.fetch import doctype, guard, redact
from pipeline.fetch.builder import Builder
from pipeline.fetch.dates import parse_date
from pipeline.fetch.inflate import Inflater
from pipeline.fetch.items import common_problems
from pipeline.fetch.kind import Document
from pipeline.fetch.text import plain
from pipeline.fetch.urls import canonical, legacy
from pipeline.models import Fetched, Source


@pytest.mark.parametrize(
    ("value", "kind", "expected"),
    [
        ("利率<5%的贷款>1年", "guess", "利率<5%的贷款>1年"),
        ("Loans <5% APR for terms >1 year", "guess", "Loans <5% APR for terms >1 year"),
        ("History of the <blink> tag", "guess", "History of the <blink> tag"),
        ("Lending <b>rates</b> notice", "guess", "Lending rates notice"),
        ("R&amp;D <em>loans</em>", "html", "R&D loans"),
        ("Why the &lt;blink&gt; tag", "html", "Why the <blink> tag"),
        ("<p>第一条</p><p>第二条</p>", "guess", "第一条 第二条"),
        ("<b>A</b>&amp;<i>B</i>", "text", "<b>A</b>&amp;<i>B</i>"),
        ("利率\x00上限", "text", "利率上限"),  # NUL does not cut the title
        ("\x1b[31m红\x1b[0m字\x1b]0;title\x07\x1b]8;;http://x\x1b\\链\x9b2J", "text", "红字链"),
        ("a\tb\r\nc\x0bd\x85e", "text", "a b c d e"),
        ("bad \ud800 surrogate", "text", "bad \ufffd surrogate"),
        ("&#27;[31mred", "html", "[31mred"),  # an escape spelled as an entity
        (None, "text", ""),
    ],
)
def test_plain_text(value: object, kind: str, expected: str) -> None:
    assert plain(value, kind) == expected  # type: ignore[arg-type]


def test_secrets_are_redacted() -> None:
    url = "https://user:pa55@api.example.cn/v1/list?page=2&access_token=abc&sign=xyz&key=k1"
    assert (
        redact.url(url) == "https://api.example.cn/v1/list?page=2&access_token=***&sign=***&key=***"
    )
    text = f"ConnectError: cannot reach {url} (retry)"
    assert redact.text(text) == (
        "ConnectError: cannot reach https://api.example.cn/v1/list?page=2&access_token=***"
        "&sign=***&key=*** (retry)"
    )
    assert redact.text("HTTP 500 after 3 attempts") == "HTTP 500 after 3 attempts"


def test_decoding_is_capped_on_the_decoded_size() -> None:
    plain_body = b"<rss>" + b"x" * 5000 + b"</rss>"
    for coding, body in (
        ("gzip", gzip.compress(plain_body)),
        ("deflate", zlib.compress(plain_body)),
        ("deflate", zlib.compress(plain_body)[2:-4]),  # raw deflate, as some servers send it
        ("", plain_body),
        ("identity", plain_body),
    ):
        inflater = Inflater(coding, 10_000, "s", 200)
        assert inflater.feed(body) + inflater.flush() == plain_body, coding
    bomb = gzip.compress(b"\0" * 5_000_000)
    inflater = Inflater("gzip", 1_000_000, "s", 200)
    with pytest.raises(FetchError, match="exceeds max_bytes 1000000"):
        inflater.feed(bomb)
    assert inflater.size <= 1_000_001  # never more than the cap was inflated
    with pytest.raises(FetchError, match=r"stacked Content-Encoding 'gzip, gzip' refused"):
        Inflater("gzip, gzip", 10_000, "s", 200)
    with pytest.raises(FetchError, match="unsupported Content-Encoding 'br'"):
        Inflater("br", 10_000, "s", 200)


def test_doctype_is_stripped_and_only_simple_entities_expand() -> None:
    feed = (
        '<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY brand "LendCo">\n'
        '<!ENTITY amp2 "&#38;">\n<!ENTITY nested "&brand;&brand;">\n'
        '<!ENTITY ext SYSTEM "file:///etc/passwd">\n]>\n'
        "<rss><title>&brand; &amp2; &nested; &ext;</title>"
        "<![CDATA[&brand;]]><!-- &brand; --></rss>"
    )
    out = doctype.strip(feed, "s")
    assert "DOCTYPE" not in out and "ENTITY" not in out
    assert "<title>LendCo &#38; &nested; &ext;</title>" in out
    assert "<![CDATA[&brand;]]><!-- &brand; -->" in out
    big = '<!DOCTYPE r [<!ENTITY b "' + "x" * 1000 + '">]><r>' + "&b;" * 2000 + "</r>"
    with pytest.raises(LayoutChangedError, match="entity expansion refused"):
        doctype.strip(big, "s", limit=1_000_000)
    assert doctype.strip("<rss><title>no dtd</title></rss>", "s").endswith("no dtd</title></rss>")


def test_registrable_domains_and_address_classes() -> None:
    assert guard.registrable("www.pbc.gov.cn") == "pbc.gov.cn"
    assert guard.registrable("a.b.example.com.cn") == "example.com.cn"
    assert guard.registrable("127.0.0.1") == "127.0.0.1"
    assert guard.registrable("localhost") == "localhost"
    classes = {
        a: guard.address_class(ipaddress.ip_address(a))
        for a in (
            "8.8.8.8",
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "169.254.169.254",
            "169.254.1.1",
            "100.100.100.200",
            "::1",
            "fd00:ec2::254",
            "0.0.0.0",
        )
    }
    assert classes == {
        "8.8.8.8": None,
        "127.0.0.1": "loopback",
        "10.1.2.3": "private",
        "192.168.0.1": "private",
        "169.254.169.254": "cloud metadata",
        "169.254.1.1": "link-local",
        "100.100.100.200": "cloud metadata",
        "::1": "loopback",
        "fd00:ec2::254": "cloud metadata",
        "0.0.0.0": "unspecified",
    }
    own = Source(id="s", name="s", kind="rss", url="https://www.pbc.gov.cn/rss")
    assert guard.redirect_refusal("https://pbc.gov.cn/x", own) is None
    assert guard.redirect_refusal("https://www.nfra.gov.cn/x", own) is not None


def test_routed_fragments_are_kept_others_dropped() -> None:
    assert canonical("https://app.example.cn/#/news/1") == "https://app.example.cn/#/news/1"
    assert canonical("https://app.example.cn/#!/notice/7") == "https://app.example.cn/#!/notice/7"
    assert canonical("https://news.example.cn/e/1.html#top") == "https://news.example.cn/e/1.html"
    assert legacy("https://app.example.cn/#/news/1") == "https://app.example.cn/"


def _doc(**options: object) -> Document:
    source = Source(id="s", name="s", kind="rss", url="https://s.example.cn/", options=options)
    fetched = Fetched("s", source.url, 200, {}, b"", datetime(2026, 12, 3, tzinfo=UTC))
    return Document(fetched, source, "", "utf-8")


def test_one_entry_that_raises_is_skipped_and_counted() -> None:
    builder = Builder(_doc())
    for n in range(3):
        with builder.entry(n):
            if n == 1:
                raise RecursionError("maximum recursion depth exceeded")
            builder.add(title=f"第{n}条", link=f"https://s.example.cn/{n}")
    builder.add(title="长" * 5000, link="https://s.example.cn/long")
    page = builder.finish()
    assert [i.title[:3] for i in page.items] == ["第0条", "第2条", "长长长"]
    assert len(page.items[2].title) == 1000
    assert page.warnings == (
        "entry skipped: entry 1: RecursionError: maximum recursion depth exceeded",
        "title longer than 1000 characters cut: '" + "长" * 40 + "'",
    )


def test_cst_follows_the_source() -> None:
    raw = "Thu, 01 Jan 2004 19:48:21 CST"
    china = datetime(2004, 1, 1, 11, 48, 21, tzinfo=UTC)
    us = datetime(2004, 1, 2, 1, 48, 21, tzinfo=UTC)
    assert parse_date(raw, "Asia/Shanghai") == china
    assert parse_date(raw, "America/Chicago") == us
    assert parse_date(raw, "Europe/London", cst="china") == china
    assert parse_date(raw, "Asia/Shanghai", cst="us") == us
    assert parse_date("北京时间 2024年5月20日 10:00", "America/New_York") == datetime(
        2024, 5, 20, 2, 0, tzinfo=UTC
    )
    builder = Builder(_doc(cst="us"))
    item = builder.add(title="t", link=None, date=raw)
    assert item is not None and item.published == us


def test_new_options_are_validated() -> None:
    assert common_problems({"cst": "china", "redirect_hosts": ["pbc.gov.cn"]}) == []
    assert common_problems({"cst": "beijing"}) == ["cst: expected one of china, us, got 'beijing'"]
    assert common_problems({"redirect_hosts": ["https://x.example.cn/"]}) == [
        "redirect_hosts: expected a list of host names, e.g. ['www.pbc.gov.cn']"
    ]
