"""Pure parsing with the health checks: ``parse(fetched, source) -> list[Item]``.

Order of verdicts: a 304 has nothing to parse; an anti-bot challenge is ``blocked`` (a weak marker
such as ``请开启JavaScript`` on a 2xx page only when the page then fails to parse to
``min_items`` items); an HTTP error status is ``error``; the wrong format ("expected RSS, got
HTML") is ``layout-changed``; then the kind's parser runs, and fewer than ``min_items`` items is
``layout-changed`` too (with the reason "JavaScript shell" when the page is one). Used by
http.fetch_all, ``test-source`` and golden tests.
"""

from __future__ import annotations

import time

from pipeline.errors import FetchError, LayoutChangedError
from pipeline.fetch import charset, detect
from pipeline.fetch.kind import Document, Page
from pipeline.fetch.registry import KINDS
from pipeline.models import Fetched, Item, Source, SourceResult


def document(fetched: Fetched, source: Source, *, allow_slow: bool = True) -> Document:
    text, encoding = charset.decode(fetched.content, fetched.headers.get("content-type"))
    return Document(fetched, source, text, encoding, allow_slow)


def _check_format(doc: Document, expects: str) -> None:
    head = doc.text.lstrip("\ufeff \t\r\n")[:2000]
    ctype = doc.fetched.headers.get("content-type", "").split(";")[0].strip() or "no content type"
    if expects == "RSS" and (detect.looks_like_html(head) or not head.startswith("<")):
        got = "HTML" if detect.looks_like_html(head) else f"{ctype} that is not XML"
        raise LayoutChangedError(doc.source.id, f"expected RSS, got {got}")
    if expects == "JSON" and not head.startswith(("{", "[")):
        got = "HTML" if detect.looks_like_html(head) or head.startswith("<") else ctype
        raise LayoutChangedError(doc.source.id, f"expected JSON, got {got}")


def parse_page(fetched: Fetched, source: Source, *, allow_slow: bool = True) -> Page:
    """Items and warnings of one response; raises a FetchError subclass with the verdict.

    With ``allow_slow=False`` a document that needs a slow fallback parser raises SlowPath.
    """
    if fetched.not_modified:
        return Page(())
    kind = KINDS.get(source.kind)
    if kind is None:
        raise FetchError(source.id, f"unknown kind {source.kind!r}")
    doc = document(fetched, source, allow_slow=allow_slow)
    found = detect.find_challenge(doc.text, fetched.status)
    if found is not None and (found.strong or fetched.status >= 400):
        raise detect.blocked(found, source.id, fetched.status)
    if fetched.status >= 400:
        raise FetchError(source.id, f"HTTP {fetched.status}", http_status=fetched.status)
    try:
        _check_format(doc, kind.expects)
        page = kind.parse(doc)
        if len(page.items) < source.min_items:
            if kind.expects == "HTML":
                detect.check_shell(doc.text, source.id)
            raise LayoutChangedError(
                source.id, f"{len(page.items)} items (min_items={source.min_items})"
            )
    except LayoutChangedError as e:
        if found is not None:  # a weak marker, and the page is not a usable list after all
            raise detect.blocked(found, source.id, fetched.status) from e
        raise
    return page


def parse(fetched: Fetched, source: Source) -> list[Item]:
    return list(parse_page(fetched, source).items)


def result(
    fetched: Fetched, source: Source, *, started: float | None = None, allow_slow: bool = True
) -> SourceResult:
    """Parse and turn any failure into a SourceResult; never raises for the source's fault
    (SlowPath, raised only when ``allow_slow`` is False, is a request to parse elsewhere)."""
    common = {
        "source_id": source.id,
        "http_status": fetched.status,
        "not_modified": fetched.not_modified,
    }
    try:
        page = parse_page(fetched, source, allow_slow=allow_slow)
    except FetchError as e:
        return SourceResult(
            status=e.status,  # type: ignore[arg-type]
            reason=e.reason,
            elapsed_seconds=_since(started),
            **common,  # type: ignore[arg-type]
        )
    return SourceResult(
        status="ok",
        items=page.items,
        etag=fetched.etag,
        last_modified=fetched.last_modified,
        warnings=page.warnings,
        elapsed_seconds=_since(started),
        **common,  # type: ignore[arg-type]
    )


def _since(started: float | None) -> float:
    return 0.0 if started is None else round(time.monotonic() - started, 3)
