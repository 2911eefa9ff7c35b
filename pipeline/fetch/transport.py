"""The transport under every fetch: retry policy, limits, headers, one guarded hop's checks.

``Policy`` holds the retry and transport knobs; ``Limits`` the global and per-host semaphores;
``read_capped`` reads a body under ``max_bytes`` (decoded size, see ``inflate``); ``check_hop``
refuses a hop the redirect and address policy forbids (see ``guard``) before connecting and
``check_peer`` the address actually connected to. ``session`` builds requests on these.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import httpx

from pipeline.config import Settings
from pipeline.errors import FetchError
from pipeline.fetch import guard, redact
from pipeline.fetch.challenge import cookieless_jar
from pipeline.fetch.detail import allowed_host
from pipeline.fetch.inflate import ACCEPT_ENCODING, Inflater
from pipeline.fetch.pool import DEFAULT_TIMEOUT
from pipeline.models import Fetched, Source

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
ACCEPT = {
    "rss": "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.5",
    "json": "application/json, text/javascript;q=0.9, */*;q=0.5",
    "html": "text/html, application/xhtml+xml;q=0.9, */*;q=0.5",
}


@dataclass(frozen=True, slots=True)
class Conditional:
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class Policy:
    """Retry and transport knobs; tests shorten the waits."""

    attempts: int = 3
    backoff: float = 1.0  # first wait; doubles each retry, with up to 10% jitter
    max_backoff: float = 30.0
    max_retry_after: float = 120.0  # a longer Retry-After gives up instead of waiting
    max_redirects: int = 5
    connect_timeout: float = 10.0
    parse_processes: int = 0  # >0: parse in a process pool of that size (else a thread each)
    parse_timeout: float = DEFAULT_TIMEOUT  # the longest the cycle waits for one document
    # loopback addresses beyond a source's own configured host (tests serve from 127.0.0.1)
    allow_loopback: bool = False
    resolver: guard.Resolver | None = None  # host -> addresses; None: the system's


DEFAULT_POLICY = Policy()
# From this many sources a cycle parses in a worker process (when there is a second core): in
# smaller cycles starting the process costs more than the parsing it takes off the event loop
# (benchmarks/bench_fetch.py measures both).
POOL_FROM_SOURCES = 50


def policy_for(sources: int, cpus: int | None = None) -> Policy:
    """The default policy for a cycle of ``sources``: parse everything in one worker process
    on the other core when the cycle is large enough to pay for starting it."""
    if cpus is None:
        cpus = os.cpu_count() or 1
    if sources >= POOL_FROM_SOURCES and cpus > 1:
        return replace(DEFAULT_POLICY, parse_processes=1)
    return DEFAULT_POLICY


@dataclass(slots=True)
class Limits:
    """The global semaphore and one semaphore per host."""

    total: asyncio.Semaphore
    per_host: int
    hosts: dict[str, asyncio.Semaphore] = field(default_factory=dict)

    def host(self, url: str) -> asyncio.Semaphore:
        name = (urlsplit(url).hostname or "").lower()
        if name not in self.hosts:
            self.hosts[name] = asyncio.Semaphore(self.per_host)
        return self.hosts[name]


class Transient(Exception):
    """A failure worth another attempt; ``blocked``: a challenge answered and refused."""

    def __init__(
        self,
        reason: str,
        wait: float | None = None,
        fetched: Fetched | None = None,
        *,
        blocked: bool = False,
    ):
        super().__init__(reason)
        self.reason = reason
        self.wait = wait
        self.fetched = fetched
        self.blocked = blocked


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def make_client(settings: Settings, policy: Policy = DEFAULT_POLICY) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        headers={
            "User-Agent": settings.user_agent,
            "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8",
            "Accept-Encoding": ACCEPT_ENCODING,
        },
        follow_redirects=False,  # followed hop by hop under guard's policy (see _sender)
        cookies=cookieless_jar(),  # cookies live in the session's CookieJar only
        limits=httpx.Limits(
            max_connections=settings.concurrency, max_keepalive_connections=settings.concurrency
        ),
        timeout=httpx.Timeout(20.0, connect=policy.connect_timeout),
    )


async def read_capped(response: httpx.Response, source: Source) -> bytes:
    """The decoded body; ``max_bytes`` bounds the decoded bytes (see ``inflate``)."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > source.max_bytes:
        raise FetchError(
            source.id,
            f"response exceeds max_bytes {source.max_bytes} (Content-Length {declared})",
            http_status=response.status_code,
        )
    coding = ", ".join(response.headers.get_list("content-encoding"))
    inflater = Inflater(coding, source.max_bytes, source.id, response.status_code)
    chunks: list[bytes] = []
    async for chunk in response.aiter_raw():
        chunks.append(inflater.feed(chunk))
    chunks.append(inflater.flush())
    return b"".join(chunks)


def request_headers(source: Source, cond: Conditional | None) -> dict[str, str]:
    headers = base_headers(source)
    if cond is not None and cond.etag:
        headers["If-None-Match"] = cond.etag
    if cond is not None and cond.last_modified:
        headers["If-Modified-Since"] = cond.last_modified
    headers.update(source.headers)
    return headers


def base_headers(source: Source) -> dict[str, str]:
    """What every hop may carry, whatever its host: no source header, no validator."""
    return {"Accept": ACCEPT.get(source.kind, "*/*")}


@dataclass(frozen=True, slots=True)
class Hop:
    """One request of an attempt: where, how, and what may be sent there."""

    url: str
    method: str
    headers: Mapping[str, str]
    body: bytes | None


async def check_hop(hop: Hop, number: int, source: Source, policy: Policy, detail: bool) -> None:
    """Raise FetchError when this hop may not be requested (see ``guard``)."""
    parts = urlsplit(hop.url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        what = "redirect to" if number else "URL"
        raise FetchError(source.id, f"refused non-http(s) {what} {redact.url(hop.url)!r}")
    if detail and not allowed_host(hop.url, source):
        where = "redirected off" if number else "not on"
        raise FetchError(source.id, f"detail page {where} the source's host: {parts.hostname}")
    if not detail and number and (why := guard.redirect_refusal(hop.url, source)):
        raise FetchError(source.id, why)
    host = parts.hostname.lower()
    rule = guard.AddressRule(source, policy.allow_loopback)
    addresses = await guard.resolve(host, policy.resolver)
    if (why := rule.check(host, addresses)) is not None:
        raise FetchError(source.id, why)


def check_peer(response: httpx.Response, hop: Hop, source: Source, policy: Policy) -> None:
    """The address actually connected to (a second DNS answer may differ from the first)."""
    stream = response.extensions.get("network_stream")
    peer = stream.get_extra_info("server_addr") if stream is not None else None
    if not peer:
        return
    host = (urlsplit(hop.url).hostname or "").lower()
    if why := guard.AddressRule(source, policy.allow_loopback).check(host, [str(peer[0])]):
        raise FetchError(source.id, why)
