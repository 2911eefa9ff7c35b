"""The challenge solver end to end: httpx -> loopback WZWS gateway -> the PBOC list page.

The gateway (tests/support/wzws_server.py) checks the answer, the session cookie, the Referer
and the clearance like the real site; the page behind it is the recorded PBOC news list, which
must parse to its golden items once the challenge is passed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Literal

import httpx
import pytest

from pipeline.errors import BlockedError
from pipeline.fetch import wzws
from pipeline.fetch.challenge import (
    ChallengeSolver,
    HttpRequest,
    HttpResponse,
    Outcome,
    RedirectLimit,
    Send,
    cookieless_jar,
    httpx_sender,
)
from pipeline.fetch.cookies import CookieJar, HostCookies
from pipeline.fetch.parse import parse
from pipeline.models import Fetched
from tests.support.httpserver import HTTPTestServer, Route
from tests.support.shipped import SOURCES
from tests.support.wzws_server import CID, WzwsSite

FIXTURES = Path(__file__).parent / "fixtures"
PBOC = (FIXTURES / "sources" / "pboc-news.html").read_bytes()
LIST = "/goutongjiaoliu/113456/113469/index.html"
HEADERS = {"User-Agent": "Mozilla/5.0 lendwatch-test", "Accept": "text/html"}


class Clock:
    def __init__(self, start: float = 1_000_000.0) -> None:
        self.t = start

    def __call__(self) -> float:
        return self.t


def run(
    site_url: str,
    solver: ChallengeSolver,
    method: str = "GET",
    body: bytes | None = None,
) -> Outcome:
    return asyncio.run(solver.fetch(HttpRequest(method, site_url, HEADERS, body)))


def fetch_all(
    urls: list[str], jar: CookieJar, wrap: Callable[[Send], Send] | None = None
) -> list[Outcome]:
    """Fetch ``urls`` in order with one solver over a real httpx client."""

    async def go() -> list[Outcome]:
        async with httpx.AsyncClient(cookies=cookieless_jar()) as client:
            send = httpx_sender(client)
            solver = ChallengeSolver(wrap(send) if wrap else send, jar)
            return [await solver.fetch(HttpRequest("GET", u, HEADERS)) for u in urls]

    return asyncio.run(go())


def items_of(outcome: Outcome) -> list[str]:
    source = SOURCES["pboc-news"]
    fetched = Fetched(
        source.id,
        outcome.response.url,
        outcome.response.status,
        outcome.response.header_map(),
        outcome.response.content,
        datetime.now(UTC),
    )
    return [i.title for i in parse(fetched, replace(source, url=outcome.response.url))]


@pytest.mark.parametrize("form", ["packed", "plain"])
def test_challenge_solved_page_obtained_and_parsed(form: Literal["packed", "plain"]) -> None:
    with WzwsSite({LIST: PBOC}, form=form) as site:
        (outcome,) = fetch_all([site.url(LIST)], CookieJar())
        assert outcome.status == "solved", outcome.reason
        assert outcome.response.content == PBOC
        assert outcome.requests == 3  # challenge, confirm (302), the page
        (confirm,) = site.confirm_requests()
        assert confirm.headers["Referer"] == site.url(LIST)
        assert "wzws_sessionid=" in confirm.headers["Cookie"]
        assert confirm.headers["User-Agent"] == HEADERS["User-Agent"]
        assert (site.challenges, site.confirms_ok, site.confirms_bad) == (1, 1, 0)
    golden = json.loads((FIXTURES / "sources" / "pboc-news.golden.json").read_text("utf-8"))
    assert items_of(outcome) == [g["title"] for g in golden["items"]]


def test_a_challenge_page_never_parses_to_items() -> None:
    with WzwsSite({LIST: PBOC}, honour_clearance=False) as site:
        (outcome,) = fetch_all([site.url(LIST)], CookieJar())
    assert outcome.status == "blocked"
    with pytest.raises(BlockedError, match="WZWS"):
        items_of(outcome)


def test_clearance_cookie_is_reused_without_a_new_solve() -> None:
    jar = CookieJar()
    with WzwsSite({LIST: PBOC}) as site:
        first, second = fetch_all([site.url(LIST)] * 2, jar)
        assert (first.status, second.status) == ("solved", "passed")
        assert second.requests == 1
        assert second.response.content == PBOC
        assert CID in site.requests[-1].headers["Cookie"]
        assert (site.challenges, site.confirms_ok) == (1, 1)


def test_server_side_expiry_by_time_brings_the_challenge_back_and_it_is_solved_again() -> None:
    clock = Clock()
    jar = CookieJar()
    with WzwsSite({LIST: PBOC}, clearance_seconds=600, clock=clock) as site:
        assert [o.status for o in fetch_all([site.url(LIST)] * 2, jar)] == ["solved", "passed"]
        clock.t += 601
        (again,) = fetch_all([site.url(LIST)], jar)
        assert again.status == "solved"
        assert again.response.content == PBOC
        assert (site.challenges, site.confirms_ok, site.confirms_bad) == (2, 2, 0)


def test_server_side_expiry_by_request_count() -> None:
    jar = CookieJar()
    with WzwsSite({LIST: PBOC}, clearance_requests=2) as site:
        statuses = [o.status for o in fetch_all([site.url(LIST)] * 4, jar)]
        # the page fetched at the end of a solve counts as the clearance's first use
        assert statuses == ["solved", "passed", "solved", "passed"]
        assert site.confirms_ok == 2


def test_client_side_expiry_drops_the_cookie_and_solves_again() -> None:
    clock = Clock()
    jar = CookieJar(session_ttl=300, now=clock)
    with WzwsSite({LIST: PBOC}) as site:
        fetch_all([site.url(LIST)], jar)
        assert CID in jar.names("127.0.0.1")
        clock.t += 301
        assert jar.names("127.0.0.1") == []
        (again,) = fetch_all([site.url(LIST)], jar)
        assert again.status == "solved"
        assert "Cookie" not in site.requests[3].headers  # the expired cookie was not sent


def test_clearance_exports_to_plain_data_and_is_reused_by_another_process() -> None:
    with WzwsSite({LIST: PBOC}) as site:
        jar = CookieJar()
        fetch_all([site.url(LIST)], jar)
        saved = jar.export("127.0.0.1")
        assert saved is not None
        data = json.loads(json.dumps(saved.to_dict()))
        assert set(data) == {"cookies", "expires"}
        assert CID in data["cookies"] and "wzws_sessionid" in data["cookies"]
        fresh = CookieJar()
        fresh.load(HostCookies.from_dict("127.0.0.1", data))
        (outcome,) = fetch_all([site.url(LIST)], fresh)
        assert (outcome.status, outcome.requests, site.challenges) == ("passed", 1, 1)
    expired = HostCookies("127.0.0.1", (("wzws_cid", "x"),), expires=10.0)
    stale = CookieJar()
    stale.load(expired)
    assert stale.export("127.0.0.1") is None


@pytest.mark.parametrize(
    ("data", "said"),
    [
        ({"cookies": {"a": 1}, "expires": 5.0}, "'cookies'"),
        ({"cookies": {"a": "b"}}, "'expires'"),
        ({"cookies": {"a": "b"}, "expires": True}, "'expires'"),
    ],
)
def test_bad_saved_cookies_name_the_host_and_key(data: dict[str, object], said: str) -> None:
    with pytest.raises(ValueError, match=f"www.pbc.gov.cn.*{said}"):
        HostCookies.from_dict("www.pbc.gov.cn", data)


def test_server_that_keeps_challenging_is_blocked_after_one_attempt() -> None:
    with WzwsSite({LIST: PBOC}, honour_clearance=False) as site:
        (outcome,) = fetch_all([site.url(LIST)], CookieJar())
        assert outcome.status == "blocked"
        assert outcome.variant == "classic"
        assert "after one solve" in outcome.reason
        assert len(site.confirm_requests()) == 1
        assert outcome.requests == 3
        assert site.challenges == 2


def _tamper(change: Callable[[HttpRequest], HttpRequest]) -> Callable[[Send], Send]:
    def wrap(send: Send) -> Send:
        async def tampered(request: HttpRequest) -> HttpResponse:
            if "/WZWSRE" in request.url:
                request = change(request)
            return await send(request)

        return tampered

    return wrap


def _wrong_answer(r: HttpRequest) -> HttpRequest:
    return replace(r, url=r.url.replace("wzwschallenge=V1pX", "wzwschallenge=V1pY"))


def _no_referer(r: HttpRequest) -> HttpRequest:
    return replace(r, headers={k: v for k, v in r.headers.items() if k != "Referer"})


def _no_session(r: HttpRequest) -> HttpRequest:
    return replace(r, headers={k: v for k, v in r.headers.items() if k != "Cookie"})


@pytest.mark.parametrize("change", [_wrong_answer, _no_referer, _no_session])
def test_refused_confirm_gets_the_challenge_again_and_is_blocked_not_looped(
    change: Callable[[HttpRequest], HttpRequest],
) -> None:
    with WzwsSite({LIST: PBOC}) as site:
        (outcome,) = fetch_all([site.url(LIST)], CookieJar(), wrap=_tamper(change))
        assert outcome.status == "blocked"
        assert outcome.response.status == 200  # the challenge again, not a redirect
        assert isinstance(wzws.recognise(200, outcome.response.content), wzws.Classic)
        assert (len(site.confirm_requests()), site.confirms_bad) == (1, 1)
        assert outcome.requests == 2


VARIANT_PAGES = [
    ("wzws-waf-zw-verify-reconstructed.html", 200, "waf-zw-verify"),
    ("wzws-text-captcha-reconstructed.html", 200, "text-captcha"),
    ("wzws-hard-block-reconstructed.html", 403, "hard-block"),
    ("wzws-legacy-template.html", 200, "legacy-template"),
]


@pytest.mark.parametrize(("name", "status", "variant"), VARIANT_PAGES)
def test_variant_pages_are_blocked_naming_the_variant(name: str, status: int, variant: str) -> None:
    page = (FIXTURES / "wzws" / name).read_bytes()
    with WzwsSite({LIST: PBOC}, variant=(status, page, {"Content-Type": "text/html"})) as site:
        (outcome,) = fetch_all([site.url(LIST)], CookieJar())
        assert (outcome.status, outcome.variant, outcome.requests) == ("blocked", variant, 1)
        assert outcome.reason
        assert site.confirm_requests() == []


def test_the_zw_verify_gateway_is_blocked_over_http() -> None:
    with WzwsSite({LIST: PBOC}, zw_verify=True) as site:
        (outcome,) = fetch_all([site.url(LIST)], CookieJar())
        assert (outcome.status, outcome.variant) == ("blocked", "waf-zw-verify")
        assert site.confirm_requests() == []


def test_real_cookie_name_wzws_cid_on_the_challenge_is_renewed_by_the_confirm() -> None:
    jar = CookieJar()
    with WzwsSite({LIST: PBOC}, session_cookie=CID) as site:
        (outcome,) = fetch_all([site.url(LIST)], jar)
        assert outcome.status == "solved"
        pending = site.requests[1].headers["Cookie"]
        saved = jar.export("127.0.0.1")
        assert saved is not None and [n for n, _ in saved.cookies] == [CID]
        assert f"{CID}={dict(saved.cookies)[CID]}" != pending
        assert dict(saved.cookies)[CID] in site.clearances


def test_post_original_is_answered_with_a_form_post_of_its_parameters() -> None:
    body = b"pageNo=1&pageSize=15"
    with WzwsSite({LIST: PBOC}) as site:

        async def go() -> Outcome:
            async with httpx.AsyncClient(cookies=cookieless_jar()) as client:
                solver = ChallengeSolver(httpx_sender(client), CookieJar())
                headers = {**HEADERS, "Content-Type": "application/x-www-form-urlencoded"}
                return await solver.fetch(HttpRequest("POST", site.url(LIST), headers, body))

        outcome = asyncio.run(go())
        assert outcome.status == "solved", outcome.reason
        assert outcome.response.content == PBOC
        (confirm,) = site.confirm_requests()
        assert (confirm.method, confirm.body) == ("POST", body)
        assert confirm.headers["Content-Type"] == "application/x-www-form-urlencoded"


def test_concurrent_requests_each_confirm_with_their_own_session() -> None:
    with WzwsSite({LIST: PBOC, "/other.html": PBOC}) as site:

        async def go() -> list[Outcome]:
            async with httpx.AsyncClient(cookies=cookieless_jar()) as client:
                solver = ChallengeSolver(httpx_sender(client), CookieJar())
                return list(
                    await asyncio.gather(
                        *(
                            solver.fetch(HttpRequest("GET", site.url(p), HEADERS))
                            for p in (LIST, "/other.html", LIST)
                        )
                    )
                )

        outcomes = asyncio.run(go())
        assert all(o.ok and o.response.content == PBOC for o in outcomes)
        assert site.confirms_bad == 0
        assert 1 <= site.confirms_ok <= 3


def _handler(
    respond: Callable[[BaseHTTPRequestHandler], tuple[int, dict[str, str], bytes]],
) -> Route:
    def handler(h: BaseHTTPRequestHandler) -> None:
        status, headers, body = respond(h)
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    return Route(handler=handler)


def test_cookie_only_307_variant_passes_by_following_with_the_cookie(
    http_server: HTTPTestServer,
) -> None:
    def respond(h: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
        if f"{CID}=abc" in (h.headers.get("Cookie") or ""):
            return 200, {"Content-Type": "text/html; charset=utf-8"}, PBOC
        return 307, {"Location": LIST, "Set-Cookie": f"{CID}=abc; path=/"}, b""

    http_server.routes[LIST] = _handler(respond)
    (outcome,) = fetch_all([http_server.url(LIST)], CookieJar())
    assert (outcome.status, outcome.requests, outcome.response.content) == ("passed", 2, PBOC)


def test_a_redirect_loop_stops_at_the_limit(http_server: HTTPTestServer) -> None:
    http_server.routes["/loop"] = _handler(lambda h: (302, {"Location": "/loop"}, b""))
    with pytest.raises(RedirectLimit, match="more than 5 redirects"):
        fetch_all([http_server.url("/loop")], CookieJar())
    assert len(http_server.hits("/loop")) == 6


def test_sender_caps_the_body(http_server: HTTPTestServer) -> None:
    http_server.routes["/big"] = Route(body=b"x" * 5000)

    async def go() -> None:
        async with httpx.AsyncClient() as client:
            send = httpx_sender(client, max_bytes=4096)
            await send(HttpRequest("GET", http_server.url("/big")))

    with pytest.raises(ValueError, match="exceeds 4096 bytes"):
        asyncio.run(go())


def test_set_cookie_expiry_attributes() -> None:
    clock = Clock(1_000.0)
    jar = CookieJar(session_ttl=60, now=clock)
    jar.store(
        "https://h.example/",
        [
            "a=1; Max-Age=10; Path=/",
            "b=2; Expires=Thu, 01 Jan 1970 00:33:20 GMT",  # epoch 2000
            "c=3",
            "s=4; Secure",
            "broken",
        ],
    )
    assert jar.header("https://h.example/x") == "a=1; b=2; c=3; s=4"
    assert jar.header("http://h.example/x") == "a=1; b=2; c=3"  # no Secure cookie over http
    clock.t += 11
    assert jar.names("h.example") == ["b", "c", "s"]
    clock.t += 50
    assert jar.names("h.example") == ["b"]
    jar.store("https://h.example/", ["b=; Max-Age=0"])
    assert jar.export("h.example") is None


def test_the_cookieless_client_keeps_no_cookie_of_its_own() -> None:
    """Otherwise httpx would replay cookies the solver's jar has dropped or expired."""
    with WzwsSite({LIST: PBOC}) as site:

        async def go() -> int:
            async with httpx.AsyncClient(cookies=cookieless_jar()) as client:
                await ChallengeSolver(httpx_sender(client), CookieJar()).fetch(
                    HttpRequest("GET", site.url(LIST), HEADERS)
                )
                return len(client.cookies.jar)

        assert asyncio.run(go()) == 0
        assert site.confirms_ok == 1


