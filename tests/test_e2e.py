"""End to end through the real command: loopback feeds, a real SMTP server, a temp data dir."""

from __future__ import annotations

import json
import os
from pathlib import Path

from pipeline.lock import DataDirLock
from tests.support.harness import ROOT, lendwatch, mail_text
from tests.support.httpserver import HTTPTestServer, Route
from tests.support.smtpserver import SMTPTestServer

CN_FEED = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>金融快讯</title><link>https://news.example.cn/</link>
<description>快讯</description>
<item><title>关于暂停借呗新增授信的公告</title><link>https://news.example.cn/a/1001.html</link>
<guid>https://news.example.cn/a/1001.html</guid><pubDate>Fri, 27 Nov 2026 09:30:00 +0800</pubDate>
<description>即日起暂停借呗新增授信，存量客户不受影响。</description></item>
<item><title>国家金融监督管理总局发布《网络小额贷款业务管理暂行办法》</title>
<link>https://news.example.cn/a/1002.html</link><guid>https://news.example.cn/a/1002.html</guid>
<pubDate>Fri, 27 Nov 2026 10:00:00 +0800</pubDate>
<description>明确网络小额贷款公司联合贷款出资比例不低于30%。</description></item>
<item><title>【有奖】东风已至？草船借箭300只！沪深300“尚能饭否”？</title>
<link>https://news.example.cn/a/1003.html</link><guid>https://news.example.cn/a/1003.html</guid>
<pubDate>Fri, 27 Nov 2026 11:00:00 +0800</pubDate><description>ETF 活动</description></item>
</channel></rss>
"""

EN_FEED = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Newsroom</title><link>https://reg.example.gov/</link>
<description>news</description>
<item><title>House votes to boost child tax credit for high-income families</title>
<link>https://reg.example.gov/n/1</link><guid isPermaLink="false">n-1</guid>
<pubDate>Thu, 26 Nov 2026 15:00:00 GMT</pubDate><description>Tax policy.</description></item>
</channel></rss>
"""


def write_config(tmp_path: Path, http: HTTPTestServer, smtp: SMTPTestServer) -> Path:
    config = tmp_path / "sources.toml"
    config.write_text(
        f"""
[settings]
data_dir = "data"
rules = "{ROOT / "rules.toml"}"

[email]
host = "{smtp.host}"
port = {smtp.port}
security = "none"
sender = "lendwatch@example.com"
recipients = ["risk@example.com"]

[digest]
first_fetch = "mail"  # the first run's news is mailed (the backlog: tests/test_news_cycle.py)

[[sources]]
id = "cn-news"
name = "金融快讯"
kind = "rss"
url = "{http.url("/cn.xml")}"
authority = "media"

[[sources]]
id = "en-reg"
name = "Regulator newsroom"
kind = "rss"
url = "{http.url("/en.xml")}"
authority = "regulator"
language = "en"
""",
        encoding="utf-8",
    )
    return config


def serve_feeds(http: HTTPTestServer) -> None:
    ctype = "application/rss+xml; charset=utf-8"
    http.routes["/cn.xml"] = Route(CN_FEED.encode(), content_type=ctype, etag='"cn-1"')
    http.routes["/en.xml"] = Route(
        EN_FEED.encode(), content_type=ctype, last_modified="Thu, 26 Nov 2026 15:00:00 GMT"
    )


