"""Delivery end to end: a real aiosmtpd server on loopback, a real SQLite file.

Digest, per-reader filters, a refused recipient, SMTP down then up, login and TLS errors, a
crash between the server's acceptance and the marking, the outbox without [email].
"""

from __future__ import annotations

import logging
import stat
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import AuthResult

from pipeline.config import Recipient
from pipeline.digest import retry_pending, send_digest
from pipeline.store import Store
from tests.support.digest_fixtures import (
    NOW,
    add_item,
    database,
    fail_source,
    make_config,
    sample_items,
    smtp_config,
)
from tests.support.smtpserver import SMTPTestServer


def undigested(store: Store) -> int:
    return int(
        store.db.execute("SELECT COUNT(*) FROM items WHERE digested_at IS NULL").fetchone()[0]
    )


def test_digest_sent_once_and_items_marked(tmp_path: Path, smtp_server: SMTPTestServer) -> None:
    config = make_config(tmp_path, email=smtp_config(smtp_server.host, smtp_server.port))
    store = database(config)
    sample_items(store)
    report = send_digest(store, config, now=NOW)
    assert (report.sent, report.failed, report.stories, report.items) == (1, 0, 5, 6)
    assert len(smtp_server.messages) == 1
    received = smtp_server.messages[0]
    assert received.recipients == ["risk@example.com"]
    assert received.sender == "lendwatch@example.com"
    msg = received.message
    assert msg["Subject"] == "【借贷监测】11月28日：重要2条，关注2条，一般1条"
    assert msg["To"] == "risk@example.com"
    assert msg["From"] == "借贷监测 <lendwatch@example.com>"
    assert msg["Message-ID"].endswith("@example.com>")
    assert "借呗暂停新增授信" in received.text
    assert undigested(store) == 0
    [record] = store.list_deliveries()
    assert (record.status, record.kind, record.channel) == ("sent", "digest", "smtp")
    assert record.message_id == msg["Message-ID"]

    again = send_digest(store, config, now=NOW + timedelta(days=1))
    assert again.nothing_to_report and again.summary() == "Nothing to report, nothing sent."
    assert len(smtp_server.messages) == 1
    store.close()


def test_each_recipient_gets_their_own_filtered_digest(
    tmp_path: Path, smtp_server: SMTPTestServer
) -> None:
    recipients = [
        Recipient("all@example.com"),
        Recipient("credit@example.com", topics=("征信", "助贷")),
        Recipient("boss@example.com", min_severity="high"),
    ]
    email = smtp_config(smtp_server.host, smtp_server.port, recipients)
    config = make_config(tmp_path, email=email)
    store = database(config)
    sample_items(store)
    report = send_digest(store, config, now=NOW)
    assert report.sent == 3
    by_rcpt = {m.recipients[0]: m.text for m in smtp_server.messages}
    assert set(by_rcpt) == {"all@example.com", "credit@example.com", "boss@example.com"}
    assert "征信修复" in by_rcpt["all@example.com"]
    credit = by_rcpt["credit@example.com"]
    assert "征信修复" in credit and "助贷业务自律公约" in credit and "网络小额贷款" in credit
    assert "消费贷利率" not in credit and "借呗" not in credit
    boss = by_rcpt["boss@example.com"]
    assert "借呗" in boss and "网络小额贷款" in boss and "征信修复" not in boss
    assert undigested(store) == 0
    store.close()


def test_refused_recipient_fails_alone_and_is_retried(
    tmp_path: Path, smtp_server: SMTPTestServer
) -> None:
    recipients = ["ok@example.com", "gone@example.com"]
    config = make_config(
        tmp_path, email=smtp_config(smtp_server.host, smtp_server.port, recipients)
    )
    store = database(config)
    sample_items(store)
    smtp_server.reject.add("gone@example.com")
    report = send_digest(store, config, now=NOW)
    assert (report.sent, report.failed) == (1, 1)
    assert "recipient refused: gone@example.com (550 5.1.1 mailbox unavailable)" in report.errors[0]
    assert f"{smtp_server.host}:{smtp_server.port}" in report.errors[0]
    assert [m.recipients for m in smtp_server.messages] == [["ok@example.com"]]
    assert undigested(store) == 6  # not yet delivered to everyone
    failed = store.list_deliveries(statuses=["failed"])
    assert len(failed) == 1 and failed[0].target == "gone@example.com"

    # the next digest run retries the failed one first and repeats nothing to ok@
    next_run = send_digest(store, config, now=NOW + timedelta(minutes=1))
    assert (next_run.sent, next_run.failed) == (0, 1)
    smtp_server.reject.clear()
    assert retry_pending(store, config, now=NOW + timedelta(minutes=10)).sent == 0  # backoff
    retried = retry_pending(store, config, now=NOW + timedelta(minutes=20))
    assert retried.sent == 1
    assert [m.recipients for m in smtp_server.messages][1] == ["gone@example.com"]
    assert undigested(store) == 0
    store.close()


