"""Loopback feed servers for bench_fetch.py and soak_daemon.py: N RSS feeds of 30 items spread
over many hosts (127.0.0.1 … 127.0.0.H, all loopback) with an injected latency and ETag/304
support. With ``--rolling`` every feed publishes one new item each time it is fetched (the
oldest drops out), as a live feed does between two cycles.

Runs as its own process (``python benchmarks/fetch_feeds.py --feeds N ...``) so that its CPU
does not count against the client; it prints ``READY <port>`` when listening.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

TOPICS = (
    "金融监管总局发布《小额贷款公司监督管理暂行办法》",
    "央行：7月LPR维持不变，1年期3.0%",
    "助贷新规落地：年化利率不得超过24%",
    "CFPB finalizes rule on buy now, pay later loans",
    "消费金融公司监管评级办法（试行）印发",
    "FCA sets out plans for BNPL regulation",
    "网络小贷公司跨省展业受限，联合贷出资比例不低于30%",
    "征信业务管理办法实施细则公开征求意见",
)


PLACES = (
    "北京",
    "上海",
    "深圳",
    "杭州",
    "广州",
    "成都",
    "重庆",
    "天津",
    "南京",
    "武汉",
    "西安",
    "苏州",
)
WHO = (
    "多家银行",
    "消费金融公司",
    "网络小贷公司",
    "助贷平台",
    "监管部门",
    "地方金融管理局",
    "行业协会",
)
WHAT = (
    "发布通知",
    "召开座谈会",
    "开展专项检查",
    "公布名单",
    "回应市场关切",
    "启动整改",
    "披露数据",
)
SUBJECT = (
    "互联网贷款",
    "联合贷款",
    "催收行为",
    "综合融资成本",
    "征信数据",
    "借呗额度",
    "花呗分期",
    "小额贷款",
)


def _story(index: int, i: int, topic: str) -> str:
    """Headline ``i`` of feed ``index``: now and then a reprint of a topic, else one of
    12 x 7 x 7 x 8 place-actor-act-subject stories."""
    h = int.from_bytes(hashlib.blake2b(f"{index}-{i}".encode(), digest_size=4).digest(), "big")
    if h % 5 == 0:
        return topic
    place, who, what = PLACES[h % 12], WHO[(h >> 4) % 7], WHAT[(h >> 8) % 7]
    return f"{place}{who}{what}：聚焦{SUBJECT[(h >> 12) % 8]}"


def feed_xml(
    index: int, items: int = 30, broken: bool = False, newest: int = 29, now: datetime | None = None
) -> bytes:
    """Feed ``index``: items ``newest`` … ``newest - items + 1`` (item numbers grow over time),
    the newest published at ``now`` (default: a fixed day in 2026)."""
    base = now or datetime(2026, 7, 27, 12, 0, tzinfo=UTC) + timedelta(minutes=newest)
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>',
        f"<title>Feed {index}</title><link>https://feed{index}.example.org/</link>",
        "<description>benchmark feed</description>",
    ]
    for i in range(newest, newest - items, -1):
        topic = TOPICS[(index + i) % len(TOPICS)]
        link = f"https://feed{index}.example.org/news/{index}-{i}.html?utm_source=rss"
        age = timedelta(minutes=7 * (newest - i) + index)
        when = format_datetime(base - age, usegmt=True)
        # live feeds (a clock is given): mostly distinct stories, as a day of news is
        title = f"{topic}（第{index}-{i}号）" if now is None else _story(index, i, topic)
        title += " & more" if broken and i == newest else ""
        parts.append(
            f"<item><title>{title}</title><link>{link}</link>"
            f'<guid isPermaLink="false">feed{index}-item{i}</guid>'
            f"<description>&lt;p&gt;{topic}。正文摘要 {i}。&lt;/p&gt;</description>"
            f"<pubDate>{when}</pubDate></item>"
        )
    parts.append("</channel></rss>")
    return "\n".join(parts).encode("utf-8")


def _with_etag(body: bytes) -> tuple[bytes, str]:
    return body, '"' + hashlib.sha1(body).hexdigest()[:16] + '"'


class Feeds:
    def __init__(self, feeds: int, latency: float, broken_every: int, rolling: bool) -> None:
        self.latency = latency
        self.rolling = rolling
        self.bodies: dict[str, tuple[bytes, str]] = {}
        self.broken: dict[str, bool] = {}
        self.fetched: dict[str, int] = {}
        for i in range(feeds):
            path = f"/feed/{i}.xml"
            self.broken[path] = broken_every > 0 and i % broken_every == 0
            self.bodies[path] = _with_etag(feed_xml(i, broken=self.broken[path]))
            self.fetched[path] = 0

    def body(self, path: str) -> tuple[bytes, str] | None:
        """The feed as served now; with ``rolling``, one item newer on each request."""
        found = self.bodies.get(path)
        if found is None or not self.rolling:
            return found
        self.fetched[path] += 1
        index = int(path.rsplit("/", 1)[1].split(".")[0])
        newest = 29 + self.fetched[path]
        body = feed_xml(index, broken=self.broken[path], newest=newest, now=datetime.now(UTC))
        self.bodies[path] = _with_etag(body)
        return self.bodies[path]

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                headers = {
                    k.strip().lower(): v.strip()
                    for k, _, v in (line.partition(":") for line in lines[1:] if line)
                }
                await asyncio.sleep(self.latency)
                found = self.body(path)
                if found is None:
                    writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                elif headers.get("if-none-match") == found[1]:
                    writer.write(f"HTTP/1.1 304 Not Modified\r\nETag: {found[1]}\r\n\r\n".encode())
                else:
                    body, etag = found
                    writer.write(
                        (
                            "HTTP/1.1 200 OK\r\n"
                            "Content-Type: application/rss+xml; charset=utf-8\r\n"
                            f"ETag: {etag}\r\nContent-Length: {len(body)}\r\n\r\n"
                        ).encode()
                        + body
                    )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, IndexError):
            pass
        finally:
            writer.close()


async def serve(
    feeds: int, latency: float, hosts: int, port: int, broken_every: int, rolling: bool
) -> None:
    app = Feeds(feeds, latency, broken_every, rolling)
    servers = []
    for h in range(1, hosts + 1):
        servers.append(await asyncio.start_server(app.handle, f"127.0.0.{h}", port, backlog=1024))
        port = port or servers[0].sockets[0].getsockname()[1]
    print(f"READY {port}", flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--feeds", type=int, default=200)
    ap.add_argument("--latency", type=float, default=0.15)
    ap.add_argument("--hosts", type=int, default=20)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--broken-every", type=int, default=20)
    ap.add_argument("--rolling", action="store_true", help="one new item per fetch")
    a = ap.parse_args()
    asyncio.run(serve(a.feeds, a.latency, a.hosts, a.port, a.broken_every, a.rolling))


if __name__ == "__main__":
    main()