def test_a_request_waiting_on_another_solve_reuses_its_clearance() -> None:
    """B is challenged and answering (holding the host's solve lock) when A is challenged: A
    waits, sees the host's cookies changed and retries with them instead of solving again."""
    with WzwsSite({"/a": PBOC, "/b": PBOC}) as site:

        async def go() -> tuple[Outcome, Outcome]:
            b_confirming = asyncio.Event()
            a_challenged = asyncio.Event()
            async with httpx.AsyncClient(cookies=cookieless_jar()) as client:
                send = httpx_sender(client)

                async def choreographed(request: HttpRequest) -> HttpResponse:
                    if "/WZWSRE" in request.url:
                        b_confirming.set()
                        await a_challenged.wait()
                    response = await send(request)
                    if request.url.endswith("/a") and "wzwsquestion" in response.content.decode():
                        a_challenged.set()
                    return response

                solver = ChallengeSolver(choreographed, CookieJar())

                async def a() -> Outcome:
                    await b_confirming.wait()
                    return await solver.fetch(HttpRequest("GET", site.url("/a"), HEADERS))

                b_out, a_out = await asyncio.gather(
                    solver.fetch(HttpRequest("GET", site.url("/b"), HEADERS)), a()
                )
                return a_out, b_out

        a_out, b_out = asyncio.run(asyncio.wait_for(go(), 60))
        assert (b_out.status, a_out.status) == ("solved", "passed")
        assert a_out.requests == 2  # challenged, then the retry with B's clearance
        assert a_out.response.content == PBOC
        assert (len(site.confirm_requests()), site.confirms_ok) == (1, 1)


