"""The peer to beat on its own ground: a small httpx + feedparser asyncio poller.

    python benchmarks/peers/asyncio_feeds.py URLS_FILE STATE_FILE [--concurrency 16]
                                             [--per-host 2]

Fetches every URL of ``URLS_FILE`` (one a line) with at most ``--concurrency`` requests in
flight and ``--per-host`` per host, sends the ETag of the last run (``If-None-Match``), parses
each 200 with feedparser and counts the entries whose id it had not seen; the ETags and seen ids
are kept in ``STATE_FILE`` (JSON) for the next run. Prints one line: feeds, 304s, entries, new.
No storage, no classification, no mail: what any feed poller has to do at the least.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import feedparser
import httpx


async def poll(urls: list[str], state: dict[str, Any], concurrency: int, per_host: int) -> str:
    limit = asyncio.Semaphore(concurrency)
    hosts: dict[str, asyncio.Semaphore] = {}
    counts = {"304": 0, "entries": 0, "new": 0, "errors": 0}

    async def one(client: httpx.AsyncClient, url: str) -> None:
        host = urlsplit(url).netloc
        gate = hosts.setdefault(host, asyncio.Semaphore(per_host))
        known = state.setdefault(url, {"etag": None, "seen": []})
        headers = {"If-None-Match": known["etag"]} if known["etag"] else {}
        async with limit, gate:
            try:
                response = await client.get(url, headers=headers)
            except httpx.HTTPError:
                counts["errors"] += 1
                return
        if response.status_code == 304:
            counts["304"] += 1
            return
        if response.status_code != 200:
            counts["errors"] += 1
            return
        feed = feedparser.parse(response.content)
        seen = set(known["seen"])
        ids = [e.get("id") or e.get("link") or e.get("title", "") for e in feed.entries]
        counts["entries"] += len(ids)
        counts["new"] += sum(1 for i in ids if i not in seen)
        known["seen"] = sorted(seen | set(ids))
        known["etag"] = response.headers.get("etag")

    async with httpx.AsyncClient(timeout=30) as client:
        await asyncio.gather(*(one(client, url) for url in urls))
    return (
        f"{len(urls)} feeds, {counts['304']} not modified, {counts['entries']} entries,"
        f" {counts['new']} new, {counts['errors']} errors"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("urls", type=Path)
    ap.add_argument("state", type=Path)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--per-host", type=int, default=2)
    args = ap.parse_args()
    urls = [u for u in args.urls.read_text(encoding="utf-8").split() if u]
    state = json.loads(args.state.read_text(encoding="utf-8")) if args.state.exists() else {}
    print(asyncio.run(poll(urls, state, args.concurrency, args.per_host)))
    args.state.write_text(json.dumps(state), encoding="utf-8")


if __name__ == "__main__":
    main()
