"""Items already stored keep their identity (issue #18, "Unchanged"), and a page's warnings
reach the operator.

The database written by lendwatch as of 2026-12-03 (tests/data/db) holds items parsed from the
recorded pages by the previous parsers (the lxml fast path, the old canonical URLs): today's
parsers must give every one of them the same id. Items stored under the old canonical URL of a
hash-routed link (fragment dropped) are found under it, not stored and mailed again.
"""

from __future__ import annotations

import logging
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.config import Config, Settings
from pipeline.fetch.parse import result
from pipeline.models import Fetched, Item, Source
from pipeline.run import run_cycle
from pipeline.store import Store
from tests.support.harness import RSS_TYPE, Src, lendwatch, write_config
from tests.support.httpserver import HTTPTestServer, Route
from tests.support.shipped import SOURCES

ROOT = Path(__file__).resolve().parents[1]
LEGACY = ROOT / "tests" / "data" / "db" / "lendwatch-2026-12-03.db"
FIXTURES = ROOT / "tests" / "fixtures" / "sources"
PICK = {
    "pboc-news": (".html", "text/html"),
    "nfra-915": (".json", "application/json"),
    "kr36": (".xml", "application/xml"),
    "jiemian-finance": (".html", "text/html"),
    "cfpb-newsroom": (".xml", "application/xml"),
    "yicai-headline": (".json", "application/json"),
}


@pytest.mark.parametrize("sid", sorted(PICK))
def test_items_stored_by_the_previous_version_keep_their_ids(tmp_path: Path, sid: str) -> None:
    db = tmp_path / "lendwatch.db"
    shutil.copy(LEGACY, db)
    source = SOURCES[sid]
    ext, ctype = PICK[sid]
    fetched = Fetched(
        sid,
        source.url,
        200,
        {"content-type": ctype},
        (FIXTURES / f"{sid}{ext}").read_bytes(),
        datetime(2026, 12, 3, tzinfo=UTC),
    )
    res = result(fetched, source)
    assert res.status == "ok"
    with Store.open(db) as store:
        before = {i.id for i in store.iter_items() if i.source_id == sid}
        assert before, "the legacy database holds this source's items"
        assert before <= {i.id for i in res.items}
        saved = store.save_items(res.items)
    assert not {i.id for i in saved.new} & before  # nothing stored before is new again
    assert len(saved.new) == len(res.items) - len(before)


