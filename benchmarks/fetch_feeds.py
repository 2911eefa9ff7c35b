"""Loopback feed servers for bench_fetch.py: N RSS feeds of 30 items spread over many hosts
(127.0.0.1 … 127.0.0.H, all loopback) with an injected latency and ETag/304 support.

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


def feed_xml(index: int, items: int = 30, broken: bool = False) -> bytes:
    base = datetime(2026, 7, 27, 12, 0, tzinfo=UTC)
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>',
        f"<title>Feed {index}</title><link>https://feed{index}.example.org/</link>",
        "<description>benchmark feed</description>",
    ]
    for i in range(items):
        topic = TOPICS[(index + i) % len(TOPICS)]
        link = f"https://feed{index}.example.org/news/{index}-{i}.html?utm_source=rss"
        when = format_datetime(base - timedelta(minutes=37 * i + index), usegmt=True)
        title = f"{topic}（第{index}-{i}号）" + (" & more" if broken and i == 0 else "")
        parts.append(
            f"<item><title>{title}</title><link>{link}</link>"
            f'<guid isPermaLink="false">feed{index}-item{i}</guid>'
            f"<description>&lt;p&gt;{topic}。正文摘要 {i}。&lt;/p&gt;</description>"
            f"<pubDate>{when}</pubDate></item>"
        )
    parts.append("</channel></rss>")
    return "\n".join(parts).encode("utf-8")


class Feeds:
    def __init__(self, feeds: int, latency: float, broken_every: int) -> None:
        self.latency = latency
        self.bodies: dict[str, tuple[bytes, str]] = {}
        for i in range(feeds):
            body = feed_xml(i, broken=broken_every > 0 and i % broken_every == 0)
            etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
            self.bodies[f"/feed/{i}.xml"] = (body, etag)

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
                found = self.bodies.get(path)
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


async def serve(feeds: int, latency: float, hosts: int, port: int, broken_every: int) -> None:
    app = Feeds(feeds, latency, broken_every)
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
    a = ap.parse_args()
    asyncio.run(serve(a.feeds, a.latency, a.hosts, a.port, a.broken_every))


if __name__ == "__main__":
    main()
