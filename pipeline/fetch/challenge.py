"""Fetch through the WZWS challenge: one request in, a page or a clear "blocked" out.

``ChallengeSolver.fetch`` sends the request with the host's stored cookies, follows redirects
itself (so it sees every ``Set-Cookie``, including the clearance set on a 302), and when the
answer is a classic WZWS challenge sends the one confirm request the page's script would send.
At most ONE solve per call: if the challenge comes back after it (wrong answer, clearance not
granted, a server that always challenges), the outcome is ``blocked``, never a loop. Variants it
cannot answer are ``blocked`` with the variant named.

Seams for the fetch cycle (kept free of sources, store and settings on purpose):

* ``Send`` is "send exactly one HTTP request, do not follow redirects": the cycle wraps its own
  per-host/global limits, size cap and deadline around each call, so the confirm and redirect
  requests are throttled like any other. ``httpx_sender`` is a ready one for an httpx client.
* ``CookieJar`` (pipeline.fetch.cookies) holds the clearance; ``jar.export(host)`` /
  ``jar.load(HostCookies)`` move it to and from the database after a ``solved`` outcome.
* Errors of ``send`` (timeouts, network errors) propagate for the cycle's retry logic;
  ``RedirectLimit`` is raised after ``max_redirects``.

Requests to one host that are challenged at the same time do not all solve: the solve runs
under a per-host lock, and a request that finds the host's cookies changed while it waited
first retries with them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from http.cookiejar import CookieJar as StdCookieJar
from http.cookiejar import DefaultCookiePolicy
from typing import Literal
from urllib.parse import urljoin, urlsplit

import httpx

from pipeline.fetch import wzws
from pipeline.fetch.cookies import CookieJar, host_of

log = logging.getLogger(__name__)

REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Request headers that belong to the original request only, not to the confirm request.
_NOT_FORWARDED = frozenset(
    {"content-type", "content-length", "cookie", "if-none-match", "if-modified-since", "referer"}
)


class RedirectLimit(Exception):
    """More redirects than allowed (a cookie-redirect loop or a misconfigured site)."""


class RedirectRefused(RedirectLimit):
    """A redirect to a URL that is not http(s); ``target`` is where it pointed."""

    def __init__(self, target: str) -> None:
        super().__init__(f"redirect to a non-http(s) URL {target!r}")
        self.target = target


@dataclass(frozen=True, slots=True)
class HttpRequest:
    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """One raw response. ``headers`` keeps repeated headers (Set-Cookie), names lower-case."""

    status: int
    url: str
    headers: tuple[tuple[str, str], ...]
    content: bytes

    def header(self, name: str) -> str | None:
        values = self.header_list(name)
        return values[-1] if values else None

    def header_list(self, name: str) -> list[str]:
        name = name.lower()
        return [v for k, v in self.headers if k == name]

    def header_map(self) -> dict[str, str]:
        return dict(self.headers)


Send = Callable[[HttpRequest], Awaitable[HttpResponse]]


@dataclass(frozen=True, slots=True)
class Outcome:
    """``passed``: no challenge; ``solved``: one challenge answered, ``response`` is the page;
    ``blocked``: ``reason`` says why (``variant`` names the challenge), ``response`` is the
    last one received. ``requests`` counts every request sent, confirm and redirects included."""

    status: Literal["passed", "solved", "blocked"]
    response: HttpResponse
    reason: str = ""
    variant: str | None = None
    requests: int = 1

    @property
    def ok(self) -> bool:
        return self.status != "blocked"


class ChallengeSolver:
    def __init__(self, send: Send, jar: CookieJar, *, max_redirects: int = 5) -> None:
        self.send = send
        self.jar = jar
        self.max_redirects = max_redirects
        self._locks: dict[str, asyncio.Lock] = {}
        # Solves completed per host. A request compares the count from before it was sent
        # with the count once it holds the lock: a solve in between means its challenge is
        # stale (it was sent without the new clearance), so it retries before solving.
        self._solves: dict[str, int] = {}

    async def _follow(
        self, request: HttpRequest, send: Send | None = None
    ) -> tuple[HttpResponse, int]:
        """Send, storing cookies and following redirects as a browser does."""
        send = send or self.send
        sent = 0
        while True:
            headers = dict(request.headers)
            stored = self.jar.header(request.url)
            if stored:
                own = headers.pop("Cookie", None) or headers.pop("cookie", None)
                headers["Cookie"] = f"{own}; {stored}" if own else stored
            response = await send(HttpRequest(request.method, request.url, headers, request.body))
            sent += 1
            self.jar.store(response.url, response.header_list("set-cookie"))
            location = response.header("location")
            if response.status not in REDIRECTS or not location:
                return response, sent
            if sent > self.max_redirects:
                raise RedirectLimit(f"more than {self.max_redirects} redirects from {request.url}")
            target = urljoin(response.url, location)
            if urlsplit(target).scheme.lower() not in ("http", "https"):
                raise RedirectRefused(target)
            keep = response.status in (307, 308) or request.method in ("GET", "HEAD")
            method = request.method if keep else "GET"
            headers = dict(request.headers)  # without the cookies added for this hop
            if not keep:
                headers = {k: v for k, v in headers.items() if k.lower() not in _NOT_FORWARDED}
            request = HttpRequest(method, target, headers, request.body if keep else None)

    def _lock(self, host: str) -> asyncio.Lock:
        return self._locks.setdefault(host, asyncio.Lock())

    async def fetch(self, request: HttpRequest, send: Send | None = None) -> Outcome:
        """The page behind ``request``, solving at most one classic challenge on the way.
        ``send`` replaces the solver's own for this call (the fetch cycle passes one per
        request that knows its source's limits and redirect policy); the cookie jar and the
        per-host solve lock stay shared."""
        host = host_of(request.url)
        seen = self._solves.get(host, 0)
        response, sent = await self._follow(request, send)
        found = wzws.recognise(response.status, response.content, response.header_map())
        if found is None:
            return Outcome("passed", response, requests=sent)
        if isinstance(found, wzws.Unsolvable):
            log.info("%s: %s", host, found.reason)
            return Outcome("blocked", response, found.reason, found.variant, sent)
        async with self._lock(host):
            if self._solves.get(host, 0) != seen:
                # Another request of this host solved since this one was sent: try its
                # clearance before solving; this is not a solve attempt.
                response, more = await self._follow(request, send)
                sent += more
                found = wzws.recognise(response.status, response.content, response.header_map())
                if not isinstance(found, wzws.Classic):
                    return self._settle(found, response, sent, "passed")
            confirm = wzws.confirm(found, response.url)
            log.info("%s: answering the WZWS challenge for %s", host, found.target)
            base = {k: v for k, v in request.headers.items() if k.lower() not in _NOT_FORWARDED}
            response, more = await self._follow(
                HttpRequest(
                    confirm.method, confirm.url, {**base, **confirm.headers()}, confirm.body()
                ),
                send,
            )
            sent += more
            again = wzws.recognise(response.status, response.content, response.header_map())
            if isinstance(again, wzws.Classic):
                reason = "WZWS challenge served again after one solve (answer refused or not kept)"
                log.warning("%s: %s", host, reason)
                return Outcome("blocked", response, reason, "classic", sent)
            self._solves[host] = self._solves.get(host, 0) + 1
        return self._settle(again, response, sent, "solved")

    @staticmethod
    def _settle(
        found: wzws.Classic | wzws.Unsolvable | None,
        response: HttpResponse,
        sent: int,
        status: Literal["passed", "solved"],
    ) -> Outcome:
        if isinstance(found, wzws.Unsolvable):
            return Outcome("blocked", response, found.reason, found.variant, sent)
        return Outcome(status, response, requests=sent)


def cookieless_jar() -> StdCookieJar:
    """A cookie store that keeps nothing, for ``httpx.AsyncClient(cookies=...)``: cookies then
    live only in ``CookieJar`` (httpx would otherwise replay its own copies). It must be this
    standard-library jar: httpx copies an ``httpx.Cookies`` into a new jar with the default
    policy, which would store everything again."""
    return StdCookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


def httpx_sender(
    client: httpx.AsyncClient, *, max_bytes: int = 5_000_000, timeout: float = 30.0
) -> Send:
    """A ``Send`` over an httpx client: no redirects, body capped at ``max_bytes``, the whole
    exchange bounded by ``timeout`` seconds. httpx errors and TimeoutError propagate."""

    async def send(request: HttpRequest) -> HttpResponse:
        async with (
            asyncio.timeout(timeout),
            client.stream(
                request.method,
                request.url,
                headers=dict(request.headers),
                content=request.body,
                follow_redirects=False,
            ) as response,
        ):
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise ValueError(f"response from {request.url} exceeds {max_bytes} bytes")
                chunks.append(chunk)
            return HttpResponse(
                response.status_code,
                str(response.url),
                tuple((k.lower(), v) for k, v in response.headers.multi_items()),
                b"".join(chunks),
            )

    return send