ROUTED = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>app</title><link>https://app.example.cn/</link>
<description>x</description>{items}</channel></rss>"""


def routed_feed(*routes: tuple[str, str]) -> bytes:
    items = "".join(
        f"<item><title>{title}</title><link>https://app.example.cn/#/news/{n}</link></item>"
        for n, title in routes
    )
    return ROUTED.format(items=items).encode()


def test_hash_routed_items_stored_under_the_old_url_are_not_new(
    tmp_path: Path, http_server: HTTPTestServer
) -> None:
    source = Source(id="app", name="app", kind="rss", url=http_server.url("/app.xml"))
    config = Config(
        path=tmp_path / "sources.toml",
        settings=Settings(data_dir=tmp_path, rules=ROOT / "rules.toml"),
        sources=(source,),
    )
    store = Store.open(config.settings.db_path)
    # what the previous canonical URLs stored: one item, the fragment dropped, the first route
    old = Item(
        "app",
        "https://app.example.cn/",
        "关于暂停借呗新增授信的公告",
        url="https://app.example.cn/",
    )
    store.save_items([old])
    one, two, three = ("1", old.title), ("2", "花呗调整分期手续费率"), ("3", "京东金条暂停借款")

    http_server.routes["/app.xml"] = Route(routed_feed(one, two), content_type=RSS_TYPE)
    first = run_cycle(config, store)
    assert first.new_items == 1  # the second route, never stored before
    ids = {i.title: (i.id, i.guid) for i in store.iter_items()}
    assert ids[old.title] == (old.id, old.guid)  # the stored item kept its identity
    assert ids[two[1]][1] == "https://app.example.cn/#/news/2"

    assert run_cycle(config, store).new_items == 0
    http_server.routes["/app.xml"] = Route(routed_feed(three, one, two), content_type=RSS_TYPE)
    third = run_cycle(config, store)
    assert third.new_items == 1
    titles = sorted(i.title for i in store.iter_items())
    assert titles == sorted([old.title, two[1], three[1]])
    assert {i.guid for i in store.iter_items() if i.title == old.title} == {old.guid}
    store.close()


MESSY = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>m</title><link>https://m.example.cn/</link>
<description>x</description>
<item><title>关于暂停借呗新增授信的公告（messy）</title><link>https://m.example.cn/1</link>
<pubDate>0001-01-01 00:00:00</pubDate></item>
<item><title>占位日期 2</title><link>https://m.example.cn/2</link>
<pubDate>0001-01-01T00:00:00+08:00</pubDate></item>
<item><title>读不懂的日期</title><link>https://m.example.cn/3</link>
<pubDate>2013-01-27-01</pubDate></item>
<item><link>https://m.example.cn/4</link></item>
<item><title>CST 日期</title><link>https://m.example.cn/5</link>
<pubDate>Thu, 01 Jan 2026 19:48:21 CST</pubDate></item>
</channel></rss>"""
UNTITLED = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>u</title><link>https://u.example.cn/</link>
<description>x</description>
<item><link>https://u.example.cn/1</link><guid isPermaLink="false">u-1</guid></item>
<item><link>https://u.example.cn/2</link><guid isPermaLink="false">u-2</guid></item>
</channel></rss>"""


def test_bad_items_never_fail_their_page_and_the_warnings_are_logged(
    tmp_path: Path, http_server: HTTPTestServer, caplog: pytest.LogCaptureFixture
) -> None:
    http_server.routes["/messy.xml"] = Route(MESSY.encode(), content_type=RSS_TYPE)
    http_server.routes["/untitled.xml"] = Route(UNTITLED.encode(), content_type=RSS_TYPE)
    sources = (
        Source(id="messy", name="m", kind="rss", url=http_server.url("/messy.xml")),
        Source(id="untitled", name="u", kind="rss", url=http_server.url("/untitled.xml")),
    )
    config = Config(
        path=tmp_path / "sources.toml",
        settings=Settings(data_dir=tmp_path, rules=ROOT / "rules.toml"),
        sources=sources,
    )
    with Store.open(config.settings.db_path) as store, caplog.at_level(logging.WARNING):
        report = run_cycle(config, store)
        stored = {i.title: i.published for i in store.iter_items()}
    messy, untitled = report.sources
    assert (messy.status, messy.new) == ("ok", 4)
    assert stored["关于暂停借呗新增授信的公告（messy）"] is None  # placeholder: no date
    assert stored["读不懂的日期"] is None  # never a made-up time
    assert stored["CST 日期"] == datetime(2026, 1, 1, 11, 48, 21, tzinfo=UTC)  # +08:00
    assert (untitled.status, untitled.reason) == (
        "layout-changed",
        "0 items (min_items=1): 2 entries without a title skipped (first link"
        " 'https://u.example.cn/1')",
    )
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("messy: ")]
    warned = [line for line in lines if "page warning" in line]
    assert warned == [
        "messy: 3 page warnings: 2 dates out of range: '0001-01-01 00:00:00' for"
        " '关于暂停借呗新增授信的公告（messy）'; unparseable date: '2013-01-27-01'"
        " for '读不懂的日期'; entry without a title skipped (first link 'https://m.example.cn/4')"
    ]


def test_test_source_shows_the_warnings_and_why_a_page_failed(
    tmp_path: Path, http_server: HTTPTestServer
) -> None:
    http_server.routes["/messy.xml"] = Route(MESSY.encode(), content_type=RSS_TYPE)
    http_server.routes["/untitled.xml"] = Route(UNTITLED.encode(), content_type=RSS_TYPE)
    config = write_config(
        tmp_path,
        [
            Src("messy", http_server.url("/messy.xml")),
            Src("untitled", http_server.url("/untitled.xml")),
        ],
    )
    shown = lendwatch(config, "test-source", "messy")
    assert shown.returncode == 0, shown.stderr
    assert "warning: unparseable date: '2013-01-27-01' for '读不懂的日期'" in shown.stdout
    assert "warning: 2 dates out of range" in shown.stdout
    failed = lendwatch(config, "test-source", "untitled")
    assert failed.returncode == 1
    assert "health: layout-changed: 0 items (min_items=1): 2 entries without a title skipped" in (
        failed.stdout
    )