def test_two_runs_one_mail_then_nothing(
    tmp_path: Path, http_server: HTTPTestServer, smtp_server: SMTPTestServer
) -> None:
    serve_feeds(http_server)
    config = write_config(tmp_path, http_server, smtp_server)

    first = lendwatch(config, "run")
    assert first.returncode == 0, first.stderr
    assert len(smtp_server.messages) == 1
    received = smtp_server.messages[0]
    assert received.recipients == ["risk@example.com"]
    msg = received.message
    assert msg.get_content_type() == "multipart/alternative"
    html = msg.get_body(("html",))
    assert html is not None
    body = mail_text(received)
    assert "关于暂停借呗新增授信的公告" in body
    assert "网络小额贷款业务管理暂行办法" in body
    assert "草船借箭" not in body and "child tax credit" not in body
    assert "https://news.example.cn/a/1001.html" in html.get_content()

    exported = [json.loads(line) for line in lendwatch(config, "export").stdout.splitlines()]
    assert len(exported) == 4
    by_title = {e["title"]: e for e in exported}
    jiebei = by_title["关于暂停借呗新增授信的公告"]
    assert jiebei["flagged"] is True and jiebei["severity"] == "high"
    assert jiebei["published"] == "2026-11-27T01:30:00+00:00"
    assert by_title["【有奖】东风已至？草船借箭300只！沪深300“尚能饭否”？"]["flagged"] is False
    flagged = lendwatch(config, "export", "--flagged").stdout.splitlines()
    assert len(flagged) == 2

    second = lendwatch(config, "run")
    assert second.returncode == 0, second.stderr
    assert len(smtp_server.messages) == 1, "the second run must send nothing"
    assert http_server.hits("/cn.xml")[-1].headers.get("If-None-Match") == '"cn-1"'
    assert (
        http_server.hits("/en.xml")[-1].headers.get("If-Modified-Since")
        == "Thu, 26 Nov 2026 15:00:00 GMT"
    )
    assert len(lendwatch(config, "export").stdout.splitlines()) == 4


def test_smtp_down_loses_nothing(
    tmp_path: Path, http_server: HTTPTestServer, smtp_server: SMTPTestServer
) -> None:
    serve_feeds(http_server)
    config = write_config(tmp_path, http_server, smtp_server)
    smtp_server.stop()

    down = lendwatch(config, "run")
    assert down.returncode == 1
    assert f"{smtp_server.host}:{smtp_server.port}" in down.stderr

    smtp_server.start()
    up = lendwatch(config, "run")
    assert up.returncode == 0, up.stderr
    assert len(smtp_server.messages) == 1
    assert "关于暂停借呗新增授信的公告" in mail_text(smtp_server.messages[0])

    again = lendwatch(config, "run")
    assert again.returncode == 0, again.stderr
    assert len(smtp_server.messages) == 1


def test_failing_source_is_reported_and_others_go_on(
    tmp_path: Path, http_server: HTTPTestServer, smtp_server: SMTPTestServer
) -> None:
    serve_feeds(http_server)
    http_server.routes["/en.xml"] = Route(b"<html><body>maintenance</body></html>", status=503)
    config = write_config(tmp_path, http_server, smtp_server)
    result = lendwatch(config, "run")
    assert result.returncode == 0, result.stderr
    assert "en-reg" in result.stdout and "1 failed" in result.stdout
    assert "en-reg" in result.stderr  # one clear log line for the failing source
    assert len(smtp_server.messages) == 1
    assert "Regulator newsroom" in mail_text(smtp_server.messages[0])  # source-health section


def test_config_error_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "sources.toml"
    config.write_text('[[sources]]\nid = "x"\nkind = "rss"\n', encoding="utf-8")
    result = lendwatch(config, "run")
    assert result.returncode == 2
    assert "source 'x'.url: missing required key" in result.stderr
    assert "source 'x'.name: missing required key" in result.stderr


def test_operator_is_told_once_when_a_source_breaks_and_once_when_it_recovers(
    tmp_path: Path, http_server: HTTPTestServer, smtp_server: SMTPTestServer
) -> None:
    serve_feeds(http_server)
    working = http_server.routes["/en.xml"]
    http_server.routes["/en.xml"] = Route(b"<html>upstream error</html>", status=500)
    config = write_config(tmp_path, http_server, smtp_server)

    assert lendwatch(config, "run").returncode == 0  # first failure: digest with the items
    assert len(smtp_server.messages) == 1
    assert lendwatch(config, "run").returncode == 0  # second failure: the source is broken
    assert len(smtp_server.messages) == 2
    broken = mail_text(smtp_server.messages[1])
    assert "Regulator newsroom" in broken and "HTTP 500" in broken
    assert lendwatch(config, "run").returncode == 0  # still broken: nothing new to say
    assert len(smtp_server.messages) == 2

    http_server.routes["/en.xml"] = working
    assert lendwatch(config, "run").returncode == 0  # recovered: told once
    assert len(smtp_server.messages) == 3
    assert "Regulator newsroom" in mail_text(smtp_server.messages[2])
    assert lendwatch(config, "run").returncode == 0
    assert len(smtp_server.messages) == 3

    states = {
        s["id"]: s
        for s in map(json.loads, lendwatch(config, "sources", "--json").stdout.splitlines())
    }
    assert states["en-reg"]["status"] == "ok" and states["en-reg"]["consecutive_failures"] == 0


