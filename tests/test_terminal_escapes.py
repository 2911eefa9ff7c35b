"""Stored and fetched text never reaches the terminal as escape sequences or control characters.

The items are written to the database directly (as an older lendwatch, or a missed strip on the
fetch side, could have stored them); each command that prints such text is run as a subprocess
and its output searched for ESC, the 8-bit CSI/OSC, BEL, NUL and bidirectional overrides.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pipeline.cli.display import redact_url, safe
from pipeline.db import utcnow
from pipeline.models import Item, SourceReport, SourceResult, Verdict
from pipeline.store import Store
from tests.support.harness import RSS_TYPE, Src, lendwatch, write_config
from tests.support.httpserver import HTTPTestServer, Route

HOSTILE = (
    "借呗\x1b[2J\x1b[31m暂停\x1b[0m新增授信"  # clear screen, colour
    "\x1b]0;pwned\x07"  # OSC: window title
    "\x1b]8;;https://evil.example/\x1b\\点此\x1b]8;;\x1b\\"  # OSC 8: a disguised link
    "\x9b6n\x9d2;title\x9c"  # 8-bit CSI and OSC
    "\x00\x08\u202e公告"  # NUL, backspace, right-to-left override
)
FORBIDDEN = ("\x1b", "\x9b", "\x9d", "\x9c", "\x07", "\x00", "\x08", "\u202e")


def _clean(output: str) -> None:
    for char in FORBIDDEN:
        assert char not in output, f"{char!r} reached the terminal"


def test_safe_keeps_the_text_and_drops_the_sequences() -> None:
    assert safe(HOSTILE) == "借呗暂停新增授信点此公告"
    assert safe("a\tb\nc") == "a b c"
    assert safe(None) == ""
    assert redact_url("https://u:p@h.example/x?sig=1") == "https://u:***@h.example/x?sig=***"


def _store_hostile(db: Path) -> str:
    with Store.open(db) as store:
        item = Item("a", "g1", HOSTILE, url="https://a.example.cn/1\x1b[8m", summary=HOSTILE)
        verdict = Verdict(
            flagged=True,
            severity="high",
            score=9.0,
            explanation=(f"flagged: {HOSTILE}",),
            snippet=HOSTILE,
        )
        store.save_verdicts([(i.id, verdict) for i in store.save_items([item]).new])
        store.record_result(
            SourceResult("a", "error", f"HTTP 500: {HOSTILE}"),
            SourceReport("a", "error", HOSTILE, 0, 0, 0, 0, False, 0.1),
        )
        delivery = store.create_delivery(
            kind="digest",
            channel="smtp",
            target="risk@example.com",
            recipients=["risk@example.com"],
            subject=f"摘要 {HOSTILE}",
            message_id="<x@example>",
            payload=b"x",
            item_ids=[],
            now=utcnow() - timedelta(hours=1),
        )
        store.mark_failed(delivery, f"550 {HOSTILE}", utcnow() - timedelta(hours=1))
        return item.id


def test_stored_text_is_printed_without_escapes(tmp_path: Path) -> None:
    config = write_config(tmp_path, [Src("a", "https://a.example.cn/feed.xml")])
    item_id = _store_hostile(tmp_path / "data" / "lendwatch.db")
    for args in (
        ["search", "借呗"],
        ["search", "借呗", "--json"],
        ["explain", item_id],
        ["sources"],
        ["status"],
        ["deliveries"],
        ["reclassify", "--dry-run"],
    ):
        result = lendwatch(config, *args)
        assert result.returncode == 0, (args, result.stderr)
        _clean(result.stdout)
        _clean(result.stderr)
        if args[0] in ("search", "explain"):
            assert "借呗" in result.stdout and "新增授信" in result.stdout  # the text stays


FEED = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>x</title><link>https://x.example.cn/</link>
<description>x</description>
<item><title>借呗\u009b2J暂停\u202e新增授信</title><link>https://x.example.cn/1.html</link>
<pubDate>Fri, 27 Nov 2026 09:30:00 +0800</pubDate>
<description>正文\u009d0;pwned\u009c内容</description></item>
</channel></rss>
"""


def test_test_source_prints_fetched_text_without_escapes(
    tmp_path: Path, http_server: HTTPTestServer
) -> None:
    http_server.routes["/x.xml"] = Route(FEED.encode(), content_type=RSS_TYPE)
    config = write_config(tmp_path, [Src("x", http_server.url("/x.xml"))])
    result = lendwatch(config, "test-source", "x")
    assert result.returncode == 0, result.stderr
    _clean(result.stdout)
    assert "借呗" in result.stdout and "新增授信" in result.stdout
    saved = tmp_path / "x.xml"
    saved.write_text(FEED, encoding="utf-8")
    from_file = lendwatch(config, "test-source", "x", "--file", str(saved))
    assert from_file.returncode == 0, from_file.stderr
    _clean(from_file.stdout)
