"""Hostile input through the real pipeline: item text never becomes markup or headers, only
http(s) is fetched, detail pages stay on the source's host, files are private."""

from __future__ import annotations

import stat
from pathlib import Path

from tests.support.harness import (
    RSS_TYPE,
    Src,
    db_rows,
    good_route,
    lendwatch,
    mailed_for,
    stored_titles,
    titles_for,
    write_config,
)
from tests.support.httpserver import HTTPTestServer, Route
from tests.support.smtpserver import SMTPTestServer

HOSTILE_TITLE = (
    "暂停借呗新增授信，年化利率&amp;lt;24%&amp;amp;罚息&amp;gt;0"
    "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;"
    "&#13;&#10;Bcc: evil@example.com&#13;&#10;X-Injected: yes"
)

HOSTILE_FEED = f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>hostile</title><link>https://hostile.example.cn/</link>
<description>x</description>
<item><title>{HOSTILE_TITLE}</title>
<link>javascript:alert(3)</link><guid isPermaLink="false">h-1</guid>
<pubDate>Fri, 27 Nov 2026 09:30:00 +0800</pubDate>
<description>&lt;b onmouseover="alert(4)"&gt;网络小额贷款&lt;/b&gt; 暂停借呗</description></item>
</channel></rss>
"""


def test_item_text_never_becomes_markup_or_headers(
    tmp_path: Path, http_server: HTTPTestServer, smtp_server: SMTPTestServer
) -> None:
    http_server.routes["/hostile.xml"] = Route(HOSTILE_FEED.encode(), content_type=RSS_TYPE)
    config = write_config(tmp_path, [Src("hostile", http_server.url("/hostile.xml"))], smtp_server)

    fetched = lendwatch(config, "fetch")  # immediate alerts
    assert fetched.returncode == 0, fetched.stderr
    ran = lendwatch(config, "run")  # the digest
    assert ran.returncode == 0, ran.stderr
    (title,) = stored_titles(tmp_path / "data" / "lendwatch.db")
    assert "Bcc" in title, "the hostile item was stored"
    assert len(smtp_server.messages) >= 1

    for received in smtp_server.messages:
        assert received.recipients == ["risk@example.com"]
        msg = received.message
        assert msg["Bcc"] is None and msg["X-Injected"] is None
        for name, value in msg.items():
            assert "\r" not in value and "\n" not in value, name
        raw_headers = received.data.split(b"\r\n\r\n", 1)[0]
        assert b"\r\nBcc:" not in raw_headers and b"\r\nX-Injected:" not in raw_headers
        html = msg.get_body(("html",))
        assert html is not None
        markup = str(html.get_content())
        assert "<script" not in markup.lower()
        assert "<img src=x" not in markup.lower()
        assert "<b onmouseover" not in markup.lower()
        assert "javascript:" not in markup.lower()
        assert "利率&lt;24%&amp;罚息&gt;0" in markup, "item text is escaped, shown as text"
        assert "利率<24%" not in markup


def test_redirect_to_a_non_http_scheme_is_refused(
    tmp_path: Path, http_server: HTTPTestServer, smtp_server: SMTPTestServer
) -> None:
    http_server.routes["/control.xml"] = good_route("control")
    http_server.routes["/to-file.xml"] = Route(
        status=302, headers={"Location": "file:///etc/passwd"}
    )
    config = write_config(
        tmp_path,
        [
            Src("control", http_server.url("/control.xml")),
            Src("to-file", http_server.url("/to-file.xml")),
        ],
        smtp_server,
    )
    result = lendwatch(config, "run")
    assert result.returncode == 0, result.stderr
    assert "to-file: error: " in result.stdout
    db = tmp_path / "data" / "lendwatch.db"
    assert sorted(stored_titles(db)) == sorted(titles_for("control"))
    everything = db_rows(db, "SELECT title || summary || body FROM items")
    assert all("root:" not in str(row[0]) for row in everything)


def test_config_refuses_non_http_source_urls(tmp_path: Path) -> None:
    config = write_config(tmp_path, [Src("local", "file:///etc/passwd")])
    result = lendwatch(config, "run")
    assert result.returncode == 2
    assert "only http(s) URLs are fetched" in result.stderr


DETAIL_FEED = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>d</title><link>{home}</link><description>x</description>
<item><title>{own_title}</title><link>{own}</link><guid>{own}</guid></item>
<item><title>{off_title}</title><link>{off}</link><guid>{off}</guid></item>
</channel></rss>
"""
DETAIL_PAGE = '<html><body><div class="content">{text}</div></body></html>'


def test_detail_pages_only_on_the_sources_own_host(
    tmp_path: Path, http_server: HTTPTestServer, smtp_server: SMTPTestServer
) -> None:
    own = http_server.url("/own.html")  # 127.0.0.1, as the feed
    off = own.replace("127.0.0.1", "localhost").replace("/own.html", "/offsite.html")
    http_server.routes["/feed.xml"] = Route(
        DETAIL_FEED.format(
            home=http_server.url("/"),
            own=own,
            off=off,
            own_title=mailed_for("own"),
            off_title=mailed_for("off"),
        ).encode(),
        content_type=RSS_TYPE,
    )
    http_server.routes["/own.html"] = Route(
        DETAIL_PAGE.format(text="本站正文：助贷新规细则").encode()
    )
    http_server.routes["/offsite.html"] = Route(DETAIL_PAGE.format(text="外站正文").encode())
    config = write_config(
        tmp_path,
        [Src("detail", http_server.url("/feed.xml"), 'detail = "div.content"')],
        smtp_server,
    )
    result = lendwatch(config, "fetch")
    assert result.returncode == 0, result.stderr
    db = tmp_path / "data" / "lendwatch.db"
    bodies = {str(t): str(b) for t, b in db_rows(db, "SELECT title, body FROM items")}
    assert "助贷新规细则" in bodies[mailed_for("own")]
    assert bodies[mailed_for("off")] == "", "an off-site detail page was stored"
    assert http_server.hits("/offsite.html") == [], "an off-site detail page was fetched"


def test_outbox_and_database_files_are_private(tmp_path: Path, http_server: HTTPTestServer) -> None:
    http_server.routes["/a.xml"] = good_route("a")
    config = write_config(tmp_path, [Src("a", http_server.url("/a.xml"))])  # no [email]: outbox
    result = lendwatch(config, "run")
    assert result.returncode == 0, result.stderr
    data = tmp_path / "data"
    outbox = list((data / "outbox").iterdir())
    assert outbox, "the digest was written to the outbox"
    for path in [data / "lendwatch.db", data / "lendwatch.log", *outbox]:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path
    assert stat.S_IMODE((data / "outbox").stat().st_mode) & 0o077 == 0