def test_smtp_down_then_up_loses_nothing(
    tmp_path: Path, smtp_server: SMTPTestServer, caplog: pytest.LogCaptureFixture
) -> None:
    config = make_config(tmp_path, email=smtp_config(smtp_server.host, smtp_server.port))
    store = database(config)
    sample_items(store)
    smtp_server.stop()
    with caplog.at_level(logging.ERROR):
        down = send_digest(store, config, now=NOW)
    assert (down.sent, down.failed) == (0, 1)
    where = f"SMTP {smtp_server.host}:{smtp_server.port}: connection refused"
    assert where in down.errors[0] and where in caplog.text
    assert undigested(store) == 6
    [record] = store.list_deliveries()
    assert record.status == "failed" and record.attempts == 1 and where in str(record.last_error)

    smtp_server.start()
    early = retry_pending(store, config, now=NOW + timedelta(minutes=2))  # backoff not elapsed
    assert early.sent == 0 and smtp_server.messages == []
    later = send_digest(store, config, now=NOW + timedelta(minutes=6))  # retries first
    assert later.sent == 1 and len(smtp_server.messages) == 1
    assert "借呗暂停新增授信" in smtp_server.messages[0].text
    assert undigested(store) == 0
    assert send_digest(store, config, now=NOW + timedelta(minutes=7)).sent == 0
    assert len(smtp_server.messages) == 1
    store.close()


def test_backoff_grows_between_failures(tmp_path: Path, smtp_server: SMTPTestServer) -> None:
    config = make_config(tmp_path, email=smtp_config(smtp_server.host, smtp_server.port))
    store = database(config)
    add_item(store, "sina", "1", "助贷新规", severity="low")
    smtp_server.stop()
    send_digest(store, config, now=NOW)
    first = store.list_deliveries()[0]
    assert first.next_attempt == NOW + timedelta(minutes=5)
    retry_pending(store, config, now=first.next_attempt)
    second = store.list_deliveries()[0]
    assert second.attempts == 2 and second.next_attempt == NOW + timedelta(minutes=15)
    smtp_server.start()
    store.close()


