"""Immediate alerts: batched, never twice for one story, marked in the digest; source health
events told once each; chat webhooks through apprise (a loopback HTTP server as the hook)."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from pathlib import Path

import pytest

from pipeline.config import NotifyConfig, Recipient
from pipeline.digest import send_alerts, send_digest
from pipeline.store import Store
from tests.support.digest_fixtures import (
    NOW,
    add_item,
    database,
    fail_source,
    make_config,
    ok_source,
    sample_items,
    smtp_config,
)
from tests.support.httpserver import HTTPTestServer, Route
from tests.support.smtpserver import SMTPTestServer


def alerted(store: Store) -> set[str]:
    return {r[0] for r in store.db.execute("SELECT guid FROM items WHERE alerted_at IS NOT NULL")}


def test_high_items_alerted_once_batched_and_marked_in_digest(
    tmp_path: Path, smtp_server: SMTPTestServer
) -> None:
    config = make_config(tmp_path, email=smtp_config(smtp_server.host, smtp_server.port))
    store = database(config)
    sample_items(store)
    report = send_alerts(store, config, now=NOW)
    assert (report.sent, report.stories, report.items) == (1, 2, 3)
    [received] = smtp_server.messages
    msg = received.message
    assert msg["Subject"].startswith("【借贷监测·提醒】2条重要：")
    assert msg["X-Lendwatch-Kind"] == "alert"
    text = received.text
    assert "借呗暂停新增授信" in text and "网络小额贷款业务管理暂行办法" in text
    assert "另见：新浪财经" in text  # the reprint is folded in, not alerted separately
    assert "助贷业务自律公约" not in text  # medium: digest only
    assert alerted(store) == {"2026-12", "a-88231", "n-5521"}

    assert send_alerts(store, config, now=NOW + timedelta(minutes=30)).sent == 0
    # another outlet reprints the regulation an hour later: same story, no second alert
    add_item(
        store,
        "yicai",
        "n-5600",
        "转载：国家金融监督管理总局关于印发《网络小额贷款业务管理暂行办法》的通知",
        severity="high",
        topics=("网络小贷",),
        doc_numbers=("金规〔2026〕12号",),
        first_seen=NOW + timedelta(hours=1),
    )
    assert send_alerts(store, config, now=NOW + timedelta(hours=1)).sent == 0
    assert len(smtp_server.messages) == 1
    assert "n-5600" in alerted(store)

    digest = send_digest(store, config, now=NOW + timedelta(hours=2))
    assert digest.sent == 1
    text = smtp_server.messages[-1].text
    assert text.count("✓ 已于 2026-11-28 08:00 即时提醒") == 2
    store.close()


def test_alert_respects_reader_filters_and_off(tmp_path: Path, smtp_server: SMTPTestServer) -> None:
    recipients: list[Recipient | str] = [
        Recipient("credit@example.com", topics=("征信",)),
        "all@example.com",
    ]
    email = smtp_config(smtp_server.host, smtp_server.port, recipients)
    off = make_config(tmp_path, email=email, alerts="off")
    store = database(off)
    sample_items(store)
    assert send_alerts(store, off, now=NOW).sent == 0 and smtp_server.messages == []

    medium = make_config(tmp_path, email=email, alerts="medium")
    report = send_alerts(store, medium, now=NOW)
    assert report.sent == 1  # nothing on 征信 is medium or above: credit@ gets none
    [received] = smtp_server.messages
    assert received.recipients == ["all@example.com"]
    assert "助贷业务自律公约" in received.text
    store.close()


def test_items_already_in_a_digest_are_not_alerted_later(
    tmp_path: Path, smtp_server: SMTPTestServer
) -> None:
    config = make_config(tmp_path, email=smtp_config(smtp_server.host, smtp_server.port))
    store = database(config)
    sample_items(store)
    assert send_digest(store, config, now=NOW).sent == 1
    assert send_alerts(store, config, now=NOW + timedelta(minutes=5)).sent == 0
    assert len(smtp_server.messages) == 1
    store.close()


def test_backlog_items_are_neither_alerted_nor_listed(
    tmp_path: Path, smtp_server: SMTPTestServer
) -> None:
    """A high-severity item stored as backlog (a first fetch) is not alerted; the digest counts
    it and does not list it."""
    config = make_config(tmp_path, email=smtp_config(smtp_server.host, smtp_server.port))
    store = database(config)
    title = "关于规范商业银行互联网贷款业务的通知"
    add_item(store, "nfra", "old", title, severity="high", backlog="first-fetch")
    assert send_alerts(store, config, now=NOW).sent == 0
    assert smtp_server.messages == []
    assert send_digest(store, config, now=NOW).sent == 1
    text = smtp_server.messages[0].text
    assert title not in text
    assert "首次抓取，收录 1 条较早的条目，其中 1 条标记" in text
    store.close()


def test_source_health_told_once_each(tmp_path: Path, smtp_server: SMTPTestServer) -> None:
    config = make_config(tmp_path, email=smtp_config(smtp_server.host, smtp_server.port))
    store = database(config)
    fail_source(
        store, "pboc", "blocked", "WZWS challenge: 请开启JavaScript", 2, NOW - timedelta(hours=2)
    )
    report = send_alerts(store, config, now=NOW)
    assert (report.sent, report.events) == (1, 1)
    msg = smtp_server.messages[0].message
    assert msg["Subject"] == "【借贷监测·数据源】1项状态变化：中国人民银行 已中断"
    assert "WZWS challenge" in smtp_server.messages[0].text
    assert send_alerts(store, config, now=NOW + timedelta(minutes=30)).sent == 0

    ok_source(store, "pboc", NOW + timedelta(hours=1))
    assert send_alerts(store, config, now=NOW + timedelta(hours=1)).sent == 1
    assert "已恢复" in str(smtp_server.messages[-1].message["Subject"])
    pending = store.db.execute("SELECT COUNT(*) FROM health_events WHERE notified_at IS NULL")
    assert pending.fetchone()[0] == 0
    store.close()


def test_health_event_waits_for_smtp(tmp_path: Path, smtp_server: SMTPTestServer) -> None:
    config = make_config(tmp_path, email=smtp_config(smtp_server.host, smtp_server.port))
    store = database(config)
    fail_source(store, "pboc", "error", "HTTP 503", 2, NOW - timedelta(hours=2))
    smtp_server.stop()
    assert send_alerts(store, config, now=NOW).failed == 1
    events = store.db.execute("SELECT COUNT(*) FROM health_events WHERE notified_at IS NULL")
    assert events.fetchone()[0] == 1
    smtp_server.start()
    assert send_alerts(store, config, now=NOW + timedelta(minutes=10)).sent == 1
    assert len(smtp_server.messages) == 1
    store.close()


def test_chat_webhook_gets_short_text_and_never_blocks_mail(
    tmp_path: Path, smtp_server: SMTPTestServer, http_server: HTTPTestServer
) -> None:
    http_server.routes["/hook"] = Route(b"{}", content_type="application/json")
    http_server.routes["/broken"] = Route(b"down", status=500)
    hooks = [
        NotifyConfig(url=f"json://{http_server.host}:{http_server.port}/hook", name="wecom"),
        NotifyConfig(url=f"json://{http_server.host}:{http_server.port}/broken", name="ding"),
    ]
    email = smtp_config(smtp_server.host, smtp_server.port)
    config = make_config(tmp_path, email=email, notify=hooks)
    store = database(config)
    sample_items(store)
    report = send_alerts(store, config, now=NOW)
    assert (report.sent, report.notified, report.failed) == (1, 1, 1)
    assert report.errors[0].startswith("notify json (ding): ")
    assert "/broken" not in report.errors[0] and "127.0.0.1" not in report.errors[0]
    [hit] = http_server.hits("/hook")
    posted = json.loads(hit.body)
    assert posted["title"] == "借贷监测:"
    assert "[重要] 借呗暂停新增授信，存量客户不受影响（第一财经）" in posted["message"]
    assert len(posted["message"].splitlines()) == 2
    assert alerted(store) == {"2026-12", "a-88231", "n-5521"}  # mail went out: marked
    failed = store.list_deliveries(statuses=["failed"])
    assert [d.channel for d in failed] == ["notify"]

    http_server.routes["/broken"] = Route(b"{}", content_type="application/json")
    again = send_alerts(store, config, now=NOW + timedelta(minutes=6))
    assert (again.notified, again.sent) == (1, 0)
    assert len(http_server.hits("/hook")) == 1 and len(smtp_server.messages) == 1
    store.close()


def test_alert_without_email_goes_to_outbox(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    store = database(config)
    sample_items(store)
    report = send_alerts(store, config, now=NOW)
    assert report.written == 1
    assert report.paths[0].name.startswith("alert-20261128-080000-")
    assert alerted(store) == {"2026-12", "a-88231", "n-5521"}
    store.close()


def test_webhook_tokens_never_reach_the_log_or_the_report(
    tmp_path: Path,
    smtp_server: SMTPTestServer,
    http_server: HTTPTestServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """For dingtalk://TOKEN/, wecombot://KEY and feishu://TOKEN the host is the secret: errors
    and log lines name the scheme and the configured name only; apprise's own log lines
    (which print the token and the request URL) are scrubbed too."""
    http_server.routes["/hook/S3cretJsonPathToken"] = Route(b"down", status=500)
    secrets = ("S3cretDingTalkTok", "S3cretWeComKey", "S3cretFeishuTok", "S3cretJsonPathToken")
    hooks = [
        # tokens apprise rejects (no request leaves the machine); apprise logs them verbatim
        NotifyConfig(url=f"dingtalk://{secrets[0]}!x/", name="ops-ding"),
        NotifyConfig(url=f"wecombot://{secrets[1]}!x"),
        NotifyConfig(url=f"feishu://{secrets[2]}!x", name="risk-feishu"),
        # a real post that fails: urllib3 logs the request path
        NotifyConfig(url=f"json://{http_server.host}:{http_server.port}/hook/{secrets[3]}"),
    ]
    email = smtp_config(smtp_server.host, smtp_server.port)
    config = make_config(tmp_path, email=email, notify=hooks)
    store = database(config)
    sample_items(store)
    caplog.set_level(logging.DEBUG)
    report = send_alerts(store, config, now=NOW)
    assert (report.sent, report.failed) == (1, 4)
    assert len(http_server.hits(f"/hook/{secrets[3]}")) == 1  # the post was really made
    assert sorted(e.split(":")[0] for e in report.errors) == [
        "notify dingtalk (ops-ding)",
        "notify feishu (risk-feishu)",
        "notify json",
        "notify wecombot",
    ]
    logged = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert "apprise" in logged and "did not accept" in logged  # the log did record them
    stored = [d.last_error or "" for d in store.list_deliveries(statuses=["failed"])]
    for secret in secrets:
        assert secret not in logged, secret
        assert not any(secret in e for e in (*report.errors, *stored)), secret
    store.close()


def notified(store: Store) -> list[bool]:
    rows = store.db.execute("SELECT notified_at IS NOT NULL FROM health_events ORDER BY id")
    return [bool(r[0]) for r in rows]


def test_a_digest_that_shows_the_broken_source_leaves_the_alert_nothing_to_repeat(
    tmp_path: Path, smtp_server: SMTPTestServer, http_server: HTTPTestServer
) -> None:
    """`lendwatch run` sends the digest, then the alerts: one source-health event, one mail.
    The chat webhook (no digest) still hears of it once; the recovery is told once."""
    http_server.routes["/hook"] = Route(b"{}", content_type="application/json")
    hook = NotifyConfig(url=f"json://{http_server.host}:{http_server.port}/hook", name="ops")
    email = smtp_config(smtp_server.host, smtp_server.port)
    config = make_config(tmp_path, email=email, notify=[hook])
    store = database(config)
    sample_items(store)
    fail_source(store, "pboc", "blocked", "WZWS challenge", 2, NOW - timedelta(hours=3))
    smtp_server.stop()  # not accepted: nothing is marked notified
    assert send_digest(store, config, now=NOW).failed == 1
    assert notified(store) == [False]
    smtp_server.start()

    later = NOW + timedelta(minutes=10)
    assert send_digest(store, config, now=later).sent == 1
    [digest] = smtp_server.messages
    assert "中国人民银行 [pboc]：被拦截" in digest.text
    assert notified(store) == [True]  # in the transaction that recorded the acceptance
    alerts = send_alerts(store, config, now=later)
    assert (alerts.sent, alerts.notified) == (0, 1)
    assert len(smtp_server.messages) == 1
    [hit] = http_server.hits("/hook")
    assert "中国人民银行: 已中断" in json.loads(hit.body)["message"]
    assert send_alerts(store, config, now=later + timedelta(minutes=30)).notified == 0

    ok_source(store, "pboc", later + timedelta(hours=1))
    recovered = send_alerts(store, config, now=later + timedelta(hours=1))
    assert (recovered.sent, recovered.notified) == (1, 1)
    assert "已恢复" in str(smtp_server.messages[-1].message["Subject"])
    assert notified(store) == [True, True] and len(smtp_server.messages) == 2
    store.close()


def test_a_reader_without_a_digest_still_gets_the_health_alert(
    tmp_path: Path, smtp_server: SMTPTestServer
) -> None:
    readers = [Recipient("all@example.com"), Recipient("credit@example.com", topics=("征信",))]
    email = smtp_config(smtp_server.host, smtp_server.port, readers)
    config = make_config(tmp_path, email=email, alerts="off")
    store = database(config)
    add_item(store, "sina", "a", "多家银行下调消费贷利率", topics=("利率",), first_seen=NOW)
    assert send_digest(store, config, now=NOW + timedelta(minutes=1)).sent == 1
    fail_source(store, "pboc", "error", "HTTP 503", 2, NOW + timedelta(hours=1))
    add_item(
        store, "sina", "b", "助贷新规落地", topics=("助贷",), first_seen=NOW + timedelta(hours=2)
    )
    # only the first reader gets a digest now (the other's quiet digest is not due yet)
    digest = send_digest(store, config, now=NOW + timedelta(hours=3))
    assert digest.sent == 1 and notified(store) == [False]
    alerts = send_alerts(store, config, now=NOW + timedelta(hours=3))
    assert alerts.sent == 2  # repeated for the first reader rather than lost for the second
    told = [m for m in smtp_server.messages if m.message["X-Lendwatch-Kind"] == "alert"]
    assert sorted(r for m in told for r in m.recipients) == [
        "all@example.com",
        "credit@example.com",
    ]
    assert notified(store) == [True]
    store.close()
