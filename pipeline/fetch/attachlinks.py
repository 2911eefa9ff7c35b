"""Where an item's attachments are: document links on its detail page, file fields of its JSON.

Pages: links inside the detail body (or those the source's ``attachment_links`` selector picks)
whose URL or link text names a document file (``.pdf``, ``.doc``, ``.docx``, ``.wps`` …), or
that point to a download endpoint without an extension (CAC's
``downloadfile.jsp?filepath=…&fText=…``). JSON: the values at the source's
``attachment_fields`` paths, in the list row or in the detail JSON: a URL string (NFRA's
``pdfFileUrl``, ``docFileUrl``) or a list of file objects (NFRA's ``attachmentInfoVOList`` with
``urlOtherName``/``attachmentUrl`` + ``attachmentName`` and ``title``; CSRC's ``resList`` with
``filePath`` and ``fileName``). Relative URLs are resolved against the page; only http(s)
links are kept, once each, at most ``MAX_LINKS``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from pipeline.fetch import urls
from pipeline.fetch.jsonpath import lookup
from pipeline.models import AttachmentLink

if TYPE_CHECKING:
    from bs4 import Tag

MAX_LINKS = 10
DOCUMENT = re.compile(r"\.(pdf|docx?|wps|xlsx?|et|ofd|rtf|zip|rar|txt)$", re.I)
DOWNLOAD = re.compile(r"downloadfile\.jsp|/download(?:file)?\b|filedownload", re.I)
URL_KEYS = ("urlOtherName", "filePath", "fileUrl", "url", "href", "path")
NAME_KEYS = ("title", "fileName", "attachmentName", "name", "fileTitle")


def is_document_url(url: str) -> bool:
    """Whether the URL itself names a document file (a list row linking straight to a .docx)."""
    return bool(DOCUMENT.search(unquote(urlsplit(url).path)))


def _is_document(url: str, text: str) -> bool:
    path = unquote(urlsplit(url).path)
    return bool(DOCUMENT.search(path) or DOWNLOAD.search(url) or DOCUMENT.search(text.strip()))


def _name(url: str, given: str) -> str:
    given = " ".join(given.split())
    if given:
        return given[:200]
    return unquote(PurePosixPath(urlsplit(url).path).name)[:200]


def _keep(found: list[AttachmentLink], url: str | None, name: str) -> None:
    if url is None or len(found) >= MAX_LINKS or any(f.url == url for f in found):
        return
    found.append(AttachmentLink(url, _name(url, name)))


def page_links(scope: Tag, base: str, selector: str | None = None) -> list[AttachmentLink]:
    """Document links in ``scope`` (the detail body, or the whole page)."""
    found: list[AttachmentLink] = []
    anchors = scope.select(selector) if selector else scope.select("a[href]")
    for a in anchors:
        href = a.get("href")
        if not isinstance(href, str) or not href.strip():
            continue
        url = urls.canonical(href, base)
        text = a.get_text(" ", strip=True)
        if url is not None and (selector or _is_document(url, text)):
            _keep(found, url, text)
    return found


def _from_object(row: Mapping[str, object]) -> tuple[str | None, str]:
    raw = next((row[k] for k in URL_KEYS if isinstance(row.get(k), str) and row[k]), None)
    if raw is None and isinstance(row.get("attachmentUrl"), str):
        folder, file = str(row["attachmentUrl"]), str(row.get("attachmentName") or "")
        raw = f"{folder.rstrip('/')}/{file}" if file else folder
    name = next((str(row[k]) for k in NAME_KEYS if isinstance(row.get(k), str) and row[k]), "")
    return (str(raw) if raw else None), name


def json_links(data: object, paths: Sequence[str], base: str) -> list[AttachmentLink]:
    """The files named at ``paths`` in ``data`` (a list row or a detail JSON)."""
    found: list[AttachmentLink] = []
    for path in paths:
        value = lookup(data, path)
        values: Iterable[object] = value if isinstance(value, list) else [value]
        for entry in values:
            if isinstance(entry, str) and entry.strip():
                _keep(found, urls.canonical(entry, base), "")
            elif isinstance(entry, Mapping):
                raw, name = _from_object(entry)
                if raw:
                    _keep(found, urls.canonical(raw, base), name)
    return found


def merge(*groups: Iterable[AttachmentLink]) -> tuple[AttachmentLink, ...]:
    """One link per URL (the first name given wins), at most ``MAX_LINKS``."""
    found: list[AttachmentLink] = []
    for group in groups:
        for link in group:
            _keep(found, link.url, link.name)
    return tuple(found)
