"""Detail pages and attachments: fetch each new item's page once, keep its body text for the
classifier, read its penalty table, and download the files it links to.

A source opts in with ``detail = "<css selector of the body>"``; ``detail_url`` builds the URL
from the item's ``extra`` fields (NFRA's ``...SelectByDocId?docId={docId}``), and
``detail_json`` names the path to an HTML string when that page is JSON (NFRA ``data.docClob``).
Penalty tables (PBOC's 信息公示表, NFRA's 信息公开表) are read from the raw HTML, before it is
flattened to text, by ``pipeline.extract.penalty_from_page``. With ``attachments = true`` the
files the page (``attachlinks.page_links``), the detail JSON or the list row
(``attachment_fields``) names are downloaded within ``attachment_max_bytes`` and
``attachment_timeout`` each and read by ``pipeline.fetch.attachments``; every file is kept with
its status and reason, whatever happened to it, and the item is stored either way.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from pipeline.errors import FetchError
from pipeline.fetch import attachlinks, charset, detect, redact
from pipeline.fetch.html import extract, soup
from pipeline.fetch.items import _AnyKeys
from pipeline.fetch.jsonapi import load
from pipeline.fetch.jsonpath import lookup
from pipeline.fetch.pool import DEFAULT_TIMEOUT, in_thread
from pipeline.fetch.text import plain
from pipeline.models import AttachmentLink, Fetched, Item, ItemAttachment, Source

log = logging.getLogger(__name__)
MAX_BODY_CHARS = 200_000
MIB = 1024 * 1024
DEFAULT_FILE_BYTES = 4 * MIB
DEFAULT_FILE_SECONDS = 15.0
# Families a document never comes in: refused before reading, whatever the link said.
REFUSED_TYPES = ("video/", "audio/", "multipart/", "font/", "model/")


@dataclass(frozen=True, slots=True)
class FileBounds:
    """One attachment's download: at most ``max_bytes`` (Content-Length first, then the bytes
    as they stream) within ``timeout`` seconds."""

    max_bytes: int = DEFAULT_FILE_BYTES
    timeout: float = DEFAULT_FILE_SECONDS


def file_bounds(source: Source) -> FileBounds:
    return FileBounds(
        int(source.options.get("attachment_max_bytes", DEFAULT_FILE_BYTES)),
        float(source.options.get("attachment_timeout", DEFAULT_FILE_SECONDS)),
    )


Getter = Callable[[Source, str], Awaitable[Fetched]]
Downloader = Callable[[Source, str, FileBounds], Awaitable[Fetched]]


@dataclass(frozen=True, slots=True)
class DetailPage:
    body: str
    penalty: dict[str, Any] | None = None
    links: tuple[AttachmentLink, ...] = ()


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


def read_detail(fetched: Fetched, source: Source) -> DetailPage:
    """The body text, penalty table and attachment links of a detail response; raises
    FetchError when it is not a usable page."""
    text, _enc = charset.decode(fetched.content, fetched.headers.get("content-type"))
    text = text.replace("\x00", "")
    detect.check_blocked(text, fetched.status, source.id, weak=fetched.status >= 400)
    if fetched.status >= 400:
        raise FetchError(source.id, f"detail HTTP {fetched.status}", http_status=fetched.status)
    data: object = None
    path = source.options.get("detail_json")
    if path:
        data = load(text, source.id, "detail: ")
        value = lookup(data, str(path))
        if not isinstance(value, str):
            raise FetchError(source.id, f"detail JSON has no string at {path}")
        text = value.replace("\x00", "")
    tree = soup(text)
    selector = str(source.options["detail"])
    body = extract(tree, selector)
    if not body:
        detect.check_blocked(text, fetched.status, source.id)  # weak markers count now
        detect.check_shell(text, source.id)
        raise FetchError(source.id, f"detail selector {selector!r} found nothing")
    penalty = None
    if "<table" in text[: MAX_BODY_CHARS * 5].lower():
        from pipeline.extract import penalty_from_page  # loaded on the first table, not at start

        penalty = penalty_from_page(text)
    links: list[AttachmentLink] = []
    if source.options.get("attachments"):
        from bs4 import Tag  # bs4 is loaded by the first page parsed, not by every cycle

        scope = (
            tree.select_one(selector) if source.options.get("attachment_links") is None else tree
        )
        links = attachlinks.page_links(
            scope if isinstance(scope, Tag) else tree,
            fetched.url,
            source.options.get("attachment_links"),
        )
        fields = [str(f) for f in source.options.get("attachment_fields", ())]
        if data is not None and fields:
            links += attachlinks.json_links(data, fields, fetched.url)
    return DetailPage(
        body=plain(body[: MAX_BODY_CHARS * 2], "text")[:MAX_BODY_CHARS],
        penalty=penalty.to_export_dict() if penalty is not None else None,
        links=attachlinks.merge(links),
    )


def body_text(fetched: Fetched, source: Source) -> str:
    """The body text of a detail response; raises FetchError when it is not a usable page."""
    return read_detail(fetched, source).body


def _not_read(link: AttachmentLink, reason: str, status: str = "failed") -> ItemAttachment:
    from pipeline.fetch.attachments.kinds import url_name

    name, kind = url_name(link.url)
    return ItemAttachment(
        link.name or name or "attachment", link.url, kind or "unknown", 0, status, reason
    )


class DetailFetcher:
    """Fills one item's body, penalty and attachments; the per-item boundary: whatever goes
    wrong with one detail page or file (an HTTP failure, a page nested too deeply to read, a
    hostile file, a parser bug) leaves that item without it, logged, and never reaches the
    item's source or the cycle."""

    def __init__(
        self,
        get: Getter,
        download: Downloader | None = None,
        parse_timeout: float = DEFAULT_TIMEOUT,
        readers: int = 2,
    ) -> None:
        self.get = get
        self.download = download
        self.parse_timeout = parse_timeout
        self.readers = asyncio.Semaphore(readers)  # extraction workers at once (processes)

    async def fill(self, item: Item, source: Source | None) -> Item:
        if source is None:
            return item
        files = bool(source.options.get("attachments")) and self.download is not None
        # a list row may link straight to the document (PBOC's laws, branch penalty lists)
        itself = files and item.url is not None and attachlinks.is_document_url(item.url)
        page: DetailPage | None = None
        if source.options.get("detail") and not item.body and not itself:
            page = await self._page(item, source)
        if page is not None:
            item = replace(item, body=page.body, penalty=page.penalty)
        if files:
            own = [AttachmentLink(item.url)] if itself and item.url else []
            links = attachlinks.merge(own, item.attachment_links, page.links if page else ())
            if links:
                item = replace(item, attachments=await self._files(links, source))
        return item

    async def _page(self, item: Item, source: Source) -> DetailPage | None:
        url = detail_url(item, source)
        if not url:
            return None
        shown = redact.url(url)
        if not allowed_host(url, source):
            log.warning("%s: detail %s: not on the source's host; not fetched", source.id, shown)
            return None
        try:
            fetched = await self.get(source, url)
            async with asyncio.timeout(self.parse_timeout):  # parsed off the event loop
                return await in_thread(lambda: read_detail(fetched, source))
        except FetchError as e:
            log.warning("%s: detail %s: %s", source.id, shown, redact.text(e.reason))
        except TimeoutError:
            log.warning(
                "%s: detail %s: parsing took over %gs", source.id, shown, self.parse_timeout
            )
        except RecursionError:
            log.warning("%s: detail %s: nested too deeply to read", source.id, shown)
        except Exception as e:  # the per-item boundary
            log.warning("%s: detail %s: %s: %s", source.id, shown, type(e).__name__, e)
        return None

    async def _files(
        self, links: Sequence[AttachmentLink], source: Source
    ) -> tuple[ItemAttachment, ...]:
        bounds = file_bounds(source)
        out = []
        for link in links:
            try:
                out.append(await self._file(link, source, bounds))
            except Exception as e:  # the per-file boundary
                log.warning("%s: attachment %s: %s: %s", source.id, link.url, type(e).__name__, e)
                out.append(_not_read(link, f"internal error: {type(e).__name__}: {e}"))
        return tuple(out)

    async def _file(
        self, link: AttachmentLink, source: Source, bounds: FileBounds
    ) -> ItemAttachment:
        assert self.download is not None
        # loaded with the first file, not when lendwatch starts (pypdf, python-docx)
        from pipeline.fetch.attachments import Bounds, read_attachment_async
        from pipeline.fetch.attachments.kinds import content_type_kind

        shown = redact.url(link.url)
        if not allowed_host(link.url, source):
            return _not_read(link, "not downloaded: not on the source's host (detail_hosts)")
        try:
            fetched = await self.download(source, link.url, bounds)
        except FetchError as e:
            log.info("%s: attachment %s: %s", source.id, shown, redact.text(e.reason))
            return _not_read(link, f"not downloaded: {redact.text(e.reason)}")
        if fetched.status >= 400:
            return _not_read(link, f"not downloaded: HTTP {fetched.status}")
        ctype = fetched.headers.get("content-type")
        family = (ctype or "").split(";", 1)[0].strip().lower()
        if family.startswith(REFUSED_TYPES):
            return _not_read(link, f"refused: Content-Type {family} is not a document", "skipped")
        async with self.readers:
            read = await read_attachment_async(
                fetched.content,
                fetched.url,
                ctype,
                fetched.headers.get("content-disposition"),
                name_hint=link.name or None,
                bounds=Bounds(max_bytes=bounds.max_bytes),
            )
        kind = read.kind if read.kind != "unknown" else (content_type_kind(ctype) or "unknown")
        return ItemAttachment(
            read.name, link.url, kind, read.size, read.status, read.reason, read.text
        )
