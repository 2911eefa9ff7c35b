"""Fetch one page with the system's headless Chromium: the optional ``fetch = "browser"`` mode.

Why: some challenges can only be passed by running the site's JavaScript (the ``wzws-waf-cgi``
variant posts a browser fingerprint to ``/waf_zw_verify``). A real browser runs it, and its
clearance cookies can then be handed to the plain HTTP fetcher (``RenderedPage.host_cookies``).

Driver: Selenium with the system's chromedriver. Debian ships ``chromium`` and
``chromium-driver`` as one matched pair, so the driver always speaks the browser's protocol
version and nothing is downloaded; Selenium is pure Python (~12 MB wheel) where Playwright
carries its own Node.js runtime (~50 MB wheel) and is only guaranteed with its own browser
builds. The dependency is optional: ``pip install 'lendwatch[browser]'``.

``browser_available()`` says why the mode cannot run (for check-config and source health);
``fetch_rendered`` blocks (use ``fetch_rendered_async`` from the event loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pipeline.fetch import detect, wzws
from pipeline.fetch.cookies import DEFAULT_SESSION_TTL, HostCookies

log = logging.getLogger(__name__)

CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
CHROMEDRIVER = ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")
# Headless as root, and no calls home: without the background-networking flags Chromium keeps
# trying to reach Google's hosts, which a closed network refuses many times at each start.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)


class BrowserError(Exception):
    """The browser could not deliver the page; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class BrowserCookie:
    name: str
    value: str
    domain: str
    path: str = "/"
    expires: float | None = None  # epoch seconds; None: a session cookie
    secure: bool = False


@dataclass(frozen=True, slots=True)
class RenderedPage:
    url: str  # after every redirect and script navigation
    html: str  # the DOM serialised once the page stopped being a challenge
    title: str
    cookies: tuple[BrowserCookie, ...]

    def host_cookies(self, session_ttl: float = DEFAULT_SESSION_TTL) -> HostCookies | None:
        """The cookies for the page's host as ``HostCookies``, ready for ``CookieJar.load``:
        a clearance won in the browser is then reused by plain HTTP fetches."""
        host = (urlsplit(self.url).hostname or "").lower()
        mine = [c for c in self.cookies if host.endswith(c.domain.lstrip(".").lower())]
        if not mine:
            return None
        fallback = time.time() + session_ttl
        expires = min(c.expires if c.expires is not None else fallback for c in mine)
        return HostCookies(host, tuple(sorted((c.name, c.value) for c in mine)), expires)


def _first(paths: Sequence[str], given: str | None) -> str | None:
    candidates = [given] if given else list(paths)
    for path in candidates:
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def browser_available(chromium: str | None = None, driver: str | None = None) -> str | None:
    """None when the browser mode can run here, else the reason it cannot."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "the browser mode needs Selenium: pip install 'lendwatch[browser]'"
    if _first(CHROMIUM, chromium) is None:
        where = chromium or " or ".join(CHROMIUM)
        return f"Chromium not found at {where} (Debian: apt-get install chromium)"
    if _first(CHROMEDRIVER, driver) is None:
        where = driver or " or ".join(CHROMEDRIVER)
        return f"chromedriver not found at {where} (Debian: apt-get install chromium-driver)"
    return None


def _challenge(html: str) -> str | None:
    found = wzws.recognise(200, html)
    if found is not None:
        return found.variant
    strong = detect.find_challenge(html, 200)
    return strong.cause if strong is not None and strong.strong else None


def _cookie(raw: dict[str, Any]) -> BrowserCookie:
    expiry = raw.get("expiry")
    return BrowserCookie(
        name=str(raw["name"]),
        value=str(raw["value"]),
        domain=str(raw.get("domain", "")),
        path=str(raw.get("path", "/")),
        expires=float(expiry) if expiry is not None else None,
        secure=bool(raw.get("secure", False)),
    )


def fetch_rendered(
    url: str,
    *,
    timeout: float = 45.0,
    user_agent: str | None = None,
    chromium: str | None = None,
    driver: str | None = None,
    is_challenge: Callable[[str], str | None] = _challenge,
    poll: float = 0.25,
) -> RenderedPage:
    """Open ``url`` in a fresh headless Chromium (empty profile), wait until the page is no
    longer a challenge (its scripts may navigate several times), return it. Raises
    BrowserError when the browser is missing, fails, or still shows a challenge after
    ``timeout`` seconds."""
    missing = browser_available(chromium, driver)
    if missing is not None:
        raise BrowserError(missing)
    from selenium import webdriver
    from selenium.common.exceptions import TimeoutException, WebDriverException
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="lendwatch-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(_first(CHROMIUM, chromium))
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    if user_agent:
        options.add_argument(f"--user-agent={user_agent}")
    service = Service(executable_path=str(_first(CHROMEDRIVER, driver)))
    deadline = time.monotonic() + timeout
    browser = None
    try:
        browser = webdriver.Chrome(options=options, service=service)
        browser.set_page_load_timeout(max(1.0, timeout))
        with contextlib.suppress(TimeoutException):  # scripts that keep navigating: see below
            browser.get(url)
        state = "the page did not finish loading"
        while True:
            try:
                ready = browser.execute_script("return document.readyState") == "complete"
                html = str(browser.page_source)
            except WebDriverException:  # navigating right now: ask again
                ready, html = False, ""
            found = is_challenge(html) if html else None
            if ready and html and found is None:
                return RenderedPage(
                    url=str(browser.current_url),
                    html=html,
                    title=str(browser.title),
                    cookies=tuple(_cookie(c) for c in browser.get_cookies()),
                )
            if found is not None:
                state = f"still a challenge ({found})"
            if time.monotonic() > deadline:
                raise BrowserError(f"{state} after {timeout:g}s in Chromium")
            time.sleep(poll)
    except WebDriverException as e:
        lines = (e.msg or str(e)).strip().splitlines()
        raise BrowserError(
            f"Chromium failed: {type(e).__name__}: {lines[0] if lines else ''}"
        ) from e
    finally:
        if browser is not None:
            try:
                browser.quit()
            except WebDriverException:
                log.warning("Chromium did not quit cleanly")
        shutil.rmtree(profile, ignore_errors=True)


async def fetch_rendered_async(url: str, **kwargs: Any) -> RenderedPage:
    """``fetch_rendered`` in a thread, so the event loop keeps running."""
    return await asyncio.to_thread(fetch_rendered, url, **kwargs)
