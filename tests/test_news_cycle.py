"""What is news, through real fetches: `lendwatch run` against a loopback feed and a real SMTP
sink, with the shipped default ``[digest] first_fetch = "count"``.

Day 1, the first fetch: the whole list is backlog, counted once in the digest. Day 2: a notice
appears on top (dated months ago: a decision posted late) and one slides in at the bottom
because an item above was removed: the first is mailed, the second is counted. Day 3: the same
list again: nothing is mailed.
"""

from __future__ import annotations

from pathlib import Path

from tests.support.harness import (
    HEADLINES,
    RSS_TYPE,
    Src,
    db_rows,
    lendwatch,
    mail_text,
    write_config,
)
from tests.support.httpserver import HTTPTestServer, Route
from tests.support.smtpserver import SMTPTestServer

ON_TOP = f"{HEADLINES[12]}（迟发）"  # 马上消费金融被处罚：违规暴力催收
SLID_IN = f"{HEADLINES[16]}（旧文）"  # 小额贷款公司跨省经营监管办法征求意见
FIRST = [
    ("a", f"{HEADLINES[1]}（首页）", "Fri, 27 Nov 2026 09:30:00 +0800"),
    ("b", f"{HEADLINES[6]}（首页）", "Mon, 04 Mar 2019 10:00:00 +0800"),
    ("c", "沪深300指数收涨：财经早报", "Thu, 26 Nov 2026 08:00:00 +0800"),
]
SECOND = [
    ("late", ON_TOP, "Mon, 01 Jun 2026 09:00:00 +0800"),
    FIRST[0],
    FIRST[2],
    ("slid", SLID_IN, "Tue, 02 Jan 2018 09:00:00 +0800"),
]


def feed(entries: list[tuple[str, str, str]]) -> Route:
    items = "".join(
        f"<item><title>{title}</title><link>https://pbc.example.cn/{guid}.html</link>"
        f"<guid>https://pbc.example.cn/{guid}.html</guid><pubDate>{date}</pubDate>"
        "<description>相关机构表示将按监管要求整改。</description></item>"
        for guid, title, date in entries
    )
    body = (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>pbc</title>'
        f"<link>https://pbc.example.cn/</link><description>公告</description>{items}"
        "</channel></rss>"
    )
    return Route(body.encode("utf-8"), content_type=RSS_TYPE)


def test_first_fetch_counted_then_what_appears_on_top_is_mailed_and_what_slides_in_is_not(
    tmp_path: Path, http_server: HTTPTestServer, smtp_server: SMTPTestServer
) -> None:
    http_server.routes["/pbc.xml"] = feed(FIRST)
    config = write_config(
        tmp_path, [Src("pbc", http_server.url("/pbc.xml"))], smtp_server, first_fetch="count"
    )
    db = tmp_path / "data" / "lendwatch.db"

    first = lendwatch(config, "run")
    assert first.returncode == 0, first.stderr
    assert "backlog=3" in first.stderr  # the source's log line says it
    assert len(smtp_server.messages) == 1
    text = mail_text(smtp_server.messages[0])
    assert "Source pbc：首次抓取，收录 3 条较早的条目，其中 2 条标记" in text
    assert "lendwatch export --source pbc --backlog" in text
    assert FIRST[0][1] not in text and FIRST[1][1] not in text
    assert db_rows(db, "SELECT COUNT(*) FROM items WHERE backlog = 'first-fetch'") == [(3,)]

    http_server.routes["/pbc.xml"] = feed(SECOND)
    second = lendwatch(config, "run")
    assert second.returncode == 0, second.stderr
    assert len(smtp_server.messages) == 2
    text = mail_text(smtp_server.messages[1])
    assert ON_TOP in text, "news whatever its date: it appeared above what was seen"
    assert SLID_IN not in text
    assert "Source pbc：1 条从列表下方滑入的旧条目，其中 1 条标记" in text
    assert "首次抓取" not in text, "the first fetch was counted once"
    assert db_rows(
        db,
        "SELECT title, backlog FROM items WHERE title IN (?, ?) ORDER BY title",
        (ON_TOP, SLID_IN),
    ) == sorted([(ON_TOP, None), (SLID_IN, "below-seen")])

    export = lendwatch(config, "export", "--source", "pbc", "--backlog")
    assert export.returncode == 0, export.stderr
    assert export.stdout.count("\n") == 4 and ON_TOP not in export.stdout
    assert '"backlog": "below-seen"' in export.stdout

    third = lendwatch(config, "run")
    assert third.returncode == 0, third.stderr
    assert len(smtp_server.messages) == 2, "the same list again: nothing new, nothing mailed"
