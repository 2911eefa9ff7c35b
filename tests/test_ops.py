"""Operating commands in process (click's CliRunner) on a real SQLite file: status, backup,
search (Chinese, FTS5 trigram), prune, and the daemon's refusal of a held data directory."""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from pipeline.cli import cli
from pipeline.config import Config, load_config
from pipeline.lock import DataDirLock
from pipeline.models import Item
from pipeline.store import Store
from tests.support.harness import Src, clean_env, write_config

ITEMS = (
    Item(
        "cn-news",
        "1001",
        "关于暂停借呗新增授信的公告",
        "https://news.example.cn/a/1001.html",
        summary="即日起暂停借呗新增授信，存量客户不受影响。",
        body="蚂蚁消费金融公司表示，借呗产品将调整授信策略。",
    ),
    Item(
        "cn-news",
        "1002",
        "国家金融监督管理总局发布《网络小额贷款业务管理暂行办法》",
        "https://news.example.cn/a/1002.html",
        body="明确网络小额贷款公司联合贷款出资比例不低于30%，跨省经营须经批准。",
    ),
    Item("en-reg", "n-1", "House votes to boost child tax credit", body="Tax policy."),
)


@pytest.fixture
def config(tmp_path: Path) -> Config:
    path = write_config(
        tmp_path,
        [
            Src("cn-news", "https://news.example.cn/rss.xml"),
            Src("en-reg", "https://reg.example.gov/rss.xml", "every = 600"),
        ],
    )
    return load_config(path)


def invoke(config: Config, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config.path), *args], env=clean_env())


def save(config: Config, now: datetime | None = None) -> None:
    store = Store.open(config.settings.db_path)
    try:
        store.save_items(ITEMS, now=now)
    finally:
        store.close()


def test_status_on_a_fresh_install(config: Config) -> None:
    result = invoke(config, "status")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "daemon      not running" in out
    assert "deliveries  0 pending" in out
    assert "cn-news" in out and "never-fetched" in out
    data = json.loads(invoke(config, "status", "--json").output)
    assert data["daemon"]["running"] is False
    assert [s["id"] for s in data["sources"]] == ["cn-news", "en-reg"]
    assert data["sources"][1]["every_seconds"] == 600
    assert data["digest"]["at"] == "08:00" and data["digest"]["last"] is None
    assert data["database"]["bytes"] > 0


def test_status_names_the_running_daemon(config: Config) -> None:
    with DataDirLock(config.settings.data_dir):
        data = json.loads(invoke(config, "status", "--json").output)
    assert data["daemon"]["running"] is True
    assert data["daemon"]["pid"] == os.getpid()


def test_daemon_refuses_a_held_data_directory(config: Config) -> None:
    with DataDirLock(config.settings.data_dir):
        result = invoke(config, "daemon")
    assert result.exit_code == 4
    assert f"pid {os.getpid()}" in result.output
    assert str(config.settings.data_dir / "lendwatch.lock") in result.output


def test_search_chinese_with_highlighted_snippets(config: Config) -> None:
    save(config)
    short = invoke(config, "search", "借呗")  # two characters: below the trigram size
    assert short.exit_code == 0, short.output
    assert "关于暂停借呗新增授信的公告" in short.output
    assert "[借呗]" in short.output
    assert "child tax credit" not in short.output

    long = invoke(config, "search", "网络小额贷款")
    assert long.exit_code == 0, long.output
    assert "网络小额贷款业务管理暂行办法" in long.output
    assert "[网络小额贷款]" in long.output
    assert "关于暂停借呗" not in long.output

    in_body = invoke(config, "search", "--json", "跨省经营")
    records = [json.loads(line) for line in in_body.output.splitlines() if line.startswith("{")]
    assert [r["id"] for r in records] == [ITEMS[1].id]
    assert "[跨省经营]" in records[0]["snippet"]

    none = invoke(config, "search", "花呗额度")
    assert none.exit_code == 0
    assert "0 results" in none.output


def test_backup_is_a_consistent_private_copy(config: Config, tmp_path: Path) -> None:
    save(config)
    target = tmp_path / "backups"
    result = invoke(config, "backup", f"{target}/")
    assert result.exit_code == 0, result.output
    (copy,) = target.iterdir()
    assert copy.stat().st_mode & 0o777 == 0o600
    conn = sqlite3.connect(copy)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        assert conn.execute("SELECT COUNT(*) FROM items").fetchone() == (3,)
        hits = conn.execute(
            "SELECT COUNT(*) FROM items_fts WHERE items_fts MATCH ?", ['"网络小额"']
        ).fetchone()
        assert hits == (1,)
    finally:
        conn.close()

    again = invoke(config, "backup", str(copy))
    assert again.exit_code == 3 and "--force" in again.output
    forced = invoke(config, "backup", "--force", str(copy))
    assert forced.exit_code == 0, forced.output


def test_prune_drops_old_bodies_and_keeps_titles(config: Config) -> None:
    save(config, now=datetime.now(UTC) - timedelta(days=400))
    result = invoke(config, "prune")  # retention_days defaults to 180
    assert result.exit_code == 0, result.output
    assert "pruned the bodies of 3 items older than 180 days" in result.output
    store = Store.open(config.settings.db_path)
    try:
        rows = list(store.db.execute("SELECT title, body FROM items"))
    finally:
        store.close()
    assert len(rows) == 3 and all(body == "" for _, body in rows)
    assert "1 result" in invoke(config, "search", "网络小额贷款").output  # titles still found
