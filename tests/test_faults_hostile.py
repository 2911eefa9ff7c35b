"""Issue #19's holes through the real CLI: one config holds a good source and every hostile one,
served from the loopback server, mailed to the loopback SMTP server. ``lendwatch run`` twice:
the cycle always finishes (exit 0), the good source is stored and mailed once, each hostile
source is ``error``/``layout-changed`` with its reason, nothing is mailed twice, no secret
reaches a reason, no control character reaches the database."""

from __future__ import annotations

import gzip
import json
import subprocess
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from tests.support.harness import (
    RSS_TYPE,
    Src,
    db_rows,
    good_route,
    lendwatch,
    mailed_for,
    titles_for,
    write_config,
)
from tests.support.httpserver import HTTPTestServer, Route
from tests.support.smtpserver import Received, SMTPTestServer

CONTROL = "control"
TOKEN = "s3cr3t-t0ken-4242"
DEEP = "[" * 100_000 + "]" * 100_000  # ~200 KB: RecursionError in json.loads


def detail_feed(home: str, sid: str) -> bytes:
    first, second = titles_for(sid)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>{sid}</title><link>{home}</link><description>x</description>
<item><title>{first}</title><link>{home}d/1.json</link></item>
<item><title>{second}</title><link>{home}d/2.json</link></item>
</channel></rss>""".encode()


def entity_bomb() -> bytes:
    """A 5 MB feed whose DTD expands one 1 KB entity at every reference (~5 GB expanded),
    plus nested entities (billion laughs) that stay below expat's amplification check."""
    laughs = "".join(f'<!ENTITY lol{n} "{("&lol" + str(n - 1) + ";") * 10}">' for n in range(1, 10))
    head = (
        '<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY big "' + "借" * 1000 + '">'
        '<!ENTITY lol0 "lol">' + laughs + "]>\n"
        '<rss version="2.0"><channel><title>bomb</title><link>https://bomb.example.cn/</link>'
        "<description>x</description><item><title>&lol9;</title>"
        "<link>https://bomb.example.cn/1</link></item><item><title>"
    )
    refs = "&big;" * ((5_000_000 - len(head)) // 5)
    return (
        head + refs + "</title><link>https://bomb.example.cn/2</link></item></channel></rss>"
    ).encode()


def stacked_gzip(handler: BaseHTTPRequestHandler) -> None:
    inner = gzip.compress(b"<rss>" + b" " * 20_000_000 + b"</rss>")
    body = gzip.compress(inner)  # a few KB that inflate twice to 20 MB
    handler.send_response(200)
    handler.send_header("Content-Type", RSS_TYPE)
    handler.send_header("Content-Encoding", "gzip, gzip")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def gzip_bomb(handler: BaseHTTPRequestHandler) -> None:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    body = compressor.compress(b"<" * 30_000_000) + compressor.flush()  # ~30 KB -> 30 MB
    handler.send_response(200)
    handler.send_header("Content-Type", RSS_TYPE)
    handler.send_header("Content-Encoding", "gzip")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


# id -> (expected status, regex-free substring of the reason)
HOSTILE = {
    "nested-list": ("layout-changed", "JSON nested too deeply to read"),
    "metadata": ("error", "169.254.169.254 is a cloud metadata address"),
    "to-localhost": ("error", "localhost is a loopback address"),
    "off-domain": ("error", "redirect to localhost refused: not on 127.0.0.1"),
    "stacked-gzip": ("error", "stacked Content-Encoding 'gzip, gzip' refused"),
    "gzip-bomb": ("error", "response exceeds max_bytes 1000000"),
    "entity-bomb": ("layout-changed", "entity expansion refused"),
}


@dataclass
class Outcome:
    db: Path
    runs: list[subprocess.CompletedProcess[str]]
    mails: list[list[Received]]
    http: HTTPTestServer
    paths: list[str]


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outcome]:
    tmp = tmp_path_factory.mktemp("hostile")
    with HTTPTestServer() as http, SMTPTestServer() as smtp:
        r = http.routes
        port = http.port
        r["/control.xml"] = good_route(CONTROL)
        r["/nested.json"] = Route(DEEP.encode(), content_type="application/json")
        # detail pages nested too deeply: the items are kept, without a body
        r["/detail/feed.xml"] = Route(
            detail_feed(http.url("/detail/"), "detail"), content_type=RSS_TYPE
        )
        r["/detail/d/1.json"] = Route(DEEP.encode(), content_type="application/json")
        r["/detail/d/2.json"] = Route(
            json.dumps(
                {"data": {"html": "<div class='c'>正文\x1b[31m红\x1b[0m\x00字</div>"}}
            ).encode(),
            content_type="application/json",
        )
        meta = f"http://169.254.169.254/latest/meta-data/iam?token={TOKEN}"
        r["/meta.xml"] = Route(status=302, headers={"Location": meta})
        local = f"http://localhost:{port}/internal?access_token={TOKEN}"
        r["/local.xml"] = Route(status=302, headers={"Location": local})
        r["/off.xml"] = Route(status=302, headers={"Location": f"http://localhost:{port}/x"})
        r["/internal"] = Route(f"<rss>{TOKEN}</rss>".encode(), content_type=RSS_TYPE)
        r["/x"] = good_route("off-domain")
        r["/stacked.xml"] = Route(handler=stacked_gzip)
        r["/bomb.xml"] = Route(handler=gzip_bomb)
        r["/entities.xml"] = Route(entity_bomb(), content_type=RSS_TYPE)
        controls = {
            "list": [
                {
                    "title": "利率\u0000上限\u001b[31m调整\u001b]8;;http://evil.example/\u0007链接"
                    "\u001b]8;;\u0007\u009b2J（controls）",
                    "url": "https://controls.example.cn/1.html",
                    "summary": "摘要\u001b[2J\u0007完",
                }
            ]
        }
        r["/controls.json"] = Route(json.dumps(controls).encode(), content_type="application/json")
        sources = [
            Src(CONTROL, http.url("/control.xml")),
            Src(
                "nested-list",
                http.url("/nested.json"),
                'items = "list"\ntitle = "title"\nlink = "url"',
                kind="json",
            ),
            Src(
                "detail",
                http.url("/detail/feed.xml"),
                'detail = "div.c"\ndetail_json = "data.html"',
            ),
            Src("metadata", http.url("/meta.xml"), 'redirect_hosts = ["169.254.169.254"]'),
            Src("to-localhost", http.url("/local.xml"), 'redirect_hosts = ["localhost"]'),
            Src("off-domain", http.url("/off.xml")),
            Src("stacked-gzip", http.url("/stacked.xml")),
            Src("gzip-bomb", http.url("/bomb.xml"), "max_bytes = 1000000"),
            Src("entity-bomb", http.url("/entities.xml"), "max_bytes = 6000000"),
            Src(
                "controls",
                http.url("/controls.json"),
                'items = "list"\ntitle = "title"\nlink = "url"\nsummary = "summary"',
                kind="json",
            ),
        ]
        config = write_config(tmp, sources, smtp, settings='timezone = "Asia/Shanghai"')
        runs, mails = [], []
        for _ in range(2):
            before = len(smtp.messages)
            runs.append(lendwatch(config, "run"))
            mails.append(list(smtp.messages[before:]))
        yield Outcome(
            tmp / "data" / "lendwatch.db", runs, mails, http, [q.path for q in http.requests]
        )


