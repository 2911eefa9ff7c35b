"""All fetch I/O: one httpx.AsyncClient, a global and a per-host concurrency limit, retries with
exponential backoff on transient errors and 429/5xx (honouring Retry-After), a streamed size cap,
conditional GET, http(s) only and bounded redirects. Parsing is delegated to the pure
``parse.result``; a source's failure becomes its ``SourceResult``, never an exception.

    httpx.TimeoutException / NetworkError / RemoteProtocolError  -> retried, then "error"
    attempt over its overall deadline (timeout_seconds)            -> retried, then "error"
    HTTP 429, 500, 502, 503, 504                                   -> retried, then "error"
    challenge page (any status), HTTP 412                          -> "blocked"   (parse/detect)
    wrong format, shell, too few items                             -> "layout-changed" (parse)
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
from urllib.parse import urlsplit

import httpx

from pipeline.config import Settings
from pipeline.errors import FetchError
from pipeline.fetch import detect
from pipeline.fetch.detail import DetailFetcher
from pipeline.fetch.pool import ParsePool
from pipeline.models import Fetched, Item, Source, SourceResult

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
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
    parse_processes: int = 0  # >0: parse slow documents in a process pool of that size
    offload_all: bool = False  # with a pool: parse every document there, not only slow ones


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
        return replace(DEFAULT_POLICY, parse_processes=1, offload_all=True)
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
        headers={"User-Agent": settings.user_agent, "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"},
        follow_redirects=True,
        max_redirects=policy.max_redirects,
        limits=httpx.Limits(
            max_connections=settings.concurrency, max_keepalive_connections=settings.concurrency
        ),
        timeout=httpx.Timeout(20.0, connect=policy.connect_timeout),
    )


async def _read_capped(response: httpx.Response, source: Source) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > source.max_bytes:
        raise FetchError(
            source.id,
            f"response exceeds max_bytes {source.max_bytes} (Content-Length {declared})",
            http_status=response.status_code,
        )
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > source.max_bytes:
            raise FetchError(
                source.id,
                f"response exceeds max_bytes {source.max_bytes}",
                http_status=response.status_code,
            )
        chunks.append(chunk)
    return b"".join(chunks)


def request_headers(source: Source, cond: Conditional | None) -> dict[str, str]:
    headers = {"Accept": ACCEPT.get(source.kind, "*/*")}
    if cond is not None and cond.etag:
        headers["If-None-Match"] = cond.etag
    if cond is not None and cond.last_modified:
        headers["If-Modified-Since"] = cond.last_modified
    headers.update(source.headers)
    return headers


async def _attempt(
    client: httpx.AsyncClient,
    source: Source,
    url: str,
    headers: Mapping[str, str],
    body: str | None,
) -> Fetched:
    limit = source.timeout_seconds
    timeout = httpx.Timeout(limit, connect=min(10.0, limit))
    try:
        # httpx's timeouts are per operation: a server sending a byte every few seconds would
        # never trip them. The deadline bounds the whole attempt (connect, headers, body).
        async with (
            asyncio.timeout(limit),
            client.stream(
                source.method, url, headers=headers, content=body, timeout=timeout
            ) as response,
        ):
            status = response.status_code
            content = b"" if status == 304 else await _read_capped(response, source)
            final = str(response.url)
            resp_headers = {k.lower(): v for k, v in response.headers.items()}
    except TimeoutError as e:
        raise _Transient(f"timed out after {limit:g}s reading the response") from e
    except httpx.TooManyRedirects as e:
        raise FetchError(source.id, f"too many redirects: {e}") from e
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
    """Fetch with retries; raises FetchError when every attempt failed."""
    target = url or source.url
    if urlsplit(target).scheme.lower() not in ("http", "https"):
        raise FetchError(source.id, f"refused non-http(s) URL {target!r}")
    headers = request_headers(source, cond)
    last: _Transient | None = None
    for attempt in range(1, policy.attempts + 1):
        try:
            async with limits.host(target), limits.total:
                return await _attempt(client, source, target, headers, source.body)
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
        log.info("%s: %s, retry %d in %.1fs", source.id, last.reason, attempt, wait)
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
        except Exception as e:
            log.exception("%s: unexpected failure", source.id)
            res = SourceResult(source.id, "error", f"internal error: {type(e).__name__}: {e}")
        if on_result is not None:
            try:
                await on_result(res)
            except Exception as e:
                callback_errors.append(e)
        return res

    async with (
        make_client(settings, policy) as client,
        ParsePool(policy.parse_processes, policy.offload_all) as pool,
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
        fetcher = DetailFetcher(lambda s, u: fetch_one(client, s, None, limits, policy, url=u))
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
