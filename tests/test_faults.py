"""Fault injection, HTTP side, through the real pipeline: loopback server, aiosmtpd, SQLite file.

One `lendwatch run` (a subprocess) meets every fault at once, each on its own source, next to a
healthy control source. Each case then asserts that the cycle finished, that the failure was
reported against that source (summary and log line), that the control source's items were
stored and mailed, and, after the faults are healed and the run repeated, that nothing was lost
and nothing mailed twice.

The shared helpers live in tests/support/harness.py.
"""

from __future__ import annotations

import re
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from tests.support.harness import (
    RSS_TYPE,
    Src,
    db_rows,
    feed_for,
    free_port,
    good_route,
    lendwatch,
    mail_text,
    mailed_for,
    titles_for,
    write_config,
)
from tests.support.httpserver import HTTPTestServer, Route
from tests.support.smtpserver import Received, SMTPTestServer

# ---------------------------------------------------------------------------------------------
# Fault routes


STOP = threading.Event()  # releases handlers that stall, at module teardown


def stall_mid_body(handler: BaseHTTPRequestHandler) -> None:
    body = feed_for("timeout-mid-body").encode()
    handler.send_response(200)
    handler.send_header("Content-Type", RSS_TYPE)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body[: len(body) // 2])
    handler.wfile.flush()
    STOP.wait(30)  # far beyond the source's 3 s timeout
    handler.close_connection = True


@dataclass
class Huge:
    """Streams up to 50 MB without Content-Length, counting what the client took."""

    sent: int = 0

    def __call__(self, handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", RSS_TYPE)
        handler.send_header("Connection", "close")
        handler.end_headers()
        chunk = b"<!-- " + b"x" * (1024 * 1024 - 10) + b" -->\n"
        handler.wfile.write(b'<?xml version="1.0"?><rss version="2.0"><channel>')
        try:
            for _ in range(50):
                handler.wfile.write(chunk)
                self.sent += len(chunk)
            handler.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        handler.close_connection = True


@dataclass
class FlakyThenOk:
    """The first request gets 503 with Retry-After: 1; later ones the feed."""

    sid: str
    hits: int = 0

    def __call__(self, handler: BaseHTTPRequestHandler) -> None:
        self.hits += 1
        if self.hits == 1:
            body = b"<html><body>busy</body></html>"
            handler.send_response(503)
            handler.send_header("Retry-After", "1")
            handler.send_header("Content-Type", "text/html")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
            return
        body = feed_for(self.sid).encode()
        handler.send_response(200)
        handler.send_header("Content-Type", RSS_TYPE)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)


SECRET = "TOP-SECRET-XXE-CANARY"

BILLION_LAUGHS = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE rss [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>laughs</title><link>https://laughs.example.cn/</link>
<description>x</description>
<item><title>借呗 &lol9;</title><link>https://laughs.example.cn/a/1.html</link>
<description>&lol9;</description></item>
</channel></rss>
"""


def xxe_feed(secret_url: str) -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE rss [
 <!ENTITY remote SYSTEM "{secret_url}">
 <!ENTITY local SYSTEM "file:///etc/passwd">
]>
<rss version="2.0"><channel><title>xxe</title><link>https://xxe.example.cn/</link>
<description>x</description>
<item><title>借呗 &remote; &local;</title><link>https://xxe.example.cn/a/1.html</link>
<description>&remote;</description></item>
</channel></rss>
"""


CHALLENGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>中国人民银行</title>
<script type="text/javascript" src="/WZWSREL3N6ZmEvaW5kZXguaHRtbA=="></script></head>
<body><noscript>请开启JavaScript并刷新该页</noscript></body></html>
"""


@dataclass(frozen=True)
class Case:
    id: str
    statuses: tuple[str, ...]  # acceptable health after the faulty run
    reason: str = ""  # regex the reason must match when the source failed
    items_first_run: bool = False  # the source's items are stored despite the fault


CASES = (
    Case("refused", ("error",), r"(?i)connect|refused"),
    Case("timeout-mid-body", ("error",), r"(?i)time|read"),
    Case("http-500", ("error",), r"500"),
    Case("http-503-retry-after", ("error",), r"503"),
    Case("http-503-then-ok", ("ok",), items_first_run=True),
    Case("http-429", ("error",), r"429"),
    Case("redirect-loop", ("error",), r"(?i)redirect"),
    Case("truncated", ("error",), r"(?i)incomplete|truncat|closed|protocol|short|length"),
    Case("malformed-xml", ("layout-changed", "error"), r"(?i)xml|pars|format|items|layout"),
    Case("billion-laughs", ("ok", "layout-changed", "error")),
    Case("xxe", ("ok", "layout-changed", "error")),
    Case("huge-50mb", ("error", "layout-changed"), r"(?i)size|large|cap|bytes|limit|MB"),
    Case("wrong-charset", ("ok",), items_first_run=True),
    Case("anti-bot", ("blocked",), r"(?i)WZWS|JavaScript|challenge"),
)
CONTROL = "control"


@dataclass
class Outcome:
    config: Path
    db: Path
    runs: list[subprocess.CompletedProcess[str]]
    mails: list[list[Received]]  # messages received during each run
    titles_after: list[dict[str, list[str]]]  # per run: source -> stored titles
    health_after: list[dict[str, tuple[str, str]]]  # per run: source -> (status, reason)
    huge: Huge
    secret_hits: int
    extra: dict[str, object] = field(default_factory=dict)


def _snapshot(db: Path) -> tuple[dict[str, list[str]], dict[str, tuple[str, str]]]:
    titles: dict[str, list[str]] = {}
    for sid, title in db_rows(db, "SELECT source_id, title FROM items ORDER BY rowid"):
        titles.setdefault(str(sid), []).append(str(title))
    health = {
        str(sid): (str(status), str(reason))
        for sid, status, reason in db_rows(db, "SELECT source_id, status, reason FROM source_state")
    }
    return titles, health


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outcome]:
    tmp_path = tmp_path_factory.mktemp("faults")
    refused_port = free_port()  # nothing listens here during the faulty run
    huge = Huge()
    with HTTPTestServer() as http, SMTPTestServer() as smtp:
        r = http.routes
        r["/control.xml"] = good_route(CONTROL)
        r["/timeout-mid-body.xml"] = Route(handler=stall_mid_body)
        r["/http-500.xml"] = Route(b"<html><body>oops</body></html>", status=500)
        r["/http-503-retry-after.xml"] = Route(
            b"<html><body>busy</body></html>", status=503, headers={"Retry-After": "1"}
        )
        r["/http-503-then-ok.xml"] = Route(handler=FlakyThenOk("http-503-then-ok"))
        r["/http-429.xml"] = Route(
            b"<html><body>slow down</body></html>", status=429, headers={"Retry-After": "1"}
        )
        r["/redirect-loop.xml"] = Route(status=302, headers={"Location": "/redirect-loop.xml"})
        body = feed_for("truncated").encode()
        r["/truncated.xml"] = Route(body, content_type=RSS_TYPE, truncate_to=len(body) // 2)
        r["/malformed-xml.xml"] = Route(
            b'<?xml version="1.0"?><rss><channel><item><title>\xe5\x80\x9f & <<< </chan',
            content_type=RSS_TYPE,
        )
        r["/billion-laughs.xml"] = Route(BILLION_LAUGHS.encode(), content_type=RSS_TYPE)
        r["/xxe.xml"] = Route(xxe_feed(http.url("/secret.txt")).encode(), content_type=RSS_TYPE)
        r["/secret.txt"] = Route(SECRET.encode(), content_type="text/plain")
        r["/huge-50mb.xml"] = Route(handler=huge)
        r["/wrong-charset.xml"] = Route(
            feed_for("wrong-charset", encoding="GBK").encode("gbk"),
            content_type="application/rss+xml; charset=utf-8",  # the header lies
        )
        r["/anti-bot.xml"] = Route(CHALLENGE.encode(), status=202, content_type="text/html")

        sources = [Src(CONTROL, http.url("/control.xml"))]
        for case in CASES:
            url = (
                f"http://127.0.0.1:{refused_port}/refused.xml"
                if case.id == "refused"
                else http.url(f"/{case.id}.xml")
            )
            sources.append(Src(case.id, url))
        config = write_config(tmp_path, sources, smtp)
        db = config.parent / "data" / "lendwatch.db"

        runs: list[subprocess.CompletedProcess[str]] = []
        mails: list[list[Received]] = []
        titles_after: list[dict[str, list[str]]] = []
        health_after: list[dict[str, tuple[str, str]]] = []

        def one_run() -> None:
            before = len(smtp.messages)
            runs.append(lendwatch(config, "run"))
            mails.append(list(smtp.messages[before:]))
            titles, health = _snapshot(db)
            titles_after.append(titles)
            health_after.append(health)

        try:
            one_run()  # every fault at once
            STOP.set()
            for case in CASES:  # heal
                if case.id != "refused":
                    r[f"/{case.id}.xml"] = good_route(case.id)
            with HTTPTestServer(port=refused_port) as healed:
                healed.routes["/refused.xml"] = good_route("refused")
                one_run()  # everything comes back
                one_run()  # and nothing new happens
            yield Outcome(
                config,
                db,
                runs,
                mails,
                titles_after,
                health_after,
                huge,
                secret_hits=len(http.hits("/secret.txt")),
            )
        finally:
            STOP.set()


def test_the_faulty_cycle_finishes_and_reports(outcome: Outcome) -> None:
    first = outcome.runs[0]
    assert first.returncode == 0, first.stderr
    assert f"{len(CASES) + 1} sources" in first.stdout


def test_control_source_is_stored_and_mailed_once(outcome: Outcome) -> None:
    assert sorted(outcome.titles_after[0][CONTROL]) == sorted(titles_for(CONTROL))
    assert len(outcome.mails[0]) == 1
    assert mailed_for(CONTROL) in mail_text(outcome.mails[0][0])
    for later in outcome.mails[1:]:
        for received in later:
            assert mailed_for(CONTROL) not in mail_text(received), "mailed again"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_fault_is_reported_against_its_source(outcome: Outcome, case: Case) -> None:
    first = outcome.runs[0]
    status, reason = outcome.health_after[0][case.id]
    assert status in case.statuses, (status, reason)
    if status != "ok":
        if case.reason:
            assert re.search(case.reason, reason), reason
        # the summary and one log line name the source
        assert re.search(rf"^\s+{re.escape(case.id)}: {re.escape(status)}: ", first.stdout, re.M)
        assert re.search(rf"{re.escape(case.id)}: {re.escape(status)}: ", first.stderr)
    stored = outcome.titles_after[0].get(case.id, [])
    if case.items_first_run:
        assert sorted(stored) == sorted(titles_for(case.id))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_nothing_is_lost_and_nothing_mailed_twice(outcome: Outcome, case: Case) -> None:
    assert outcome.runs[1].returncode == 0, outcome.runs[1].stderr
    assert outcome.health_after[1][case.id][0] == "ok", outcome.health_after[1][case.id]
    assert set(titles_for(case.id)) <= set(outcome.titles_after[1][case.id])
    mailed = [
        received
        for run in outcome.mails
        for received in run
        if mailed_for(case.id) in mail_text(received)
    ]
    assert len(mailed) == 1, "the flagged item in exactly one digest"


def test_third_run_sends_nothing(outcome: Outcome) -> None:
    assert outcome.runs[2].returncode == 0, outcome.runs[2].stderr
    assert outcome.mails[2] == []
    assert outcome.titles_after[2] == outcome.titles_after[1]


def test_entities_are_neither_expanded_nor_fetched(outcome: Outcome) -> None:
    assert outcome.secret_hits == 0, "an external entity was fetched"
    for titles in outcome.titles_after:
        for title in titles.get("billion-laughs", []) + titles.get("xxe", []):
            assert "lollol" not in title
            assert SECRET not in title and "root:" not in title
    bodies = db_rows(outcome.db, "SELECT title || summary || body FROM items")
    assert all("lollollol" not in str(b[0]) and SECRET not in str(b[0]) for b in bodies)


def test_huge_body_is_cut_at_the_size_cap(outcome: Outcome) -> None:
    assert outcome.huge.sent < 50 * 1024 * 1024, "the whole 50 MB was read"


def test_wrong_charset_header_still_decodes(outcome: Outcome) -> None:
    assert sorted(outcome.titles_after[0]["wrong-charset"]) == sorted(titles_for("wrong-charset"))


def test_database_stays_private(outcome: Outcome) -> None:
    assert outcome.db.stat().st_mode & 0o777 == 0o600
    rows = db_rows(outcome.db, "PRAGMA integrity_check")
    assert rows == [("ok",)]
