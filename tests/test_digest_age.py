"""Old news is never mailed: the first fetch of a source stores its whole list page (archive
included); items published more than ``[digest] max_age_days`` before they were first seen are
stored and classified but neither digested nor alerted. Undated items count as new."""

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


def test_first_digest_after_install_mails_only_news_not_the_archive(
    tmp_path: Path, smtp_server: SMTPTestServer
) -> None:
    config = load_config(write(tmp_path, smtp_server))
    assert config.digest.max_age_days == 14  # the default
    store = database(config)
    # the first fetch of the PBOC list page: 2017-2020 notices, one new notice, one undated
    seen = NOW - timedelta(hours=1)
    archive = [
        add_item(
            store,
            "pboc",
            f"archive-{n}",
            f"中国人民银行关于规范第{n}批网络小额贷款业务的通知",
            severity="high",
            topics=("micro-loan",),
            published=datetime(2017 + n % 4, 1 + n % 12, 1 + n, tzinfo=UTC),
            first_seen=seen,
        )
        for n in range(20)
    ]
    add_item(
        store,
        "pboc",
        "new",
        "中国人民银行关于加强助贷业务管理的通知",
        severity="high",
        topics=("bank-internet-loan",),
        published=NOW - timedelta(days=2),
        first_seen=seen,
    )
    add_item(
        store,
        "pboc",
        "undated",
        "征信业务常见问题解答",
        severity="medium",
        topics=("credit-reporting",),
        published=None,
        first_seen=seen,
    )

    alerts = send_alerts(store, config, now=NOW)
    assert (alerts.sent, alerts.stories) == (1, 1)
    assert "加强助贷业务管理" in smtp_server.messages[0].text

    digest = send_digest(store, config, now=NOW)
    assert (digest.sent, digest.stories) == (1, 2)
    assert len(smtp_server.messages) == 2
    text = smtp_server.messages[1].text
    assert "加强助贷业务管理" in text and "征信业务常见问题解答" in text
    assert "网络小额贷款业务" not in text and "重要 1 条 · 关注 1 条" in text
    # the archive is handled (never offered again) without any message carrying it
    rows = store.db.execute(
        "SELECT COUNT(*) FROM items WHERE id IN ({}) AND digested_at IS NOT NULL"
        " AND alerted_at IS NULL".format(",".join("?" * len(archive))),
        archive,
    ).fetchone()
    assert rows[0] == len(archive)
    carried = store.db.execute(
        "SELECT COUNT(*) FROM delivery_items WHERE item_id IN ({})".format(
            ",".join("?" * len(archive))
        ),
        archive,
    ).fetchone()
    assert carried[0] == 0

    # a day later: a late-posted notice 10 days old is news; one 20 days old is not
    later = NOW + timedelta(days=1)
    for guid, days in (("late-10", 10), ("late-20", 20)):
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
    assert send_alerts(store, config, now=later).stories == 1
    assert "late-10" in smtp_server.messages[2].text
    assert send_digest(store, config, now=later + timedelta(hours=1)).stories == 1
    text = smtp_server.messages[3].text
    assert "late-10" in text and "late-20" not in text
    store.close()


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
