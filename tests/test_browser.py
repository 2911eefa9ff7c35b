"""The optional browser mode: the system's headless Chromium against the loopback WZWS gateway.

Skipped, with the reason ``browser_available()`` gives, where Chromium, chromedriver or Selenium
is missing (Debian: apt-get install chromium chromium-driver; pip install 'lendwatch[browser]').
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from pipeline.fetch.browser import BrowserError, browser_available, fetch_rendered
from pipeline.fetch.challenge import ChallengeSolver, HttpRequest, cookieless_jar, httpx_sender
from pipeline.fetch.cookies import CookieJar
from pipeline.fetch.parse import parse
from pipeline.models import Fetched
from tests.support.shipped import SOURCES
from tests.support.wzws_server import CID, SID, WzwsSite

FIXTURES = Path(__file__).parent / "fixtures" / "sources"
PBOC = (FIXTURES / "pboc-news.html").read_bytes()
LIST = "/goutongjiaoliu/113456/113469/index.html"
GOLDEN = [
    i["title"] for i in json.loads((FIXTURES / "pboc-news.golden.json").read_text("utf-8"))["items"]
]
MISSING = browser_available()
needs_browser = pytest.mark.skipif(MISSING is not None, reason=f"no browser mode: {MISSING}")


def titles(html: str, url: str) -> list[str]:
    source = SOURCES["pboc-news"]
    fetched = Fetched(source.id, url, 200, {}, html.encode("utf-8"), datetime.now(UTC))
    return [i.title for i in parse(fetched, source)]


def test_missing_browser_parts_are_named(tmp_path: Path) -> None:
    reason = browser_available(chromium=str(tmp_path / "chromium"))
    assert reason is not None and str(tmp_path / "chromium") in reason
    assert "apt-get install chromium" in reason
    not_executable = tmp_path / "chromedriver"
    not_executable.write_text("")
    if MISSING is None:  # the driver check only runs once Chromium was found
        reason = browser_available(driver=str(not_executable))
        assert reason is not None and "chromedriver not found" in reason
    with pytest.raises(BrowserError, match="Chromium not found"):
        fetch_rendered("http://127.0.0.1:9/", chromium=str(tmp_path / "chromium"))


@needs_browser
@pytest.mark.parametrize("form", ["packed", "plain"])
def test_chromium_runs_the_classic_challenge_script(form: str) -> None:
    with WzwsSite({LIST: PBOC}, form=form, js_solver=True) as site:  # type: ignore[arg-type]
        page = fetch_rendered(site.url(LIST), timeout=60)
        assert page.url == site.url(LIST)
        assert page.title == "新闻发布"
        assert titles(page.html, page.url) == GOLDEN
        assert CID in {c.name for c in page.cookies}
        assert (site.confirms_ok, site.confirms_bad) == (1, 0)
        (confirm,) = site.confirm_requests()
        assert confirm.headers.get("Referer") == site.url(LIST)


@needs_browser
def test_chromium_passes_a_challenge_only_javascript_can_pass() -> None:
    """The zw_verify gateway: the HTTP solver reports it blocked, the browser gets the page, and
    its clearance cookie then works for plain HTTP."""
    with WzwsSite({LIST: PBOC}, zw_verify=True) as site:
        page = fetch_rendered(site.url(LIST), timeout=60)
        assert titles(page.html, page.url) == GOLDEN
        saved = page.host_cookies()
        assert saved is not None and SID in dict(saved.cookies)

        async def over_http(jar: CookieJar) -> tuple[str, int]:
            async with httpx.AsyncClient(cookies=cookieless_jar()) as client:
                out = await ChallengeSolver(httpx_sender(client), jar).fetch(
                    HttpRequest("GET", site.url(LIST), {"User-Agent": "x"})
                )
            return out.status, out.requests

        assert asyncio.run(over_http(CookieJar())) == ("blocked", 1)
        jar = CookieJar()
        jar.load(saved)
        assert asyncio.run(over_http(jar)) == ("passed", 1)


@needs_browser
def test_a_challenge_that_never_clears_ends_at_the_deadline() -> None:
    with WzwsSite({LIST: PBOC}, js_solver=True, honour_clearance=False) as site:
        # Chromium answers, is challenged again, answers again...: while it keeps navigating
        # it may not even report the page, hence two possible reasons.
        pattern = r"(still a challenge \(classic\)|the page did not finish loading) after 5s"
        with pytest.raises(BrowserError, match=pattern):
            fetch_rendered(site.url(LIST), timeout=5)
        assert site.confirms_ok >= 1  # it did answer, and was challenged again