def health(db: Path) -> dict[str, tuple[str, str]]:
    rows = db_rows(db, "SELECT source_id, status, reason FROM source_state")
    return {str(s): (str(st), str(r)) for s, st, r in rows}


def test_the_cycle_finishes_and_the_good_sources_are_stored(outcome: Outcome) -> None:
    for run in outcome.runs:
        assert run.returncode == 0, run.stderr
        assert "Traceback" not in run.stderr
    titles = [str(t) for (t,) in db_rows(outcome.db, "SELECT title FROM items")]
    assert set(titles_for(CONTROL)) <= set(titles)
    assert health(outcome.db)[CONTROL] == ("ok", "")


@pytest.mark.parametrize("sid", sorted(HOSTILE))
def test_each_hostile_source_fails_with_its_reason(outcome: Outcome, sid: str) -> None:
    status, reason = health(outcome.db)[sid]
    assert (status, HOSTILE[sid][1] in reason) == (HOSTILE[sid][0], True), reason
    assert TOKEN not in reason
    assert not db_rows(outcome.db, "SELECT 1 FROM items WHERE source_id = ?", [sid])


def test_no_request_reached_the_refused_targets(outcome: Outcome) -> None:
    assert "/internal" not in [p.split("?")[0] for p in outcome.paths]
    assert "/x" not in outcome.paths
    everything = db_rows(outcome.db, "SELECT title || summary || body FROM items")
    assert all(TOKEN not in str(row[0]) for row in everything)


def test_a_detail_page_nested_too_deeply_leaves_its_item_without_a_body(outcome: Outcome) -> None:
    rows = db_rows(outcome.db, "SELECT title, body FROM items WHERE source_id = 'detail'")
    bodies = {str(t): str(b) for t, b in rows}
    first, second = titles_for("detail")
    assert bodies == {first: "", second: "正文红字"}  # controls stripped, NUL does not cut
    assert health(outcome.db)["detail"] == ("ok", "")


def test_control_characters_never_reach_the_database(outcome: Outcome) -> None:
    rows = db_rows(outcome.db, "SELECT title, summary FROM items WHERE source_id = 'controls'")
    assert [(str(t), str(s)) for t, s in rows] == [("利率上限调整链接（controls）", "摘要完")]
    for (text,) in db_rows(outcome.db, "SELECT title || summary || body FROM items"):
        assert not any(ord(c) < 32 or 127 <= ord(c) < 160 for c in str(text)), repr(text)


@pytest.mark.parametrize("sid", [CONTROL, "detail"])
def test_the_good_news_is_mailed_once(outcome: Outcome, sid: str) -> None:
    mails = [m.text for run in outcome.mails for m in run]
    assert sum(mailed_for(sid) in text for text in mails) == 1
    assert all(TOKEN not in text for text in mails)