def test_a_challenge_answered_before_another_solve_finished_is_not_solved_twice() -> None:
    """Request B is challenged, but its answer reaches the solver only after request A has
    solved for the host: B's challenge is stale (it was sent without A's clearance), so B
    retries with the clearance instead of answering a second time."""
    with WzwsSite({LIST: PBOC, "/other.html": PBOC}) as site:

        async def go() -> list[Outcome]:
            solved, challenged = asyncio.Event(), asyncio.Event()
            async with httpx.AsyncClient(cookies=cookieless_jar()) as client:
                plain = httpx_sender(client)
                held = False

                async def send(request: HttpRequest) -> HttpResponse:
                    nonlocal held
                    if "/WZWSRE" in request.url:
                        await challenged.wait()  # A answers only once B has been challenged
                        response = await plain(request)
                        solved.set()
                        return response
                    response = await plain(request)
                    if request.url.endswith("/other.html") and not held:
                        held = True  # B's challenge: hand it over after A has solved
                        challenged.set()
                        await solved.wait()
                    return response

                solver = ChallengeSolver(send, CookieJar())
                first = asyncio.create_task(
                    solver.fetch(HttpRequest("GET", site.url(LIST), HEADERS))
                )
                await asyncio.sleep(0)
                second = asyncio.create_task(
                    solver.fetch(HttpRequest("GET", site.url("/other.html"), HEADERS))
                )
                return [await first, await second]

        outcomes = asyncio.run(go())
        assert [o.status for o in outcomes] == ["solved", "passed"]
        assert all(o.response.content == PBOC for o in outcomes)
        assert (site.confirms_ok, site.confirms_bad) == (1, 0)