def test_run_fetch_and_digest_refuse_while_another_process_holds_the_data_dir(
    tmp_path: Path, http_server: HTTPTestServer, smtp_server: SMTPTestServer
) -> None:
    serve_feeds(http_server)
    config = write_config(tmp_path, http_server, smtp_server)
    with DataDirLock(tmp_path / "data"):  # as a running daemon would
        for command in (["run"], ["fetch"], ["digest"]):
            result = lendwatch(config, *command)
            assert result.returncode == 4, (command, result.stderr)
            assert f"pid {os.getpid()}" in result.stderr
        assert lendwatch(config, "digest", "--dry-run").returncode == 0  # sends nothing
    assert http_server.requests == [] and smtp_server.messages == []
    assert lendwatch(config, "run").returncode == 0
    assert len(smtp_server.messages) == 1


def test_broken_rules_exit_2_before_anything_is_fetched(
    tmp_path: Path, http_server: HTTPTestServer, smtp_server: SMTPTestServer
) -> None:
    serve_feeds(http_server)
    config = write_config(tmp_path, http_server, smtp_server)
    rules = tmp_path / "rules.toml"
    rules.write_text('[meta]\nversion = "x"\n[topics.a]\ncolour = "red"\n', encoding="utf-8")
    text = config.read_text(encoding="utf-8").replace(str(ROOT / "rules.toml"), str(rules))
    config.write_text(text, encoding="utf-8")
    for command in ("run", "fetch", "check-config", "daemon"):
        result = lendwatch(config, command)
        assert result.returncode == 2, (command, result.stderr)
        assert "invalid rules" in result.stderr and "Traceback" not in result.stderr
        assert str(rules) in result.stderr
    assert http_server.requests == [] and smtp_server.messages == []


def test_unusable_data_dir_exits_3(tmp_path: Path, http_server: HTTPTestServer) -> None:
    (tmp_path / "not-a-dir").write_text("a file where the data dir should be")
    config = tmp_path / "sources.toml"
    config.write_text(
        f'[settings]\ndata_dir = "not-a-dir/data"\nrules = "{ROOT / "rules.toml"}"\n'
        f'[[sources]]\nid = "a"\nname = "A"\nkind = "rss"\nurl = "{http_server.url("/a")}"\n',
        encoding="utf-8",
    )
    for command in ("run", "fetch"):
        result = lendwatch(config, command)
        assert result.returncode == 3, (command, result.stderr)
        assert "not-a-dir" in result.stderr and "Traceback" not in result.stderr


def test_export_since_reads_the_date_in_the_configured_timezone(
    tmp_path: Path, http_server: HTTPTestServer, smtp_server: SMTPTestServer
) -> None:
    serve_feeds(http_server)
    config = write_config(tmp_path, http_server, smtp_server)
    assert lendwatch(config, "fetch").returncode == 0
    # The CN items are 09:30, 10:00 and 11:00 Beijing time on 27 Nov; the EN item is 23:00
    # Beijing time on the 26th. Read as UTC, "since 10:30" would exclude all of them.
    since = [
        json.loads(x)["title"]
        for x in lendwatch(config, "export", "--since", "2026-11-27").stdout.splitlines()
    ]
    assert len(since) == 3 and not any("child tax credit" in t for t in since)
    later = lendwatch(config, "export", "--since", "2026-11-27T10:30:00").stdout.splitlines()
    assert [json.loads(x)["title"] for x in later] == [
        "【有奖】东风已至？草船借箭300只！沪深300“尚能饭否”？"
    ]
