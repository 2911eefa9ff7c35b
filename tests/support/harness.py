"""A lendwatch under test: configs for loopback sources, the CLI as a subprocess, DB reads.

One distinct flagged headline per source id, so that digests do not merge them into one story,
and one unflagged headline; both are stored, only the first is mailed.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.support.httpserver import Route
from tests.support.smtpserver import Received, SMTPTestServer

ROOT = Path(__file__).resolve().parents[2]
RSS_TYPE = "application/rss+xml; charset=utf-8"


# One distinct flagged headline per source (distinct, so the digest does not merge them into one
# story) and one unflagged headline; both are stored, only the first is mailed.
HEADLINES = (
    "关于暂停借呗新增授信的公告",
    "国家金融监督管理总局发布《网络小额贷款业务管理暂行办法》",
    "京东金条暂停部分用户借款服务",
    "度小满有钱花网络小贷牌照被注销",
    "消费金融公司催收行为专项整治通知印发",
    "花呗调整分期手续费率并暂停部分商户服务",
    "关于规范商业银行互联网贷款联合贷款业务的通知",
    "微粒贷下调贷款年利率上限至24%",
    "征信中心要求助贷机构全面接入金融信用信息基础数据库",
    "央行：先买后付（BNPL）业务纳入征信管理",
    "多地网络小贷公司注册资本要求提高至50亿元",
    "银保监会叫停助贷平台收取担保费和服务费",
    "马上消费金融被处罚：违规暴力催收",
    "招联消费金融贷款综合年化成本不得超过24%",
    "美团月付停止新用户开通并调整授信额度",
    "信用卡分期与网络贷款利率披露新规实施",
    "小额贷款公司跨省经营监管办法征求意见",
    "网贷平台逾期信息上报征信系统的规定",
    "金融监管总局约谈十家助贷平台要求整改息费",
    "360数科停止与地方小贷公司的联合放贷",
)
_ASSIGNED: dict[str, int] = {"a": 0, "b": 1}  # the first ones are high severity (alerts)


def mailed_for(sid: str) -> str:
    """The source's flagged headline: what a digest or alert must carry."""
    if sid not in _ASSIGNED:
        _ASSIGNED[sid] = len(_ASSIGNED) % len(HEADLINES)
    return f"{HEADLINES[_ASSIGNED[sid]]}（{sid}）"


def titles_for(sid: str) -> tuple[str, str]:
    """Both titles the source's feed carries: the flagged one, then an unflagged one."""
    return mailed_for(sid), f"沪深300指数收涨：{sid}财经早报"


def feed_for(sid: str, encoding: str = "UTF-8") -> str:
    first, second = titles_for(sid)
    return f"""<?xml version="1.0" encoding="{encoding}"?>
<rss version="2.0"><channel><title>{sid}</title><link>https://{sid}.example.cn/</link>
<description>快讯</description>
<item><title>{first}</title><link>https://{sid}.example.cn/a/1.html</link>
<guid>https://{sid}.example.cn/a/1.html</guid><pubDate>Fri, 27 Nov 2026 09:30:00 +0800</pubDate>
<description>相关机构表示将按监管要求整改。</description></item>
<item><title>{second}</title><link>https://{sid}.example.cn/a/2.html</link>
<guid>https://{sid}.example.cn/a/2.html</guid><pubDate>Fri, 27 Nov 2026 10:00:00 +0800</pubDate>
<description>市场情绪回暖。</description></item>
</channel></rss>
"""


def good_route(sid: str) -> Route:
    return Route(feed_for(sid).encode("utf-8"), content_type=RSS_TYPE, etag=f'"{sid}-1"')


@dataclass
class Src:
    id: str
    url: str
    extra: str = ""
    kind: str = "rss"


def write_config(
    tmp_path: Path,
    sources: Sequence[Src],
    smtp: SMTPTestServer | None = None,
    *,
    recipients: Sequence[str] = ("risk@example.com",),
    username: str = "",
    settings: str = "",
    digest: str = "",
    first_fetch: str = "mail",
) -> Path:
    """``first_fetch``: these configs mail the first cycle's news (``[digest] first_fetch =
    "mail"``), as the fault and delivery tests built on them need; the default of a real
    configuration, "count", is tested in tests/test_news_cycle.py."""
    lines = [
        "[settings]",
        'data_dir = "data"',
        f'rules = "{ROOT / "rules.toml"}"',
        settings,
        "",
    ]
    if smtp is not None:
        lines += [
            "[email]",
            f'host = "{smtp.host}"',
            f"port = {smtp.port}",
            'security = "none"',
            'sender = "lendwatch@example.com"',
            "recipients = [" + ", ".join(f'"{r}"' for r in recipients) + "]",
            f'username = "{username}"' if username else "",
            "timeout = 10",
            "",
        ]
    lines += ["[digest]", f'first_fetch = "{first_fetch}"', digest, ""]
    for s in sources:
        lines += [
            "[[sources]]",
            f'id = "{s.id}"',
            f'name = "Source {s.id}"',
            f'kind = "{s.kind}"',
            f'url = "{s.url}"',
            "timeout = 3",
            s.extra,
            "",
        ]
    path = tmp_path / "sources.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LENDWATCH_")}
    env.update(extra)
    return env


def lendwatch(
    config: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipeline", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=180,
        env=env if env is not None else clean_env(),
        cwd=ROOT,
        check=False,
    )


def db_rows(db_path: Path, sql: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    try:
        return list(conn.execute(sql, params))
    finally:
        conn.close()


def stored_titles(db_path: Path, sid: str | None = None) -> list[str]:
    if sid is None:
        return [str(r[0]) for r in db_rows(db_path, "SELECT title FROM items")]
    return [
        str(r[0]) for r in db_rows(db_path, "SELECT title FROM items WHERE source_id = ?", [sid])
    ]


def mail_text(received: Received) -> str:
    part = received.message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---------------------------------------------------------------- waiting on a running daemon

WAIT = 60.0


def far_digest_time() -> str:
    """A digest time twelve hours away, so no scheduled digest fires during a test."""
    return (datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(hours=12)).strftime("%H:%M")


def wait_for(condition: Callable[[], bool], timeout: float = WAIT) -> bool:
    done = threading.Event()
    deadline = datetime.now(UTC) + timedelta(seconds=timeout)
    while not condition():
        if datetime.now(UTC) > deadline:
            return False
        done.wait(0.1)
    return True


class HeldRoute:
    """Serves a feed only once ``release`` is set; ``arrived`` tells that a request is waiting."""

    def __init__(self, sid: str) -> None:
        self.sid = sid
        self.arrived = threading.Event()
        self.release = threading.Event()

    def __call__(self, handler: BaseHTTPRequestHandler) -> None:
        self.arrived.set()
        self.release.wait(WAIT)
        body = feed_for(self.sid).encode()
        try:
            handler.send_response(200)
            handler.send_header("Content-Type", RSS_TYPE)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client was killed meanwhile
            handler.close_connection = True
