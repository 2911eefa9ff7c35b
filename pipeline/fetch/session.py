"""One cycle's HTTP session, and every request made through it (``fetch_one``).

A ``Session`` owns the httpx client (no cookie store of its own), the ``Limits``, the clearance
``CookieJar`` and the WZWS ``ChallengeSolver``. Each request goes through the solver with a
per-request sender (``_sender``) that sends exactly one guarded hop: the solver follows the
redirects and answers at most one classic challenge, and every hop of it, the answer included,
is checked by the redirect and address policy, capped at ``max_bytes`` and bounded by the
attempt's deadline, inside the source's per-host slot. A solve calls ``on_clearance`` with the
host's cookies (the cycle keeps them in the database); an answered challenge that comes back
is retried with backoff like any transient failure and then reported ``blocked``; a variant
that cannot be answered over HTTP is ``blocked`` at once, naming the variant. A source with
``fetch = "browser"`` gets its list page from headless Chromium (``rendered``).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx

from pipeline.config import Settings
from pipeline.errors import BlockedError, FetchError
from pipeline.fetch import detect, guard, redact, rendered
from pipeline.fetch.challenge import (
    ChallengeSolver,
    HttpRequest,
    HttpResponse,
    Outcome,
    RedirectLimit,
    RedirectRefused,
    Send,
)
from pipeline.fetch.cookies import CookieJar, HostCookies, host_of
from pipeline.fetch.detail import FileBounds
from pipeline.fetch.transport import (
    DEFAULT_POLICY,
    REDIRECT_STATUSES,
    RETRY_STATUSES,
    Conditional,
    Hop,
    Limits,
    Policy,
    Transient,
    base_headers,
    check_hop,
    check_peer,
    make_client,
    read_capped,
    request_headers,
    retry_after,
)
from pipeline.models import Fetched, Source

log = logging.getLogger(__name__)


OnClearance = Callable[[str, HostCookies | None], None]


@dataclass(slots=True)
class Session:
    """One cycle's HTTP: the client, the limits, the anti-bot clearance cookies and the WZWS
    solver. Every request of the cycle (lists, detail pages, attachments, challenge answers)
    goes through it, so the per-host limits and the clearance are shared. ``on_clearance`` is
    called with a host's cookies after a solve (to keep them, e.g. in the database) and with
    None after a solve failed (to forget them)."""

    client: httpx.AsyncClient
    settings: Settings
    policy: Policy
    limits: Limits
    jar: CookieJar
    solver: ChallengeSolver
    on_clearance: OnClearance | None = None
    browser: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(1))

    def cleared(self, host: str, cookies: HostCookies | None) -> None:
        if self.on_clearance is None:
            return
        try:
            self.on_clearance(host, cookies)
        except Exception:  # keeping a cookie must never fail a fetch
            log.exception("%s: clearance cookies not kept", host)


async def _unused_send(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("the session passes a sender per request")


@asynccontextmanager
async def open_session(
    settings: Settings,
    policy: Policy = DEFAULT_POLICY,
    *,
    cookies: Iterable[HostCookies] = (),
    on_clearance: OnClearance | None = None,
) -> AsyncIterator[Session]:
    """A session whose cookie jar starts with ``cookies`` (expired ones are ignored)."""
    jar = CookieJar()
    for saved in cookies:
        jar.load(saved)
    limits = Limits(asyncio.Semaphore(settings.concurrency), settings.per_host)
    async with make_client(settings, policy) as client:
        solver = ChallengeSolver(_unused_send, jar, max_redirects=policy.max_redirects)
        yield Session(client, settings, policy, limits, jar, solver, on_clearance)


def _sender(session: Session, source: Source, first: str, detail: bool) -> Send:
    """One guarded hop per call (the solver follows the redirects): the hop's host and address
    are checked first, the connected address after; the body is capped at ``max_bytes``. A hop
    to another origin than the first carries only the neutral headers and that host's cookies."""
    hops = 0
    limit = source.timeout_seconds
    timeout = httpx.Timeout(limit, connect=min(10.0, limit))

    async def send(request: HttpRequest) -> HttpResponse:
        nonlocal hops
        headers = dict(request.headers)
        if guard.origin(request.url) != guard.origin(first):
            headers = base_headers(source)  # X-Api-Key, Referer … stay with their host
            if cookie := session.jar.header(request.url):
                headers["Cookie"] = cookie
        hop = Hop(request.url, request.method, headers, request.body)
        await check_hop(hop, hops, source, session.policy, detail)
        hops += 1
        async with session.client.stream(
            hop.method, hop.url, headers=hop.headers, content=hop.body, timeout=timeout
        ) as response:
            check_peer(response, hop, source, session.policy)
            status = response.status_code
            moved = status in REDIRECT_STATUSES and response.headers.get("location")
            content = b"" if moved or status == 304 else await read_capped(response, source)
            return HttpResponse(
                status,
                str(response.url),
                tuple((k.lower(), v) for k, v in response.headers.multi_items()),
                content,
            )

    return send


