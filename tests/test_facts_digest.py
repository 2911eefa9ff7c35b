"""Facts in the digest (issue #16, item 3): each entry's stage and dates in one line, the 日程
at the top (every flagged item's dates in the next 60 days, earlier days' items too, soonest
first), penalties as parties + amount, and reminders ``[digest] remind_days`` before each date:
through the delivery records, once per date and lead time, never twice across runs.

Real SQLite files, the real extractor (items stored as a cycle stores them), a real SMTP server
on loopback."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.config import Config, load_config
from pipeline.digest import retry_pending, send_digest, send_reminders
from pipeline.digest.remind import lead_due
from pipeline.errors import ConfigError
from pipeline.models import Item, Verdict
from pipeline.store import Store
from tests.support.digest_fixtures import NOW, database, make_config, smtp_config
from tests.support.harness import Src, lendwatch, write_config
from tests.support.smtpserver import Received, SMTPTestServer
from tests.test_facts_store import DRAFT, FINAL, FINE, NEWS

# NOW is 2026-11-28 08:00 Beijing time: FINAL takes effect 2026-12-05 (in 7 days), its
# transition ends 2027-12-31 (past the agenda's 60 days); DRAFT's comments close 2026-12-20.


def verdict_of(item: Item) -> Verdict:
    if item is NEWS:
        return Verdict(flagged=False, severity=None, score=0.0)
    severity = "high" if item is FINAL else "medium"
    return Verdict(flagged=True, severity=severity, score=2.0, topics=("consumer-finance",))  # type: ignore[arg-type]


def with_reminders(config: Config, days: tuple[int, ...] = (7, 1)) -> Config:
    return replace(config, digest=replace(config.digest, remind_days=days))


def store_items(store: Store, items: Sequence[Item], seen: datetime = NOW) -> None:
    """As a cycle stores them, first seen an hour before ``seen`` (the tests' clock)."""
    store.save_classified(items, verdict_of)
    store.db.conn.execute(
        "UPDATE items SET first_seen = ? WHERE guid IN (SELECT value FROM json_each(?))",
        [(seen - timedelta(hours=1)).isoformat(), json.dumps([i.guid for i in items])],
    )


def digest_text(tmp_path: Path, smtp_server: SMTPTestServer) -> str:
    config = make_config(tmp_path, email=smtp_config(smtp_server.host, smtp_server.port))
    with database(config) as store:
        store_items(store, [FINAL, NEWS], NOW - timedelta(days=1))
        # the earlier day's digest carries FINAL; today's brings DRAFT and FINE
        assert send_digest(store, config, now=NOW - timedelta(days=1)).sent == 1
        store_items(store, [DRAFT, FINE])
        assert send_digest(store, config, now=NOW).sent == 1
    return text_of(smtp_server.messages[-1])


def text_of(received: Received) -> str:
    return received.text.replace("\r\n", "\n")


def test_each_entry_says_its_stage_and_dates_in_one_line(
    tmp_path: Path, smtp_server: SMTPTestServer
) -> None:
    text = digest_text(tmp_path, smtp_server)
    assert "   阶段：征求意见稿 · 征求意见截止 12月20日（还有22天）\n" in text
    # penalties: the parties and the amount
    assert "   阶段：行政处罚\n" in text
    assert "   处罚：某消费金融有限公司 · 罚没合计50万元\n" in text
    earlier = text_of(smtp_server.messages[0])
    assert (
        "   阶段：正式发布 · 施行 2026-12-05（还有8天） · 过渡期至 2027-12-31（还有399天）"
        " · 废止《消费金融公司试点管理办法》\n"
    ) in earlier


def test_the_agenda_opens_the_digest_with_every_date_ahead_soonest_first(
    tmp_path: Path, smtp_server: SMTPTestServer
) -> None:
    text = digest_text(tmp_path, smtp_server)
    head, _, rest = text.partition("==== 日程（未来60天） ====\n")
    assert rest, text
    assert "====" not in head  # the first section
    agenda = rest.split("\n\n====")[0].splitlines()
    assert agenda == [
        # FINAL was mailed yesterday: its date is still ahead, so it is on today's agenda
        f"- 2026-12-05（还有7天） 施行：{FINAL.title}（金规〔2026〕12号） · 国家金融监督管理总局",
        f"  {FINAL.url}",
        f"- 12月20日（还有22天） 征求意见截止：{DRAFT.title} · 中国人民银行",
        f"  {DRAFT.url}",
    ]  # the transition end (2027-12-31) is past 60 days; unflagged items never show


def test_the_html_digest_has_the_agenda_and_the_facts_line(
    tmp_path: Path, smtp_server: SMTPTestServer
) -> None:
    digest_text(tmp_path, smtp_server)
    html = smtp_server.messages[-1].message.get_body(("html",))
    assert html is not None
    content = str(html.get_content())
    assert "日程（未来60天）" in content and "征求意见截止" in content
    assert content.index("日程（未来60天）") < content.index("关注（2）")
    assert "阶段：</span>征求意见稿 · 征求意见截止 12月20日（还有22天）" in content


def test_the_facts_line_and_the_agenda_in_english(
    tmp_path: Path, smtp_server: SMTPTestServer
) -> None:
    config = make_config(
        tmp_path, email=smtp_config(smtp_server.host, smtp_server.port), language="en"
    )
    with database(config) as store:
        store_items(store, [FINAL, DRAFT])
        assert send_digest(store, config, now=NOW).sent == 1
    text = text_of(smtp_server.messages[0])
    assert text.splitlines()[1] == "1 important · 1 notable"
    assert "==== Agenda (next 60 days) ====" in text
    assert f"- 2026-12-05 (7 days left) in force: {FINAL.title}" in text
    assert f"- 20 Dec (22 days left) comments due: {DRAFT.title}" in text
    assert (
        "   Stage: final · in force 2026-12-05 (7 days left) · transition ends 2027-12-31"
        " (398 days left) · repeals 《消费金融公司试点管理办法》\n"
    ) in text


def test_reminders_go_out_n_days_before_each_date_once(
    tmp_path: Path, smtp_server: SMTPTestServer
) -> None:
    config = with_reminders(
        make_config(tmp_path, email=smtp_config(smtp_server.host, smtp_server.port))
    )
    with database(config) as store:
        store_items(store, [FINAL, DRAFT, NEWS])
        first = send_reminders(store, config, now=NOW)  # FINAL in force in 7 days
        assert (first.sent, first.failed) == (1, 0)
        assert send_reminders(store, config, now=NOW).sent == 0  # the same day: not again
        later = NOW + timedelta(days=1)  # 6 days left: the 7-day one went, the 1-day not due
        assert send_reminders(store, config, now=later).sent == 0
        [record] = store.list_deliveries()
        assert (record.kind, record.status, record.channel) == ("reminder", "sent", "smtp")
    msg = smtp_server.messages[0].message
    assert msg["X-Lendwatch-Kind"] == "reminder"
    assert msg["Subject"] == f"【借贷监测·日程】2026-12-05（还有7天）施行：{FINAL.title}"
    assert f"- 2026-12-05（还有7天） 施行：{FINAL.title}" in text_of(smtp_server.messages[0])

    # another run (a new process, the store opened again): the day before, the 1-day reminder
    eve = datetime(2026, 12, 4, 1, 0, tzinfo=UTC)
    with database(config) as store:
        assert send_reminders(store, config, now=eve).sent == 1
    with database(config) as store:
        assert send_reminders(store, config, now=eve + timedelta(hours=5)).sent == 0
        assert send_reminders(store, config, now=eve + timedelta(days=1)).sent == 0  # the day
        # DRAFT's deadline: 7 days before (12-13), then 1 day before (12-19), each once
        for day, sent in ((13, 1), (14, 0), (19, 1), (19, 0), (20, 0)):
            when = datetime(2026, 12, day, 1, 0, tzinfo=UTC)
            assert send_reminders(store, config, now=when).sent == sent, day
    assert len(smtp_server.messages) == 4
    assert "还有1天" in text_of(smtp_server.messages[1])
    assert f"12月20日（还有7天） 征求意见截止：{DRAFT.title}" in text_of(smtp_server.messages[2])


def test_a_late_run_sends_the_nearest_reminder_once_not_every_missed_one(
    tmp_path: Path, smtp_server: SMTPTestServer
) -> None:
    config = with_reminders(
        make_config(tmp_path, email=smtp_config(smtp_server.host, smtp_server.port))
    )
    with database(config) as store:
        store_items(store, [FINAL])
        # the daemon was down until the day before: only the 1-day reminder goes
        eve = datetime(2026, 12, 4, 1, 0, tzinfo=UTC)
        assert send_reminders(store, config, now=eve).sent == 1
        assert send_reminders(store, config, now=eve + timedelta(hours=1)).sent == 0
    assert len(smtp_server.messages) == 1
    assert lead_due((7, 1), 3) == 7 and lead_due((7, 1), 1) == 1 and lead_due((7, 1), 0) == 1
    assert lead_due((7, 1), 8) is None and lead_due((7, 1), -1) is None


def test_a_reminder_that_fails_is_retried_not_made_again(
    tmp_path: Path, smtp_server: SMTPTestServer, caplog: pytest.LogCaptureFixture
) -> None:
    config = with_reminders(
        make_config(tmp_path, email=smtp_config(smtp_server.host, smtp_server.port))
    )
    with database(config) as store:
        store_items(store, [FINAL])
        smtp_server.stop()
        with caplog.at_level(logging.ERROR):
            down = send_reminders(store, config, now=NOW)
        assert (down.sent, down.failed) == (0, 1)
        assert send_reminders(store, config, now=NOW + timedelta(minutes=1)).failed == 0
        assert len(store.list_deliveries()) == 1  # claimed when recorded: not made twice
        smtp_server.start()
        assert retry_pending(store, config, now=NOW + timedelta(minutes=6)).sent == 1
        [record] = store.list_deliveries()
        assert (record.kind, record.status, record.attempts) == ("reminder", "sent", 2)
        assert send_reminders(store, config, now=NOW + timedelta(hours=1)).sent == 0
    assert len(smtp_server.messages) == 1


def test_no_reminders_when_remind_days_is_empty(
    tmp_path: Path, smtp_server: SMTPTestServer
) -> None:
    config = with_reminders(
        make_config(tmp_path, email=smtp_config(smtp_server.host, smtp_server.port)), ()
    )
    with database(config) as store:
        store_items(store, [FINAL])
        assert send_reminders(store, config, now=NOW).nothing_to_report
    assert smtp_server.messages == []


def test_reminders_follow_the_readers_filters(tmp_path: Path, smtp_server: SMTPTestServer) -> None:
    from pipeline.config import Recipient

    readers = (Recipient("risk@example.com"), Recipient("ops@example.com", topics=("collection",)))
    config = with_reminders(
        make_config(tmp_path, email=smtp_config(smtp_server.host, smtp_server.port, readers))
    )
    with database(config) as store:
        store_items(store, [FINAL])
        assert send_reminders(store, config, now=NOW).sent == 1
    assert [m.recipients for m in smtp_server.messages] == [["risk@example.com"]]


def test_lendwatch_digest_sends_each_reminder_once_across_runs(
    tmp_path: Path, smtp_server: SMTPTestServer
) -> None:
    """The command, twice, on today's clock: a rule in force tomorrow gets one reminder."""
    tomorrow = (datetime.now(UTC) + timedelta(hours=8)).date() + timedelta(days=1)
    rule = replace(
        FINAL,
        guid="tomorrow",
        body=f"本办法自{tomorrow.year}年{tomorrow.month}月{tomorrow.day}日起施行。",
        published=datetime.now(UTC) - timedelta(days=2),
    )
    config_path = write_config(
        tmp_path, [Src("nfra", "http://127.0.0.1:9/n")], smtp_server, digest="remind_days = [7, 1]"
    )
    config = load_config(config_path)
    with Store.open(config.settings.db_path) as store:
        store.save_classified([rule], verdict_of)
    for _ in range(2):
        out = lendwatch(config_path, "digest")
        assert out.returncode == 0, out.stderr
    kinds = [m.message["X-Lendwatch-Kind"] for m in smtp_server.messages]
    assert kinds.count("reminder") == 1 and kinds.count("digest") == 1
    reminder = next(m for m in smtp_server.messages if m.message["X-Lendwatch-Kind"] == "reminder")
    assert f"{tomorrow.isoformat()}（还有1天） 施行" in text_of(reminder)
    out = lendwatch(config_path, "deliveries")
    assert out.returncode == 0 and "reminder" in out.stdout, out.stdout


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("[7, -1]", "must be between 0 and 365"),
        ("[400]", "must be between 0 and 365"),
        ('["7"]', "expected whole numbers of days"),
        ("[7, 7]", "lists a day twice"),
        ("7", "remind_days"),
    ],
)
def test_check_config_refuses_bad_remind_days(tmp_path: Path, value: str, problem: str) -> None:
    path = write_config(
        tmp_path, [Src("a", "http://127.0.0.1:9/a")], digest=f"remind_days = {value}"
    )
    with pytest.raises(ConfigError) as e:
        load_config(path)
    assert problem in str(e.value) and "digest.remind_days" in str(e.value)
    out = lendwatch(path, "check-config")
    assert out.returncode == 2 and problem in out.stderr


def test_remind_days_defaults_and_check_config_shows_them(tmp_path: Path) -> None:
    path = write_config(tmp_path, [Src("a", "http://127.0.0.1:9/a")])
    assert load_config(path).digest.remind_days == (7, 1)
    path = write_config(
        tmp_path, [Src("a", "http://127.0.0.1:9/a")], digest="remind_days = [1, 14, 0]"
    )
    assert load_config(path).digest.remind_days == (14, 1, 0)
    out = lendwatch(path, "check-config")
    assert "remind_days" in out.stdout and "14, 1, 0" in out.stdout
