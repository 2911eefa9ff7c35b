"""``fetch = "browser"``: a source's list page rendered by the system's headless Chromium.

For a source whose challenge cannot be answered over plain HTTP (the ``wzws-waf-cgi`` variant
posts a browser fingerprint). ``render`` checks the page's host and address as the HTTP path
does, opens the page in a fresh Chromium (``browser.fetch_rendered``), refuses a final URL the
redirect policy forbids, and returns the page as a ``Fetched`` (UTF-8 HTML, status 200) with the
clearance cookies Chromium won, which the session hands to plain HTTP (detail pages,
attachments, the next cycles). When the mode cannot run here (no Selenium, Chromium or
chromedriver), the source fails with that reason, plainly; ``check-config`` says so too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from pipeline.config import Settings
from pipeline.errors import BlockedError, FetchError
from pipeline.fetch import browser, guard
from pipeline.fetch.cookies import HostCookies
from pipeline.models import Fetched, Source

MIN_TIMEOUT = 30.0  # Chromium's own start takes a few seconds


def unavailable(settings: Settings) -> str | None:
    """Why the browser mode cannot run with these settings (None: it can)."""
    return browser.browser_available(settings.chromium, settings.chromedriver)


@dataclass(frozen=True, slots=True)
class Rendered:
    fetched: Fetched
    cookies: HostCookies | None


async def render(
    source: Source,
    settings: Settings,
    *,
    allow_loopback: bool = False,
    resolver: guard.Resolver | None = None,
) -> Rendered:
    """The source's page from Chromium; raises FetchError (``blocked`` when Chromium still saw
    a challenge at the deadline)."""
    missing = unavailable(settings)
    if missing is not None:
        raise FetchError(source.id, f'fetch = "browser" cannot run here: {missing}')
    host = (urlsplit(source.url).hostname or "").lower()
    rule = guard.AddressRule(source, allow_loopback)
    addresses = await guard.resolve(host, resolver)
    if (why := rule.check(host, addresses)) is not None:
        raise FetchError(source.id, why)
    try:
        page = await browser.fetch_rendered_async(
            source.url,
            timeout=max(source.timeout_seconds, MIN_TIMEOUT),
            user_agent=settings.user_agent,
            chromium=settings.chromium,
            driver=settings.chromedriver,
        )
    except browser.BrowserError as e:
        error = BlockedError if e.reason.startswith("still a challenge") else FetchError
        raise error(source.id, f"Chromium: {e.reason}") from e
    if (why := guard.redirect_refusal(page.url, source)) is not None:
        raise FetchError(source.id, f"Chromium ended at {page.url}: {why}")
    fetched = Fetched(
        source_id=source.id,
        url=page.url,
        status=200,
        headers={"content-type": "text/html; charset=utf-8"},
        content=page.html.encode("utf-8"),
        fetched_at=datetime.now(UTC),
    )
    return Rendered(fetched, page.host_cookies())
