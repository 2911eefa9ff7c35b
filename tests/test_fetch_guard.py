"""Where requests may go (issue #19): redirects hop by hop under the domain and address policy,
source headers kept from other hosts, detail pages on their host after redirects, parsing bounded
in time. Real loopback server; a good source fetched beside each hostile one."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from pipeline.config import Settings
from pipeline.fetch.http import Policy, fetch_details_sync, fetch_sources
from pipeline.models import Item, Source
from tests.support.harness import RSS_TYPE, feed_for, good_route, titles_for
from tests.support.httpserver import HTTPTestServer, Route

SETTINGS = Settings(data_dir=Path("/nonexistent"))
FAST = Policy(backoff=0.01, max_retry_after=5)


def rss(sid: str, url: str, **options: object) -> Source:
    return Source(id=sid, name=sid, kind="rss", url=url, options=options)


def test_redirects_stay_on_the_domain_or_redirect_hosts(http_server: HTTPTestServer) -> None:
    port = http_server.port
    http_server.routes["/good.xml"] = good_route("good")
    http_server.routes["/same.xml"] = Route(status=301, headers={"Location": "/good.xml"})
    http_server.routes["/away.xml"] = Route(
        status=302, headers={"Location": f"http://localhost:{port}/good.xml"}
    )
    http_server.routes["/ftp.xml"] = Route(
        status=302, headers={"Location": "ftp://user:hunter2@files.example.org/f?token=abc"}
    )
    sources = [
        rss("good", http_server.url("/good.xml")),
        rss("same", http_server.url("/same.xml")),
        rss("away", http_server.url("/away.xml")),
        rss("listed", http_server.url("/away.xml"), redirect_hosts=["localhost"]),
        rss("ftp", http_server.url("/ftp.xml")),
    ]
    policy = replace(FAST, allow_loopback=True)  # the address rule is tested below
    good, same, away, listed, ftp = fetch_sources(sources, {}, SETTINGS, policy=policy)
    assert good.status == same.status == listed.status == "ok"
    assert [i.title for i in listed.items] == list(titles_for("good"))
    assert away.status == "error"
    assert away.reason == (
        "redirect to localhost refused: not on 127.0.0.1"
        " (list it in the source's redirect_hosts to allow it)"
    )
    assert ftp.status == "error" and "non-http(s) redirect" in ftp.reason
    assert "hunter2" not in ftp.reason and "abc" not in ftp.reason


def test_private_loopback_and_metadata_addresses_are_refused(http_server: HTTPTestServer) -> None:
    port = http_server.port
    http_server.routes["/good.xml"] = good_route("good")
    for name, target in {
        "/to-localhost": f"http://localhost:{port}/good.xml",
        "/to-intranet": f"http://intranet.example.cn:{port}/good.xml",
        "/to-metadata": "http://169.254.169.254/latest/meta-data/",
    }.items():
        http_server.routes[name] = Route(status=302, headers={"Location": target})

    async def resolver(host: str) -> list[str]:  # DNS cannot run here: the answers a zone gives
        return {"intranet.example.cn": ["10.0.0.7"], "localhost": ["127.0.0.1"]}[host]

    hosts = ["localhost", "intranet.example.cn", "169.254.169.254"]
    sources = [
        rss("good", http_server.url("/good.xml")),
        rss("localhost", http_server.url("/to-localhost"), redirect_hosts=hosts),
        rss("intranet", http_server.url("/to-intranet"), redirect_hosts=hosts),
        rss("metadata", http_server.url("/to-metadata"), redirect_hosts=hosts),
        rss(
            "private-ok",
            http_server.url("/to-localhost"),
            redirect_hosts=hosts,
            private_network=True,
        ),
    ]
    banned = replace(FAST, resolver=resolver)  # the production default: no loopback
    good, local, intranet, meta, private_ok = fetch_sources(sources, {}, SETTINGS, policy=banned)
    assert good.status == "ok" and private_ok.status == "ok"
    assert (local.status, local.reason) == (
        "error",
        "localhost is a loopback address (127.0.0.1); refused",
    )
    assert intranet.reason == "intranet.example.cn is a private address (10.0.0.7); refused"
    assert meta.reason.startswith("169.254.169.254 is a cloud metadata address")
    assert len(http_server.hits("/good.xml")) == 2  # good and private-ok, nobody else
    # the setting that lets tests use loopback: the same redirect is then followed
    allowed = replace(banned, allow_loopback=True)
    [again] = fetch_sources([sources[1]], {}, SETTINGS, policy=allowed)
    assert again.status == "ok"
    # metadata stays refused whatever the settings
    [meta2] = fetch_sources([sources[3]], {}, SETTINGS, policy=allowed)
    assert meta2.status == "error" and "cloud metadata" in meta2.reason


def test_the_connected_address_is_checked_too(http_server: HTTPTestServer) -> None:
    """A name that resolves to a public address when checked and to loopback when connected
    (DNS rebinding) is refused after connecting, before the body is read."""
    port = http_server.port
    http_server.routes["/good.xml"] = good_route("good")
    http_server.routes["/rebind"] = Route(
        status=302, headers={"Location": f"http://localhost:{port}/good.xml"}
    )

    async def first_answer(host: str) -> list[str]:
        return ["93.184.216.34"]  # what the check saw; the connection gets the system's answer

    sources = [
        rss("good", http_server.url("/good.xml")),
        rss("rebind", http_server.url("/rebind"), redirect_hosts=["localhost"]),
    ]
    good, rebind = fetch_sources(sources, {}, SETTINGS, policy=replace(FAST, resolver=first_answer))
    assert good.status == "ok"
    assert rebind.status == "error" and "is a loopback address" in rebind.reason


def test_source_headers_are_not_sent_to_another_host(http_server: HTTPTestServer) -> None:
    port = http_server.port
    http_server.routes["/api"] = Route(
        status=307, headers={"Location": f"http://localhost:{port}/feed.xml"}
    )
    http_server.routes["/feed.xml"] = good_route("api")
    src = replace(
        rss("api", http_server.url("/api"), redirect_hosts=["localhost"]),
        headers={"X-Api-Key": "k-123", "Referer": "https://api.example.cn/"},
    )
    [res] = fetch_sources([src], {}, SETTINGS, policy=replace(FAST, allow_loopback=True))
    assert res.status == "ok"
    first, second = http_server.requests
    assert first.headers.get("X-Api-Key") == "k-123"
    assert "X-Api-Key" not in second.headers and "Referer" not in second.headers
    assert second.headers["Accept"].startswith("application/rss+xml")


def test_detail_pages_stay_on_the_host_after_redirects(http_server: HTTPTestServer) -> None:
    port = http_server.port
    page = "<html><body><div class='c'>正文：{}</div></body></html>"
    http_server.routes["/a/1.html"] = Route(status=302, headers={"Location": "/a/1b.html"})
    http_server.routes["/a/1b.html"] = Route(page.format("本站").encode())
    http_server.routes["/a/2.html"] = Route(
        status=302, headers={"Location": f"http://localhost:{port}/a/2b.html"}
    )
    http_server.routes["/a/2b.html"] = Route(page.format("外站").encode())
    src = rss("d", http_server.url("/feed.xml"), detail="div.c")
    items = [Item("d", f"g{n}", f"t{n}", url=http_server.url(f"/a/{n}.html")) for n in (1, 2)]
    out = fetch_details_sync(items, {"d": src}, SETTINGS, policy=replace(FAST, allow_loopback=True))
    assert [i.body for i in out] == ["正文：本站", ""]
    assert http_server.hits("/a/2b.html") == []


def test_a_document_that_parses_too_long_is_given_up(http_server: HTTPTestServer) -> None:
    items = "".join(
        f"<item><title>第{n}条</title><link>https://big.example.cn/{n}</link></item>"
        for n in range(8_000)  # some seconds of feedparser
    )
    big = f'<?xml version="1.0"?><rss version="2.0"><channel>{items}</channel></rss>'
    http_server.routes["/big.xml"] = Route(big.encode(), content_type=RSS_TYPE)
    http_server.routes["/good.xml"] = Route(feed_for("good").encode(), content_type=RSS_TYPE)
    sources = [
        replace(rss("big", http_server.url("/big.xml")), max_bytes=10_000_000),
        rss("good", http_server.url("/good.xml")),
    ]
    big_res, good = fetch_sources(sources, {}, SETTINGS, policy=replace(FAST, parse_timeout=0.5))
    assert good.status == "ok" and len(good.items) == 2
    assert (big_res.status, big_res.reason) == (
        "error",
        "parsing the response took longer than 0.5s; gave up",
    )