def test_crash_after_acceptance_repeats_never_loses(
    tmp_path: Path, smtp_server: SMTPTestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = make_config(tmp_path, email=smtp_config(smtp_server.host, smtp_server.port))
    store = database(config)
    sample_items(store)

    def crash(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(store, "mark_sent", crash)
    with pytest.raises(KeyboardInterrupt):
        send_digest(store, config, now=NOW)
    assert len(smtp_server.messages) == 1  # accepted by the server...
    assert undigested(store) == 6  # ...but not recorded
    monkeypatch.undo()

    report = retry_pending(store, config, now=NOW + timedelta(minutes=1))
    assert report.sent == 1 and len(smtp_server.messages) == 2  # repeated, not lost
    assert undigested(store) == 0
    store.close()


class AuthServer(SMTPTestServer):
    """tests.support's authenticator answers a failed login with nothing (aiosmtpd's
    ``handled`` defaults to True), so the client times out; answer 535 as real servers do."""

    def _authenticator(self, *args: Any) -> AuthResult:
        ok = super()._authenticator(*args).success
        return AuthResult(success=ok, handled=ok)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_login_and_credential_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with AuthServer(auth=("mailer", "s3cret")) as server:
        email = smtp_config(server.host, server.port, username="mailer")
        config = make_config(tmp_path, email=email)
        store = database(config)
        add_item(store, "sina", "1", "助贷新规", severity="low")

        monkeypatch.delenv("LENDWATCH_SMTP_PASSWORD", raising=False)
        missing = send_digest(store, config, now=NOW)
        assert "username is set but LENDWATCH_SMTP_PASSWORD is empty" in missing.errors[0]

        monkeypatch.setenv("LENDWATCH_SMTP_PASSWORD", "wrong")
        bad = retry_pending(store, config, now=NOW + timedelta(hours=1))
        assert bad.failed == 1
        assert "login as 'mailer' refused (535" in bad.errors[0]
        assert "wrong" not in bad.errors[0]

        monkeypatch.setenv("LENDWATCH_SMTP_PASSWORD", "s3cret")
        good = retry_pending(store, config, now=NOW + timedelta(hours=2))
        assert good.sent == 1 and len(server.messages) == 1
        store.close()


@pytest.mark.parametrize(
    ("security", "expected"),
    [("ssl", "TLS failure"), ("starttls", "the server does not offer STARTTLS")],
)
def test_tls_errors_are_named(
    tmp_path: Path, smtp_server: SMTPTestServer, security: str, expected: str
) -> None:
    email = smtp_config(smtp_server.host, smtp_server.port, security=security)
    config = make_config(tmp_path, email=email)
    store = database(config)
    add_item(store, "sina", "1", "助贷新规", severity="low")
    report = send_digest(store, config, now=NOW)
    assert report.failed == 1
    assert f"SMTP {smtp_server.host}:{smtp_server.port}: {expected}" in report.errors[0]
    assert undigested(store) == 1
    store.close()


def test_outbox_without_email(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    config = make_config(tmp_path)
    store = database(config)
    sample_items(store)
    with caplog.at_level(logging.INFO):
        report = send_digest(store, config, now=NOW)
    assert (report.written, report.sent) == (1, 0)
    eml, html = report.paths
    assert eml.parent == config.settings.outbox_dir
    assert (eml.suffix, html.suffix) == (".eml", ".html")
    assert str(eml) in caplog.text
    for path in (eml, html):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "借呗暂停新增授信" in html.read_text(encoding="utf-8")
    assert undigested(store) == 0
    assert send_digest(store, config, now=NOW).summary() == "Nothing to report, nothing sent."
    assert len(list(config.settings.outbox_dir.iterdir())) == 2
    store.close()


def test_dry_run_marks_nothing(tmp_path: Path, smtp_server: SMTPTestServer) -> None:
    config = make_config(tmp_path, email=smtp_config(smtp_server.host, smtp_server.port))
    store = database(config)
    sample_items(store)
    report = send_digest(store, config, now=NOW, dry_run=True)
    assert report.dry_run and report.sent == 0 and smtp_server.messages == []
    assert report.preview is not None and report.preview.name.startswith("preview-digest-")
    assert {p.suffix for p in report.paths} == {".eml", ".html"}
    assert undigested(store) == 6 and store.list_deliveries() == []
    store.close()


def test_quiet_digest_only_when_asked_or_a_source_is_broken(
    tmp_path: Path, smtp_server: SMTPTestServer
) -> None:
    email = smtp_config(smtp_server.host, smtp_server.port)
    quiet = make_config(tmp_path, email=email)
    store = database(quiet)
    assert send_digest(store, quiet, now=NOW).nothing_to_report
    assert smtp_server.messages == []

    asked = make_config(tmp_path, email=email, send_empty=True)
    assert send_digest(store, asked, now=NOW).sent == 1
    msg = smtp_server.messages[-1].message
    assert msg["Subject"] == "【借贷监测】11月28日：无新动态"
    assert "今日没有新的相关动态，所有数据源运行正常" in smtp_server.messages[-1].text

    fail_source(store, "pboc", "blocked", "challenge page", 2, NOW - timedelta(hours=3))
    assert send_digest(store, quiet, now=NOW + timedelta(days=1)).sent == 1
    received = smtp_server.messages[-1]
    assert received.message["Subject"] == "【借贷监测】11月29日：无新动态，1个数据源异常"
    assert "中国人民银行 [pboc]：被拦截" in received.text
    # a cron job running every 30 minutes does not repeat the quiet digest every run
    assert send_digest(store, quiet, now=NOW + timedelta(days=1, minutes=30)).sent == 0
    assert send_digest(store, asked, now=NOW + timedelta(days=1, hours=2)).sent == 0
    assert send_digest(store, quiet, now=NOW + timedelta(days=2)).sent == 1
    store.close()
