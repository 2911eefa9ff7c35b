"""One cycle (pipeline.run) on a real SQLite file against the loopback server."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from pipeline.config import Config, Settings
from pipeline.errors import StoreError
from pipeline.fetch.http import DEFAULT_POLICY
from pipeline.models import Source
from pipeline.run import load_classifier, run_cycle
from pipeline.store import Store
from tests.support.httpserver import HTTPTestServer, Route

ROOT = Path(__file__).resolve().parents[1]
FEED = """<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>
<link>https://n.example.cn/</link><description>d</description>
<item><title>关于暂停借呗新增授信的公告 {n}</title><link>https://n.example.cn/{n}/1</link>
<pubDate>Fri, 27 Nov 2026 09:30:00 +0800</pubDate></item>
<item><title>沪深两市成交额突破万亿 {n}</title><link>https://n.example.cn/{n}/2</link></item>
</channel></rss>"""


def config(tmp_path: Path, http: HTTPTestServer, n: int) -> Config:
    sources = []
    for i in range(n):
        http.routes[f"/f{i}.xml"] = Route(
            FEED.format(n=i).encode(), content_type="application/rss+xml", etag=f'"{i}"'
        )
        sources.append(Source(id=f"f{i}", name=f"Feed {i}", kind="rss", url=http.url(f"/f{i}.xml")))
    settings = Settings(data_dir=tmp_path, rules=ROOT / "rules.toml")
    return Config(path=tmp_path / "sources.toml", settings=settings, sources=tuple(sources))


def stored(db_path: Path) -> list[tuple[str, str | None, bool, str | None]]:
    store = Store.open(db_path)
    rows = sorted((i.title, i.url, i.flagged, i.severity) for i in store.iter_items())
    store.close()
    return rows


def test_parsing_in_a_worker_process_stores_the_same(
    tmp_path: Path, http_server: HTTPTestServer
) -> None:
    cfg = config(tmp_path, http_server, 3)
    classifier = load_classifier(cfg)
    inline_cfg = replace(cfg, settings=replace(cfg.settings, data_dir=tmp_path / "inline"))
    pooled_cfg = replace(cfg, settings=replace(cfg.settings, data_dir=tmp_path / "pooled"))
    pooled = replace(DEFAULT_POLICY, parse_processes=1)
    for c, policy in ((inline_cfg, DEFAULT_POLICY), (pooled_cfg, pooled)):
        store = Store.open(c.settings.db_path)
        report = run_cycle(c, store, classifier=classifier, policy=policy)
        store.close()
        assert report.new_items == 6 and report.flagged_items == 3 and not report.failed
    rows = stored(inline_cfg.settings.db_path)
    assert rows == stored(pooled_cfg.settings.db_path)
    assert sum(r[2] for r in rows) == 3


def test_second_cycle_is_all_304_and_stores_nothing(
    tmp_path: Path, http_server: HTTPTestServer
) -> None:
    cfg = config(tmp_path, http_server, 4)
    store = Store.open(cfg.settings.db_path)
    first = run_cycle(cfg, store)
    second = run_cycle(cfg, store)
    store.close()
    assert first.new_items == 8 and [s.status for s in first.sources] == ["ok"] * 4
    assert all(s.not_modified for s in second.sources) and second.new_items == 0
    assert [s.source_id for s in second.sources] == ["f0", "f1", "f2", "f3"]  # config order


def test_a_failing_database_fails_the_cycle_without_blaming_the_sources(
    tmp_path: Path, http_server: HTTPTestServer
) -> None:
    cfg = config(tmp_path, http_server, 2)
    store = Store.open(cfg.settings.db_path)
    store.db.execute("PRAGMA query_only = 1")  # every write fails, as on a full or read-only disk
    with pytest.raises(StoreError, match=r"lendwatch\.db: cannot store the items of f\d: .*"):
        run_cycle(cfg, store)
    assert list(store.iter_items()) == []
    # nothing was committed against the sources: no failure counted, no validators kept
    assert store.source_states() == {}
    store.db.execute("PRAGMA query_only = 0")
    again = run_cycle(cfg, store)
    assert (
        again.new_items == 4 and not again.failed and not any(s.not_modified for s in again.sources)
    )
    store.close()


class FailsOn:
    """A classifier that raises an Exception (a bug, a RecursionError) on one source's items."""

    def __init__(self, real: object, bad_title: str) -> None:
        self.real = real
        self.bad_title = bad_title

    def classify(self, title: str, *args: object, **kwargs: object) -> object:
        if self.bad_title in title:
            raise RecursionError("maximum recursion depth exceeded")
        return self.real.classify(title, *args, **kwargs)  # type: ignore[attr-defined]


def test_an_exception_on_one_sources_items_is_that_sources_error(
    tmp_path: Path, http_server: HTTPTestServer
) -> None:
    cfg = config(tmp_path, http_server, 3)
    store = Store.open(cfg.settings.db_path)
    broken = FailsOn(load_classifier(cfg), "沪深两市成交额突破万亿 1")
    report = run_cycle(cfg, store, classifier=broken)  # type: ignore[arg-type]
    statuses = {s.source_id: (s.status, s.reason) for s in report.sources}
    assert statuses["f1"] == (
        "error",
        "internal error: RecursionError: maximum recursion depth exceeded",
    )
    assert statuses["f0"] == statuses["f2"] == ("ok", "")
    titles = sorted(i.title for i in store.iter_items())
    assert len(titles) == 4 and not any(t.endswith(" 1") for t in titles)  # f1: nothing half-stored
    assert store.source_states()["f1"].status == "error"
    store.close()
