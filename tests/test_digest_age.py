"""Backlog is not mailed item by item: the first fetch of a source (its whole list page, archive
included) is stored and classified, then counted once in the digest; what appears later above
the seen items is news whatever its date. How a list decides backlog: tests/test_news.py and,
through real fetches, tests/test_news_cycle.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.config import load_config
from pipeline.digest import send_alerts, send_digest
from pipeline.errors import ConfigError
from tests.support.digest_fixtures import NOW, add_item, database
from tests.support.smtpserver import SMTPTestServer

CONFIG = """
[settings]
data_dir = "data"

[digest]
language = "zh"
{digest}

[email]
host = "{host}"
port = {port}
security = "none"
sender = "lendwatch@example.com"
recipients = ["risk@example.com"]

[[sources]]
id = "pboc"
name = "中国人民银行"
kind = "rss"
url = "https://pbc.example/feed.xml"
authority = "regulator"
"""


def write(tmp_path: Path, smtp: SMTPTestServer, digest: str = "") -> Path:
    path = tmp_path / "sources.toml"
    text = CONFIG.format(digest=digest, host=smtp.host, port=smtp.port)
    path.write_text(text, encoding="utf-8")
    return path


def test_first_fetch_is_counted_once_then_news_is_mailed_whatever_its_date(
    tmp_path: Path, smtp_server: SMTPTestServer
) -> None:
    """The first fetch of the PBOC list (2017-2020 notices, a recent one, an undated one) is
    backlog: no alert, no entry, one line of counts in the next digest and never again. A day
    later, notices that appeared above the seen ones are news, a late-posted one 20 days old
    included (the list's order decides, not the date: ``pipeline.news``)."""
    config = load_config(write(tmp_path, smtp_server))
    assert config.digest.max_age_days == 14 and config.digest.first_fetch == "count"
    store = database(config)
    seen = NOW - timedelta(hours=1)
    first = [
        add_item(
            store,
            "pboc",
            f"archive-{n}",
            f"中国人民银行关于规范第{n}批网络小额贷款业务的通知",
            severity="high",
            topics=("micro-loan",),
            published=datetime(2017 + n % 4, 1 + n % 12, 1 + n, tzinfo=UTC),
            first_seen=seen,
            backlog="first-fetch",
        )
        for n in range(20)
    ]
    first.append(
        add_item(
            store,
            "pboc",
            "new",
            "中国人民银行关于加强助贷业务管理的通知",
            severity="high",
            published=NOW - timedelta(days=2),
            first_seen=seen,
            backlog="first-fetch",
        )
    )
    add_item(  # an unflagged one of the same page: counted, not flagged
        store,
        "pboc",
        "unflagged",
        "中国人民银行召开2026年工作会议",
        flagged=False,
        first_seen=seen,
        backlog="first-fetch",
    )

    assert send_alerts(store, config, now=NOW).sent == 0
    digest = send_digest(store, config, now=NOW)
    assert (digest.sent, digest.stories) == (1, 0)
    text = smtp_server.messages[0].text
    assert "中国人民银行：首次抓取，收录 22 条较早的条目，其中 21 条标记" in text
    assert "lendwatch export --source pboc --backlog" in text
    assert "加强助贷业务管理" not in text and "网络小额贷款业务" not in text
    html = smtp_server.messages[0].message.get_body(("html",))
    assert html is not None and "首次抓取，收录 22 条较早的条目" in html.get_content()
    # counted (digested_at) without any message carrying them one by one
    marks = store.db.execute(
        "SELECT COUNT(*) FROM items WHERE backlog = 'first-fetch' AND digested_at IS NOT NULL"
    ).fetchone()
    assert marks[0] == 22
    assert store.db.execute("SELECT COUNT(*) FROM delivery_items").fetchone()[0] == 0

    # a day later: two notices appeared above the seen ones, one posted 20 days late
    later = NOW + timedelta(days=1)
    for guid, days in (("late-20", 20), ("today", 0)):
        add_item(
            store,
            "pboc",
            guid,
            f"中国人民银行关于网络借贷信息中介{guid}的通知",
            severity="high",
            topics=("p2p",),
            published=later - timedelta(days=days, hours=2),
            first_seen=later - timedelta(hours=1),
        )
    assert send_alerts(store, config, now=later).stories == 2
    digest = send_digest(store, config, now=later + timedelta(hours=1))
    assert digest.stories == 2
    text = smtp_server.messages[-1].text
    assert "late-20" in text and "today" in text
    assert "首次抓取" not in text  # the count was told once


def test_max_age_days_is_configurable(tmp_path: Path, smtp_server: SMTPTestServer) -> None:
    config = load_config(write(tmp_path, smtp_server, "max_age_days = 30"))
    assert config.digest.max_age_days == 30
    store = database(config)
    add_item(
        store,
        "pboc",
        "late-20",
        "中国人民银行关于网络借贷信息中介机构的通知",
        severity="medium",
        topics=("p2p",),
        published=NOW - timedelta(days=20),
        first_seen=NOW - timedelta(hours=1),
    )
    assert send_digest(store, config, now=NOW).stories == 1
    store.close()
    for bad in ("max_age_days = 0", 'max_age_days = "14"'):
        with pytest.raises(ConfigError, match="max_age_days"):
            load_config(write(tmp_path, smtp_server, bad))
    with pytest.raises(ConfigError, match=r"digest\.first_fetch: expected count or mail"):
        load_config(write(tmp_path, smtp_server, 'first_fetch = "all"'))