async def _attempt(session: Session, source: Source, first: Hop, detail: bool = False) -> Fetched:
    limit = source.timeout_seconds
    request = HttpRequest(first.method, first.url, dict(first.headers), first.body)
    try:
        # httpx's timeouts are per operation: a server sending a byte every few seconds would
        # never trip them. The deadline bounds the whole attempt: every hop, the challenge and
        # its answer included, headers and bodies.
        async with asyncio.timeout(limit):
            outcome = await session.solver.fetch(
                request, _sender(session, source, first.url, detail)
            )
    except TimeoutError as e:
        raise Transient(f"timed out after {limit:g}s reading the response") from e
    except RedirectRefused as e:
        raise FetchError(
            source.id, f"refused non-http(s) redirect to {redact.url(e.target)!r}"
        ) from e
    except RedirectLimit as e:
        raise FetchError(
            source.id, f"too many redirects (more than {session.policy.max_redirects})"
        ) from e
    except httpx.UnsupportedProtocol as e:
        raise FetchError(source.id, f"refused non-http(s) URL: {e}") from e
    except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as e:
        raise Transient(f"{type(e).__name__}: {e}" if str(e) else type(e).__name__) from e
    response = outcome.response
    host = host_of(response.url)
    resp_headers = {k: v for k, v in response.headers}  # the last value of a repeated header
    fetched = Fetched(
        source_id=source.id,
        url=response.url,
        status=response.status,
        headers=resp_headers,
        content=response.content,
        fetched_at=datetime.now(UTC),
        not_modified=response.status == 304,
        etag=resp_headers.get("etag"),
        last_modified=resp_headers.get("last-modified"),
    )
    if outcome.status == "solved" and response.status >= 400:  # the answer went nowhere
        outcome = replace(
            outcome,
            status="blocked",
            variant="classic",
            reason=f"WZWS challenge answered, and the answer was refused (HTTP {response.status})",
        )
    if outcome.status == "blocked":
        what = f"anti-bot challenge (WZWS {outcome.variant or 'challenge'}): {outcome.reason}"
        if outcome.variant == "classic":  # answered and refused: retried like any failure
            session.cleared(host, None)
            raise Transient(what, fetched=fetched, blocked=True)
        raise BlockedError(source.id, what, http_status=response.status)
    if outcome.status == "solved":
        fetched = replace(fetched, challenge=_solved(outcome, host))
        log.info("%s: %s", source.id, fetched.challenge)
        session.cleared(host, session.jar.export(host))
    if response.status in RETRY_STATUSES:
        text = response.content[: detect.SNIFF].decode("utf-8", "replace")
        if detect.challenge(text, response.status) is None:
            raise Transient(
                f"HTTP {response.status}", retry_after(resp_headers.get("retry-after")), fetched
            )
    return fetched


async def _browser(session: Session, source: Source) -> Fetched:
    """The list page from Chromium, one browser at a time, in the source's per-host slot; the
    clearance it won goes to the jar (and to ``on_clearance``) for the HTTP requests."""
    async with session.browser, session.limits.host(source.url), session.limits.total:
        page = await rendered.render(
            source,
            session.settings,
            allow_loopback=session.policy.allow_loopback,
            resolver=session.policy.resolver,
        )
    note = "rendered in headless Chromium"
    if page.cookies is not None:
        session.jar.load(page.cookies)
        session.cleared(page.cookies.host, page.cookies)
        names = ", ".join(name for name, _ in page.cookies.cookies)
        note += f"; its cookies ({names}) kept for {page.cookies.host}"
    return replace(page.fetched, challenge=note)


def _solved(outcome: Outcome, host: str) -> str:
    return (
        f"WZWS classic challenge answered over HTTP for {host}"
        f" ({outcome.requests} requests: challenge, answer, page)"
    )


async def fetch_one(
    session: Session,
    source: Source,
    cond: Conditional | None = None,
    url: str | None = None,
    *,
    attempts: int | None = None,
) -> Fetched:
    """Fetch with retries; raises FetchError when every attempt failed. With ``url`` (a detail
    page or an attachment) every redirect hop must stay on the source's host or its
    ``detail_hosts``. A source with ``fetch = "browser"`` gets its list page from Chromium."""
    target = url or source.url
    if urlsplit(target).scheme.lower() not in ("http", "https"):
        raise FetchError(source.id, f"refused non-http(s) URL {redact.url(target)!r}")
    if url is None and source.options.get("fetch") == "browser":
        return await _browser(session, source)
    body = source.body.encode("utf-8") if source.body is not None else None
    first = Hop(target, source.method, request_headers(source, cond), body)
    if url is not None:  # a detail page: GET, the source's headers only on its own host
        same = guard.origin(url) == guard.origin(source.url)
        first = Hop(url, "GET", base_headers(source) | (dict(source.headers) if same else {}), None)
    policy = session.policy
    tries = attempts or policy.attempts
    last: Transient | None = None
    for attempt in range(1, tries + 1):
        try:
            async with session.limits.host(target), session.limits.total:
                return await _attempt(session, source, first, detail=url is not None)
        except Transient as e:
            last = e
        if attempt == tries:
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
    error = BlockedError if last.blocked else FetchError
    raise error(source.id, f"{last.reason} after {attempt} attempts", http_status=status)


async def download(session: Session, source: Source, url: str, bounds: FileBounds) -> Fetched:
    """An attachment through the same guarded path as a detail page (its host, redirects,
    addresses, per-host limits), with its own size cap and deadline and one attempt. A
    Content-Type that cannot be a document is refused before the body is read (see
    ``attachments.get``)."""
    capped = replace(source, max_bytes=bounds.max_bytes, timeout_seconds=bounds.timeout)
    return await fetch_one(session, capped, None, url, attempts=1)
