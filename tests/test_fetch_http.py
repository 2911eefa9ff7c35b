"""fetch_all / fetch_details against a real loopback server with injected faults."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from pipeline.config import Settings
from pipeline.fetch.http import (
    Conditional,
    Policy,
    fetch_details_sync,
    fetch_sources,
    policy_for,
)
from pipeline.models import Item, Source
from tests.support.httpserver import HTTPTestServer, Route
from tests.support.shipped import SOURCES

FIXTURES = Path(__file__).parent / "fixtures" / "sources"
FAST = Policy(backoff=0.01, max_retry_after=5)
SETTINGS = Settings(data_dir=Path("unused"), concurrency=8, per_host=2)
RSS = "application/rss+xml; charset=utf-8"


def rss_source(url: str, **kw: object) -> Source:
    return replace(SOURCES["fca-news"], id=str(kw.pop("id", "fca-news")), url=url, **kw)  # type: ignore[arg-type]


def fca_route(**kw: object) -> Route:
    return Route.file(FIXTURES / "fca-news.xml", content_type=RSS, **kw)


def send(h: BaseHTTPRequestHandler, status: int, body: bytes, **headers: str) -> None:
    h.send_response(status)
    for k, v in headers.items():
        h.send_header(k.replace("_", "-"), v)
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)


def flaky(
    failures: int, status: int = 503, **headers: str
) -> Callable[[BaseHTTPRequestHandler], None]:
    calls = {"n": 0}
    body = (FIXTURES / "fca-news.xml").read_bytes()

    def handler(h: BaseHTTPRequestHandler) -> None:
        calls["n"] += 1
        if calls["n"] <= failures:
            send(h, status, b"busy", Content_Type="text/plain", **headers)
        else:
            send(h, 200, body, Content_Type=RSS)

    return handler


def test_conditional_get_and_validators(http_server: HTTPTestServer) -> None:
    http_server.routes["/rss"] = fca_route(
        etag='"v1"', last_modified="Mon, 27 Jul 2026 10:00:00 GMT"
    )
    src = rss_source(http_server.url("/rss"))
    [first] = fetch_sources([src], {}, SETTINGS, policy=FAST)
    assert first.status == "ok" and len(first.items) == 12 and first.http_status == 200
    assert first.etag == '"v1"' and first.last_modified == "Mon, 27 Jul 2026 10:00:00 GMT"
    cond = {src.id: Conditional(first.etag, first.last_modified)}
    [second] = fetch_sources([src], cond, SETTINGS, policy=FAST)
    assert second.status == "ok" and second.not_modified and second.http_status == 304
    assert second.items == () and second.etag == '"v1"'
    assert http_server.requests[-1].headers["If-None-Match"] == '"v1"'
    assert http_server.requests[-1].headers["If-Modified-Since"] == first.last_modified


def test_transient_503_is_retried_then_succeeds(http_server: HTTPTestServer) -> None:
    http_server.routes["/rss"] = Route(handler=flaky(2))
    [res] = fetch_sources([rss_source(http_server.url("/rss"))], {}, SETTINGS, policy=FAST)
    assert res.status == "ok" and len(res.items) == 12
    assert len(http_server.hits("/rss")) == 3


def test_persistent_503_is_an_error_after_all_attempts(http_server: HTTPTestServer) -> None:
    http_server.routes["/rss"] = Route(status=503, body=b"down", content_type="text/plain")
    [res] = fetch_sources([rss_source(http_server.url("/rss"))], {}, SETTINGS, policy=FAST)
    assert (res.status, res.reason, res.http_status) == ("error", "HTTP 503 after 3 attempts", 503)
    assert len(http_server.hits("/rss")) == 3


def test_429_honours_retry_after_and_gives_up_when_too_long(http_server: HTTPTestServer) -> None:
    http_server.routes["/ok"] = Route(handler=flaky(1, 429, Retry_After="0"))
    http_server.routes["/long"] = Route(status=429, headers={"Retry-After": "3600"})
    a = rss_source(http_server.url("/ok"), id="a")
    b = rss_source(http_server.url("/long"), id="b")
    ra, rb = fetch_sources([a, b], {}, SETTINGS, policy=FAST)
    assert ra.status == "ok" and len(http_server.hits("/ok")) == 2
    assert (rb.status, rb.reason) == ("error", "HTTP 429 after 1 attempts")
    assert len(http_server.hits("/long")) == 1


def test_size_cap_by_header_and_while_streaming(http_server: HTTPTestServer) -> None:
    body = (FIXTURES / "fca-news.xml").read_bytes()

    def no_length(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", RSS)
        h.send_header("Connection", "close")
        h.end_headers()
        h.wfile.write(body)
        h.close_connection = True

    http_server.routes["/rss"] = fca_route()
    http_server.routes["/stream"] = Route(handler=no_length)
    a = rss_source(http_server.url("/rss"), id="a", max_bytes=1000)
    b = rss_source(http_server.url("/stream"), id="b", max_bytes=1000)
    c = rss_source(http_server.url("/stream"), id="c")
    ra, rb, rc = fetch_sources([a, b, c], {}, SETTINGS, policy=FAST)
    assert (ra.status, ra.reason) == (
        "error",
        "response exceeds max_bytes 1000 (Content-Length 5683)",
    )
    assert (rb.status, rb.reason) == ("error", "response exceeds max_bytes 1000")
    assert rc.status == "ok" and len(rc.items) == 12


def test_truncated_body_and_timeouts_are_transient(http_server: HTTPTestServer) -> None:
    http_server.routes["/cut"] = fca_route(truncate_to=100)
    http_server.routes["/slow"] = fca_route(delay=1.0)
    a = rss_source(http_server.url("/cut"), id="a")
    b = rss_source(http_server.url("/slow"), id="b", timeout_seconds=0.2)
    ra, rb = fetch_sources([a, b], {}, SETTINGS, policy=replace(FAST, attempts=2))
    assert ra.status == "error" and ra.reason.endswith("after 2 attempts")
    assert "RemoteProtocolError" in ra.reason
    assert (rb.status, rb.reason) == (
        "error",
        "timed out after 0.2s reading the response after 2 attempts",
    )
    assert len(http_server.hits("/cut")) == 2


def test_redirects_are_followed_bounded_and_http_only(http_server: HTTPTestServer) -> None:
    def redirect(to: str) -> Route:
        return Route(status=302, headers={"Location": to})

    http_server.routes["/old"] = redirect("/safe/whxw/index.html")
    http_server.routes["/safe/whxw/index.html"] = Route.file(FIXTURES / "safe-news.html")
    http_server.routes["/loop"] = redirect("/loop")
    http_server.routes["/ftp"] = redirect("ftp://example.org/feed")
    safe = replace(SOURCES["safe-news"], url=http_server.url("/old"))
    loop = rss_source(http_server.url("/loop"), id="loop")
    ftp = rss_source(http_server.url("/ftp"), id="ftp")
    bad = rss_source("file:///etc/passwd", id="file")
    rs, rl, rf, rb = fetch_sources([safe, loop, ftp, bad], {}, SETTINGS, policy=FAST)
    assert rs.status == "ok"
    assert rs.items[0].url == http_server.url("/safe/2026/0220/27010.html")  # against final URL
    assert rl.status == "error" and rl.reason.startswith("too many redirects")
    assert rf.status == "error" and "non-http(s)" in rf.reason
    assert rb.status == "error" and rb.reason == "refused non-http(s) URL 'file:///etc/passwd'"


def test_blocked_and_layout_verdicts_over_http(http_server: HTTPTestServer) -> None:
    http_server.routes["/412"] = Route.file(FIXTURES / "bad-412-cookie.html", status=412)
    http_server.routes["/wzws"] = Route.file(FIXTURES / "bad-pboc-wzws.html")
    http_server.routes["/shell"] = Route.file(FIXTURES / "bad-html-not-rss.html")
    pboc = SOURCES["pboc-news"]
    a = replace(pboc, id="a", url=http_server.url("/412"))
    b = replace(pboc, id="b", url=http_server.url("/wzws"))
    c = rss_source(http_server.url("/shell"), id="c")
    ra, rb, rc = fetch_sources([a, b, c], {}, SETTINGS, policy=FAST)
    assert (ra.status, ra.reason, ra.http_status) == (
        "blocked",
        "anti-bot challenge (HTTP 412 cookie page)",
        412,
    )
    # a recorded challenge page served by a plain server: the answer goes nowhere (404), each
    # of the 3 attempts answers once, then the source is blocked (never a loop)
    assert rb.status == "blocked"
    assert rb.reason == (
        "anti-bot challenge (WZWS classic): WZWS challenge answered, and the answer was refused"
        " (HTTP 404) after 3 attempts"
    )
    assert len([r for r in http_server.requests if r.path.startswith("/WZWSRE")]) == 3
    assert (rc.status, rc.reason) == ("layout-changed", "expected RSS, got HTML")
    assert len(http_server.hits("/412")) == 1  # a challenge is not retried


def test_per_host_limit_and_request_headers(http_server: HTTPTestServer) -> None:
    lock = threading.Lock()
    state = {"now": 0, "max": 0}
    body = (FIXTURES / "sina-finance.json").read_bytes()

    def counted(h: BaseHTTPRequestHandler) -> None:
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        time.sleep(0.05)
        with lock:
            state["now"] -= 1
        send(h, 200, body, Content_Type="application/json")

    http_server.routes["/api"] = Route(handler=counted)
    sina = SOURCES["sina-finance"]
    sources = [replace(sina, id=f"s{i}", url=http_server.url(f"/api?n={i}")) for i in range(6)]
    results = fetch_sources(sources, {}, SETTINGS, policy=FAST)
    assert [r.source_id for r in results] == [f"s{i}" for i in range(6)]
    assert all(r.status == "ok" for r in results)
    assert state["max"] == 2
    sent = http_server.requests[0].headers
    assert sent["Referer"] == "https://news.sina.com.cn/"
    assert sent["User-Agent"] == SETTINGS.user_agent and sent["Accept"].startswith(
        "application/json"
    )


def test_post_sources_send_their_body(http_server: HTTPTestServer) -> None:
    http_server.routes["/list"] = Route.file(FIXTURES / "pboc-news.html")
    src = replace(SOURCES["pboc-news"], url=http_server.url("/list"), method="POST", body="page=1")
    [res] = fetch_sources([src], {}, SETTINGS, policy=FAST)
    assert res.status == "ok"
    assert http_server.requests[0].method == "POST" and http_server.requests[0].body == b"page=1"


def test_parsing_in_a_process_pool_gives_the_same_items(http_server: HTTPTestServer) -> None:
    http_server.routes["/rss"] = fca_route()
    http_server.routes["/broken"] = Route.file(FIXTURES / "bad-broken-feed.xml", content_type=RSS)
    http_server.routes["/nfra"] = Route.file(
        FIXTURES / "nfra-915.json", content_type="application/json"
    )
    sources = [
        rss_source(http_server.url("/rss")),
        rss_source(http_server.url("/broken"), id="broken"),
        replace(SOURCES["nfra-915"], url=http_server.url("/nfra")),
    ]
    inline = fetch_sources(sources, {}, SETTINGS, policy=FAST)
    pooled = fetch_sources(sources, {}, SETTINGS, policy=replace(FAST, parse_processes=1))
    assert [r.items for r in pooled] == [r.items for r in inline]
    assert [r.warnings for r in pooled] == [r.warnings for r in inline]
    assert inline[1].items[0].title == "Fees & charges: new BNPL rules"  # feedparser path
    assert pooled[2].items[0].extra["docId"] == "1240014"


def test_fetch_details_fills_bodies_and_keeps_failures(http_server: HTTPTestServer) -> None:
    doc = {
        "rptCode": 200,
        "data": {
            "docId": 1,
            "docClob": "<div class='Section0'><p>第一条 为规范</p><p>助贷业务</p></div>",
        },
    }
    http_server.routes["/detail"] = Route(
        body=json.dumps(doc, ensure_ascii=False).encode(), content_type="application/json"
    )
    http_server.routes["/page/2"] = Route.file(FIXTURES / "bad-pboc-wzws.html")
    nfra = replace(
        SOURCES["nfra-915"],
        url=http_server.url("/nfra-list"),
        options={
            **SOURCES["nfra-915"].options,
            "detail_url": http_server.url("/detail?docId={docId}"),
        },
    )
    pboc = replace(SOURCES["pboc-news"], url=http_server.url("/list"))
    items = [
        Item("nfra-915", "g1", "t1", url="https://www.nfra.gov.cn/x", extra={"docId": "1"}),
        Item("pboc-news", "g2", "t2", url=http_server.url("/page/2")),
        Item("pboc-news", "g3", "t3", url=http_server.url("/missing")),
        Item("fca-news", "g4", "t4", url=http_server.url("/never")),
    ]
    sources = {"nfra-915": nfra, "pboc-news": pboc, "fca-news": SOURCES["fca-news"]}
    out = fetch_details_sync(items, sources, SETTINGS, policy=FAST)
    assert [i.guid for i in out] == ["g1", "g2", "g3", "g4"]
    assert out[0].body == "第一条 为规范 助贷业务"
    assert out[1].body == "" and out[2].body == "" and out[3].body == ""
    assert http_server.hits("/detail")[0].path == "/detail?docId=1"
    assert http_server.hits("/never") == []  # fca-news has no detail


def test_detail_pages_only_on_the_sources_host_or_detail_hosts(
    http_server: HTTPTestServer,
) -> None:
    http_server.routes["/p"] = Route(
        b"<html><body><div id='zoom'>\xe6\xad\xa3\xe6\x96\x87</div></body></html>"
    )
    pboc = replace(SOURCES["pboc-news"], url=http_server.url("/list"))
    other = http_server.url("/p").replace("127.0.0.1", "localhost")
    items = [
        Item("pboc-news", "g1", "t1", url=other),
        Item("pboc-news", "g2", "t2", url="file:///etc/passwd"),
    ]
    out = fetch_details_sync(items, {"pboc-news": pboc}, SETTINGS, policy=FAST)
    assert [i.body for i in out] == ["", ""] and http_server.hits("/p") == []
    allowed = replace(pboc, options={**pboc.options, "detail_hosts": ["localhost"]})
    out = fetch_details_sync(items, {"pboc-news": allowed}, SETTINGS, policy=FAST)
    assert [i.body for i in out] == ["", ""] and http_server.hits("/p") == []  # loopback
    loopback_ok = replace(FAST, allow_loopback=True)  # what the address ban refused above
    out = fetch_details_sync(items, {"pboc-news": allowed}, SETTINGS, policy=loopback_ok)
    assert [i.body for i in out] == ["正文", ""] and len(http_server.hits("/p")) == 1


def test_large_cycles_parse_on_the_other_core() -> None:
    assert policy_for(20, cpus=2).parse_processes == 0  # the shipped config: not worth a worker
    big = policy_for(200, cpus=2)
    assert big.parse_processes == 1
    assert policy_for(200, cpus=1).parse_processes == 0  # no second core to use


def test_a_body_sent_byte_by_byte_hits_the_overall_deadline(http_server: HTTPTestServer) -> None:
    body = (FIXTURES / "fca-news.xml").read_bytes()

    def trickle(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", RSS)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        try:
            for i in range(len(body)):  # each byte well within the per-read timeout
                h.wfile.write(body[i : i + 1])
                h.wfile.flush()
                time.sleep(0.1)
        except (BrokenPipeError, ConnectionResetError):
            h.close_connection = True

    http_server.routes["/trickle"] = Route(handler=trickle)
    src = rss_source(http_server.url("/trickle"), timeout_seconds=0.5)
    started = time.monotonic()
    [res] = fetch_sources([src], {}, SETTINGS, policy=replace(FAST, attempts=2))
    elapsed = time.monotonic() - started
    assert (res.status, res.reason) == (
        "error",
        "timed out after 0.5s reading the response after 2 attempts",
    )
    assert len(http_server.hits("/trickle")) == 2  # transient: retried
    assert elapsed < 3.0  # about attempts x (timeout + backoff), not the whole trickle


@pytest.mark.parametrize("meta", ['<meta charset="gb2312">', ""])
def test_a_pboc_page_in_gb2312_labelled_iso_8859_1_reads_as_chinese(
    http_server: HTTPTestServer, meta: str
) -> None:
    """Older PBOC pages are GB2312 while the server says ISO-8859-1 (or nothing usable): the weak
    Latin-1 label loses to the page's own declaration, or, without one, to the bytes reading as
    Chinese under GB18030 (charset.decode)."""
    page = (FIXTURES / "pboc-tfs-regulation.html").read_text(encoding="utf-8")
    page = page.replace(
        '<meta http-equiv="Content-Type" content="text/html; charset=utf-8"/>', meta
    )
    body = page.encode("gb2312")
    assert b"charset=utf-8" not in body
    http_server.routes["/tiaofasi/144941/144953/index.html"] = Route(
        body, content_type="text/html; charset=ISO-8859-1"
    )
    source = replace(
        SOURCES["pboc-tfs-regulation"], url=http_server.url("/tiaofasi/144941/144953/index.html")
    )
    [res] = fetch_sources([source], {}, SETTINGS, policy=FAST)
    golden = json.loads((FIXTURES / "pboc-tfs-regulation.golden.json").read_text("utf-8"))
    assert res.status == "ok", res.reason
    assert [i.title for i in res.items] == [g["title"] for g in golden["items"]]
    assert res.items[0].title == "非银行支付机构监督管理条例(国务院令 第768号)"
