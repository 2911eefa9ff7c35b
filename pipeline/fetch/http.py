"""All fetch I/O of a cycle: the sources' lists, their detail pages and attachments, through one
``Session`` (``session``: one httpx.AsyncClient, a global and a per-host concurrency limit, the
WZWS solver and its clearance cookies), with retries with exponential backoff on transient
errors and 429/5xx (honouring Retry-After), a size cap on the decoded bytes (``inflate``),
conditional GET, http(s) only, and redirects followed one hop at a time under ``guard``'s
policy (same registrable domain or ``redirect_hosts``; public addresses only, before connecting
and after; the source's own headers never sent to another host). Parsing is delegated to
``parse.result`` off the event loop (``pool``); a source's failure becomes its
``SourceResult``, never an exception, and its reason never carries a secret (``redact``).

    httpx.TimeoutException / NetworkError / RemoteProtocolError  -> retried, then "error"
    attempt over its overall deadline (timeout_seconds)            -> retried, then "error"
    HTTP 429, 500, 502, 503, 504                                   -> retried, then "error"
    classic WZWS challenge                                         -> answered once, page read
    WZWS answered and served again                                 -> retried, then "blocked"
    WZWS variant not answerable over HTTP (zw_verify, captcha ...) -> "blocked", variant named
    other challenge page (any status), HTTP 412                    -> "blocked"   (parse/detect)
    wrong format, shell, too few items                             -> "layout-changed" (parse)
    redirect off the domain, to a private address, stacked encoding -> "error"
    anything else raised while fetching or parsing one source     -> "error" ("internal error")
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import replace

from pipeline.config import Settings
from pipeline.errors import FetchError
from pipeline.fetch import redact
from pipeline.fetch.cookies import HostCookies
from pipeline.fetch.detail import DetailFetcher
from pipeline.fetch.pool import ParsePool
from pipeline.fetch.session import OnClearance, Session, download, fetch_one, open_session
from pipeline.fetch.transport import (
    DEFAULT_POLICY,
    POOL_FROM_SOURCES,
    Conditional,
    Policy,
    policy_for,
    retry_after,
)
from pipeline.models import Item, Source, SourceResult

__all__ = [
    "DEFAULT_POLICY",
    "POOL_FROM_SOURCES",
    "Conditional",
    "Policy",
    "Session",
    "fetch_all",
    "fetch_details",
    "fetch_details_sync",
    "fetch_one",
    "fetch_sources",
    "open_session",
    "policy_for",
    "retry_after",
]

log = logging.getLogger(__name__)


async def _one_source(
    session: Session,
    source: Source,
    cond: Conditional | None,
    pool: ParsePool,
) -> SourceResult:
    started = time.monotonic()
    try:
        fetched = await fetch_one(session, source, cond)
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
            challenge=fetched.challenge,
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
    session: Session | None = None,
) -> list[SourceResult]:
    """One SourceResult per source, in the order given. Never raises for one source's failure.

    ``on_result`` is awaited with each source's result as soon as it is ready, so the caller can
    store and classify while the other downloads are still in flight. Its exceptions propagate
    (after the other sources finished). Without a ``session`` one is opened for these sources
    (no clearance cookies kept beyond it).
    """
    if session is None:
        async with open_session(settings, policy) as own:
            return await fetch_all(
                sources, conditional, settings, policy=policy, on_result=on_result, session=own
            )
    callback_errors: list[BaseException] = []

    async def one(source: Source, pool: ParsePool) -> SourceResult:
        try:
            res = await _one_source(session, source, conditional.get(source.id), pool)
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

    async with ParsePool(policy.parse_processes, policy.parse_timeout) as pool:
        results = await asyncio.gather(*(one(s, pool) for s in sources))
    if callback_errors:
        raise callback_errors[0]
    return list(results)


def fetch_sources(
    sources: Sequence[Source],
    conditional: Mapping[str, Conditional],
    settings: Settings,
    *,
    policy: Policy = DEFAULT_POLICY,
    cookies: Iterable[HostCookies] = (),
    on_clearance: OnClearance | None = None,
) -> list[SourceResult]:
    async def go() -> list[SourceResult]:
        async with open_session(
            settings, policy, cookies=cookies, on_clearance=on_clearance
        ) as session:
            return await fetch_all(sources, conditional, settings, policy=policy, session=session)

    return asyncio.run(go())


async def fetch_details(
    items: Sequence[Item],
    sources: Mapping[str, Source],
    settings: Settings,
    *,
    policy: Policy = DEFAULT_POLICY,
    session: Session | None = None,
) -> list[Item]:
    """Items with ``body`` (and, where the source asks, their penalty table and attachments)
    filled for sources that configure ``detail`` or ``attachments``; failures are logged and
    the item is kept without them."""
    if session is None:
        async with open_session(settings, policy) as own:
            return await fetch_details(items, sources, settings, policy=policy, session=own)
    fetcher = DetailFetcher(
        lambda s, u: fetch_one(session, s, None, u),
        lambda s, u, b: download(session, s, u, b),
        policy.parse_timeout,
    )
    return list(await asyncio.gather(*(fetcher.fill(i, sources.get(i.source_id)) for i in items)))


def fetch_details_sync(
    items: Sequence[Item],
    sources: Mapping[str, Source],
    settings: Settings,
    *,
    policy: Policy = DEFAULT_POLICY,
) -> list[Item]:
    return asyncio.run(fetch_details(items, sources, settings, policy=policy))


def probe_source(
    source: Source,
    settings: Settings,
    *,
    details: int = 0,
    policy: Policy = DEFAULT_POLICY,
) -> tuple[SourceResult, list[Item]]:
    """``test-source``: one source's list and, for its first ``details`` items, their detail
    pages and attachments, in one session (a clearance won for the list serves the details);
    nothing is kept."""

    async def go() -> tuple[SourceResult, list[Item]]:
        async with open_session(settings, policy) as session:
            [res] = await fetch_all([source], {}, settings, policy=policy, session=session)
            items = list(res.items)
            if details and items:
                head = await fetch_details(
                    items[:details], {source.id: source}, settings, policy=policy, session=session
                )
                items = [*head, *items[details:]]
            return res, items

    return asyncio.run(go())
