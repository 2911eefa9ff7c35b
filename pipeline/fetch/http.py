"""All fetch I/O: one httpx.AsyncClient, a global and a per-host concurrency limit, retries with
exponential backoff on transient errors and 429/5xx (honouring Retry-After), a size cap on the
decoded bytes (``inflate``), conditional GET, http(s) only, and redirects followed here, one hop
at a time, under ``guard``'s policy (same registrable domain or ``redirect_hosts``; public
addresses only, before connecting and after; the source's own headers never sent to another
host). Parsing is delegated to ``parse.result`` off the event loop (``pool``); a source's
failure becomes its ``SourceResult``, never an exception, and its reason never carries a
secret (``redact``).

    httpx.TimeoutException / NetworkError / RemoteProtocolError  -> retried, then "error"
    attempt over its overall deadline (timeout_seconds)            -> retried, then "error"
    HTTP 429, 500, 502, 503, 504                                   -> retried, then "error"
    challenge page (any status), HTTP 412                          -> "blocked"   (parse/detect)
    wrong format, shell, too few items                             -> "layout-changed" (parse)
    redirect off the domain, to a private address, stacked encoding -> "error"
    anything else raised while fetching or parsing one source     -> "error" ("internal error")
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import httpx

from pipeline.config import Settings
from pipeline.errors import FetchError
from pipeline.fetch import detect, guard, redact
from pipeline.fetch.detail import DetailFetcher, allowed_host
from pipeline.fetch.inflate import ACCEPT_ENCODING, Inflater
from pipeline.fetch.pool import DEFAULT_TIMEOUT, ParsePool
from pipeline.models import Fetched, Item, Source, SourceResult

log = logging.getLogger(__name__)

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


class _Transient(Exception):
    def __init__(self, reason: str, wait: float | None = None, fetched: Fetched | None = None):
        super().__init__(reason)
        self.reason = reason
        self.wait = wait
        self.fetched = fetched


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
        follow_redirects=False,  # followed in _attempt, hop by hop, under guard's policy
        limits=httpx.Limits(
            max_connections=settings.concurrency, max_keepalive_connections=settings.concurrency
        ),
        timeout=httpx.Timeout(20.0, connect=policy.connect_timeout),
    )


async def _read_capped(response: httpx.Response, source: Source) -> bytes:
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
    body: str | None


def _next_hop(hop: Hop, response: httpx.Response, source: Source, first: str) -> Hop:
    location = response.headers.get("location", "")
    target = urljoin(hop.url, location.strip())
    method, body = hop.method, hop.body
    if response.status_code == 303 or (response.status_code in (301, 302) and method == "POST"):
        method, body = ("HEAD" if method == "HEAD" else "GET"), None
    headers = hop.headers
    if guard.origin(target) != guard.origin(first):
        headers = base_headers(source)  # X-Api-Key, Cookie, Referer … stay with their host
    return Hop(target, method, headers, body)


async def _check_hop(hop: Hop, number: int, source: Source, policy: Policy, detail: bool) -> None:
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


def _check_peer(response: httpx.Response, hop: Hop, source: Source, policy: Policy) -> None:
    """The address actually connected to (a second DNS answer may differ from the first)."""
    stream = response.extensions.get("network_stream")
    peer = stream.get_extra_info("server_addr") if stream is not None else None
    if not peer:
        return
    host = (urlsplit(hop.url).hostname or "").lower()
    if why := guard.AddressRule(source, policy.allow_loopback).check(host, [str(peer[0])]):
        raise FetchError(source.id, why)


async def _attempt(
    client: httpx.AsyncClient,
    source: Source,
    first: Hop,
    policy: Policy,
    detail: bool = False,
) -> Fetched:
    limit = source.timeout_seconds
    timeout = httpx.Timeout(limit, connect=min(10.0, limit))
    hop = first
    try:
        # httpx's timeouts are per operation: a server sending a byte every few seconds would
        # never trip them. The deadline bounds the whole attempt (every hop, headers, body).
        async with asyncio.timeout(limit):
            for number in range(policy.max_redirects + 1):
                await _check_hop(hop, number, source, policy, detail)
                async with client.stream(
                    hop.method, hop.url, headers=hop.headers, content=hop.body, timeout=timeout
                ) as response:
                    _check_peer(response, hop, source, policy)
                    status = response.status_code
                    if status in REDIRECT_STATUSES and response.headers.get("location"):
                        hop = _next_hop(hop, response, source, first.url)
                        continue
                    content = b"" if status == 304 else await _read_capped(response, source)
                    final = str(response.url)
                    resp_headers = {k.lower(): v for k, v in response.headers.items()}
                    break
            else:
                raise FetchError(
                    source.id, f"too many redirects (more than {policy.max_redirects})"
                )
    except TimeoutError as e:
        raise _Transient(f"timed out after {limit:g}s reading the response") from e
    except httpx.UnsupportedProtocol as e:
        raise FetchError(source.id, f"refused non-http(s) URL: {e}") from e
    except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as e:
        raise _Transient(f"{type(e).__name__}: {e}" if str(e) else type(e).__name__) from e
    fetched = Fetched(
        source_id=source.id,
        url=final,
        status=status,
        headers=resp_headers,
        content=content,
        fetched_at=datetime.now(UTC),
        not_modified=status == 304,
        etag=resp_headers.get("etag"),
        last_modified=resp_headers.get("last-modified"),
    )
    if status in RETRY_STATUSES:
        text = content[: detect.SNIFF].decode("utf-8", "replace")
        if detect.challenge(text, status) is None:
            raise _Transient(
                f"HTTP {status}", retry_after(resp_headers.get("retry-after")), fetched
            )
    return fetched


async def fetch_one(
    client: httpx.AsyncClient,
    source: Source,
    cond: Conditional | None,
    limits: Limits,
    policy: Policy = DEFAULT_POLICY,
    url: str | None = None,
) -> Fetched:
    """Fetch with retries; raises FetchError when every attempt failed. With ``url`` (a detail
    page) every redirect hop must stay on the source's host or its ``detail_hosts``."""
    target = url or source.url
    if urlsplit(target).scheme.lower() not in ("http", "https"):
        raise FetchError(source.id, f"refused non-http(s) URL {redact.url(target)!r}")
    first = Hop(target, source.method, request_headers(source, cond), source.body)
    if url is not None:  # a detail page: GET, the source's headers only on its own host
        same = guard.origin(url) == guard.origin(source.url)
        first = Hop(url, "GET", base_headers(source) | (dict(source.headers) if same else {}), None)
    last: _Transient | None = None
    for attempt in range(1, policy.attempts + 1):
        try:
            async with limits.host(target), limits.total:
                return await _attempt(client, source, first, policy, detail=url is not None)
        except _Transient as e:
            last = e
        if attempt == policy.attempts:
            break
        wait = min(policy.backoff * 2 ** (attempt - 1), policy.max_backoff)
        wait *= 1 + random.random() / 10
        if last.wait is not None:
            if last.wait > policy.max_retry_after:
                break
            wait = max(wait, last.wait)
        log.info("%s: %s, retry %d in %.1fs", source.id, redact.text(last.reason), attempt, wait)
        await asyncio.sleep(wait)
    assert last is not None
    status = last.fetched.status if last.fetched is not None else None
    raise FetchError(source.id, f"{last.reason} after {attempt} attempts", http_status=status)


