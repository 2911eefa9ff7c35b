"""``lendwatch sources`` and ``lendwatch test-source`` through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.config import load_config
from pipeline.models import SourceReport, SourceResult
from pipeline.store import Store
from tests.support.httpserver import HTTPTestServer, Route

FIXTURES = Path(__file__).parent / "fixtures" / "sources"
ROOT = Path(__file__).resolve().parent.parent


def write_config(tmp_path: Path, url: str) -> Path:
    cfg = tmp_path / "sources.toml"
    cfg.write_text(
        f"""
[settings]
data_dir = "data"

[[sources]]
id = "safe-news"
name = "外汇新闻"
kind = "html"
url = "{url}"
authority = "regulator"
issuer = "safe"
every = "2h"
item = "div.list_conr ul li"
title = "dt a @title"
link = "dt a @href"
date = "dd"

[[sources]]
id = "fca-news"
name = "FCA news"
kind = "rss"
url = "{url}/rss.xml"
timezone = "Europe/London"
""",
        encoding="utf-8",
    )
    return cfg


def invoke(cfg: Path, *args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(cli, ["--config", str(cfg), *args], obj={})
    return res.exit_code, res.stdout, res.stderr


def test_sources_json_reports_health_from_the_store(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, "https://www.safe.gov.cn/safe/whxw/index.html")
    code, out, _ = invoke(cfg, "sources", "--json")
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in rows] == ["safe-news", "fca-news"]
    assert rows[0]["status"] == "never-fetched" and rows[0]["consecutive_failures"] == 0
    assert rows[0]["last_success"] is None and rows[0]["reason"] == ""

    store = Store.open(load_config(cfg).settings.db_path)
    try:
        failed = SourceResult("safe-news", "blocked", "anti-bot challenge (WZWS)", http_status=200)
        report = SourceReport("safe-news", "blocked", failed.reason, 0, 0, 0, 0, False, 0.1)
        store.record_result(failed, report)
    finally:
        store.close()
    code, out, _ = invoke(cfg, "sources", "--json")
    row = json.loads(out.splitlines()[0])
    assert (row["status"], row["reason"], row["consecutive_failures"]) == (
        "blocked",
        "anti-bot challenge (WZWS)",
        1,
    )
    code, out, _ = invoke(cfg, "sources")
    assert code == 0
    assert out.splitlines()[0].split() == [
        "ID",
        "KIND",
        "AUTHORITY",
        "EVERY",
        "STATUS",
        "FAILS",
        "LAST",
        "SUCCESS",
        "(UTC)",
        "REASON",
    ]
    assert "safe-news  html  regulator  2h     blocked" in out


def test_test_source_fetches_parses_and_stores_nothing(
    tmp_path: Path, http_server: HTTPTestServer
) -> None:
    http_server.routes["/safe"] = Route.file(FIXTURES / "safe-news.html")
    cfg = write_config(tmp_path, http_server.url("/safe"))
    code, out, _ = invoke(cfg, "test-source", "safe-news", "--limit", "2")
    assert code == 0, out
    assert "health: ok" in out and "items: 15" in out
    assert "- 2025-05-07 16:00  [2025-05-08]  日媒：国际油价跌至四年来低位" in out
    assert f"    {http_server.url('/safe/2026/0220/27010.html')}" in out
    assert not (tmp_path / "data" / "lendwatch.db").exists()


def test_test_source_reports_a_broken_source_and_exits_1(
    tmp_path: Path, http_server: HTTPTestServer
) -> None:
    http_server.routes["/safe"] = Route.file(FIXTURES / "bad-angular-shell.html")
    cfg = write_config(tmp_path, http_server.url("/safe"))
    code, out, _ = invoke(cfg, "test-source", "safe-news")
    assert code == 1
    assert "health: layout-changed: JavaScript shell page (Angular template), no content" in out


def test_test_source_from_a_file_and_unknown_ids(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, "https://www.fca.org.uk/news")
    code, out, _ = invoke(cfg, "test-source", "fca-news", "--file", str(FIXTURES / "fca-news.xml"))
    assert code == 0 and "items: 12" in out
    assert "- 2025-06-03 15:30  [Tuesday, June 3, 2025 - 16:30]  Ant Group publishes" in out
    code, _, err = invoke(cfg, "test-source", "nope")
    assert code == 2 and "unknown source 'nope'; configured: safe-news, fca-news" in err


def test_config_errors_exit_2_with_every_problem(tmp_path: Path) -> None:
    cfg = tmp_path / "sources.toml"
    cfg.write_text(
        '[[sources]]\nid = "x"\nname = "x"\nkind = "html"\nurl = "https://e.org/"\n'
        'item = "li:::bad"\ntitle = "a"\nevery = "soon"\n',
        encoding="utf-8",
    )
    code, _, err = invoke(cfg, "sources")
    assert code == 2
    assert "item: invalid CSS selector" in err and "source 'x'.every" in err
