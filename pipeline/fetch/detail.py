"""Detail pages: fetch each new item's page once and keep its body text for the classifier.

A source opts in with ``detail = "<css selector of the body>"``; ``detail_url`` builds the URL
from the item's ``extra`` fields (NFRA's ``...data_docId={docId}.json``), and ``detail_json``
names the path to an HTML string when that page is JSON (NFRA ``data.docClob``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from urllib.parse import urlsplit

from pipeline.errors import FetchError
from pipeline.fetch import charset, detect, redact
from pipeline.fetch.html import extract, soup
from pipeline.fetch.items import _AnyKeys
from pipeline.fetch.jsonapi import load, lookup
from pipeline.fetch.pool import DEFAULT_TIMEOUT, in_thread
from pipeline.fetch.text import plain
from pipeline.models import Fetched, Item, Source

log = logging.getLogger(__name__)
MAX_BODY_CHARS = 200_000

Getter = Callable[[Source, str], Awaitable[Fetched]]


def detail_url(item: Item, source: Source) -> str | None:
    template = source.options.get("detail_url")
    if not template:
        return item.url
    values = _AnyKeys({**item.extra, "url": item.url or "", "guid": item.guid})
    return str(template).format_map(values) or None


def allowed_host(url: str, source: Source) -> bool:
    """Detail pages only on the source's own host (or a configured ``detail_hosts``), http(s)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    own = urlsplit(source.url).hostname
    extra = {str(h).lower() for h in source.options.get("detail_hosts", ())}
    return parts.hostname.lower() == (own or "").lower() or parts.hostname.lower() in extra


def body_text(fetched: Fetched, source: Source) -> str:
    """The body text of a detail response; raises FetchError when it is not a usable page."""
    text, _enc = charset.decode(fetched.content, fetched.headers.get("content-type"))
    text = text.replace("\x00", "")
    detect.check_blocked(text, fetched.status, source.id, weak=fetched.status >= 400)
    if fetched.status >= 400:
        raise FetchError(source.id, f"detail HTTP {fetched.status}", http_status=fetched.status)
    path = source.options.get("detail_json")
    if path:
        value = lookup(load(text, source.id, "detail: "), str(path))
        if not isinstance(value, str):
            raise FetchError(source.id, f"detail JSON has no string at {path}")
        text = value.replace("\x00", "")
    tree = soup(text)
    body = extract(tree, str(source.options["detail"]))
    if not body:
        detect.check_blocked(text, fetched.status, source.id)  # weak markers count now
        detect.check_shell(text, source.id)
        raise FetchError(source.id, f"detail selector {source.options['detail']!r} found nothing")
    return plain(body[: MAX_BODY_CHARS * 2], "text")[:MAX_BODY_CHARS]


class DetailFetcher:
    """Fills one item's body; the per-item boundary: whatever goes wrong with one detail page
    (an HTTP failure, a page nested too deeply to read, a parser bug) leaves that item without
    a body, logged, and never reaches the item's source or the cycle."""

    def __init__(self, get: Getter, parse_timeout: float = DEFAULT_TIMEOUT) -> None:
        self.get = get
        self.parse_timeout = parse_timeout

    async def fill(self, item: Item, source: Source | None) -> Item:
        if source is None or not source.options.get("detail") or item.body:
            return item
        url = detail_url(item, source)
        if not url:
            return item
        shown = redact.url(url)
        if not allowed_host(url, source):
            log.warning("%s: detail %s: not on the source's host; not fetched", source.id, shown)
            return item
        try:
            fetched = await self.get(source, url)
            async with asyncio.timeout(self.parse_timeout):  # parsed off the event loop
                body = await in_thread(lambda: body_text(fetched, source))
        except FetchError as e:
            log.warning("%s: detail %s: %s", source.id, shown, redact.text(e.reason))
            return item
        except TimeoutError:
            log.warning(
                "%s: detail %s: parsing took over %gs", source.id, shown, self.parse_timeout
            )
            return item
        except RecursionError:
            log.warning("%s: detail %s: nested too deeply to read", source.id, shown)
            return item
        except Exception as e:  # the per-item boundary
            log.warning("%s: detail %s: %s: %s", source.id, shown, type(e).__name__, e)
            return item
        return replace(item, body=body)