async def _one_source(
    client: httpx.AsyncClient,
    source: Source,
    cond: Conditional | None,
    limits: Limits,
    policy: Policy,
    pool: ParsePool,
) -> SourceResult:
    started = time.monotonic()
    try:
        fetched = await fetch_one(client, source, cond, limits, policy)
    except FetchError as e:
        return SourceResult(
            source_id=source.id,
            status=e.status,  # type: ignore[arg-type]
            reason=e.reason,
            http_status=e.http_status,
            elapsed_seconds=round(time.monotonic() - started, 3),
        )
    if fetched.not_modified:
        return SourceResult(
            source_id=source.id,
            status="ok",
            http_status=304,
            not_modified=True,
            etag=fetched.etag or (cond.etag if cond else None),
            last_modified=fetched.last_modified or (cond.last_modified if cond else None),
            elapsed_seconds=round(time.monotonic() - started, 3),
        )
    return await pool.result(fetched, source, started)


OnResult = Callable[[SourceResult], Awaitable[None]]


async def fetch_all(
    sources: Sequence[Source],
    conditional: Mapping[str, Conditional],
    settings: Settings,
    *,
    policy: Policy = DEFAULT_POLICY,
    on_result: OnResult | None = None,
) -> list[SourceResult]:
    """One SourceResult per source, in the order given. Never raises for one source's failure.

    ``on_result`` is awaited with each source's result as soon as it is ready, so the caller can
    store and classify while the other downloads are still in flight. Its exceptions propagate
    (after the other sources finished).
    """
    limits = Limits(asyncio.Semaphore(settings.concurrency), settings.per_host)
    callback_errors: list[BaseException] = []

    async def one(client: httpx.AsyncClient, source: Source, pool: ParsePool) -> SourceResult:
        try:
            res = await _one_source(
                client, source, conditional.get(source.id), limits, policy, pool
            )
        except Exception as e:  # the per-source boundary: nothing one source does crosses it
            log.exception("%s: unexpected failure", source.id)
            res = SourceResult(source.id, "error", f"internal error: {type(e).__name__}: {e}")
        if res.reason:  # no credentials or tokens from a URL in anything stored or shown
            res = replace(res, reason=redact.text(res.reason))
        if on_result is not None:
            try:
                await on_result(res)
            except Exception as e:
                callback_errors.append(e)
        return res

    async with (
        make_client(settings, policy) as client,
        ParsePool(policy.parse_processes, policy.parse_timeout) as pool,
    ):
        results = await asyncio.gather(*(one(client, s, pool) for s in sources))
    if callback_errors:
        raise callback_errors[0]
    return list(results)


def fetch_sources(
    sources: Sequence[Source],
    conditional: Mapping[str, Conditional],
    settings: Settings,
    *,
    policy: Policy = DEFAULT_POLICY,
) -> list[SourceResult]:
    return asyncio.run(fetch_all(sources, conditional, settings, policy=policy))


async def fetch_details(
    items: Sequence[Item],
    sources: Mapping[str, Source],
    settings: Settings,
    *,
    policy: Policy = DEFAULT_POLICY,
) -> list[Item]:
    """Items with ``body`` filled for sources that configure ``detail``; failures are logged and
    the item is kept without a body."""
    limits = Limits(asyncio.Semaphore(settings.concurrency), settings.per_host)
    async with make_client(settings, policy) as client:
        fetcher = DetailFetcher(
            lambda s, u: fetch_one(client, s, None, limits, policy, url=u), policy.parse_timeout
        )
        return list(
            await asyncio.gather(*(fetcher.fill(i, sources.get(i.source_id)) for i in items))
        )


def fetch_details_sync(
    items: Sequence[Item],
    sources: Mapping[str, Source],
    settings: Settings,
    *,
    policy: Policy = DEFAULT_POLICY,
) -> list[Item]:
    return asyncio.run(fetch_details(items, sources, settings, policy=policy))
