"""Pure parsing with the health checks: ``parse(fetched, source) -> list[Item]``.

Order of verdicts: a 304 has nothing to parse; an anti-bot challenge is ``blocked`` (a weak marker
such as ``请开启JavaScript`` on a 2xx page only when the page then fails to parse to
``min_items`` items); an HTTP error status is ``error``; the wrong format ("expected RSS, got
HTML") is ``layout-changed``; then the kind's parser runs, and fewer than ``min_items`` items is
``layout-changed`` too (with the reason "JavaScript shell" when the page is one, and the page's
warnings when entries were skipped). ``result`` is the per-source error boundary: no exception
from a parser leaves it (a document nested too deeply to read is ``layout-changed``, anything
else ``error``). Used by http.fetch_all, ``test-source`` and golden tests.
"""

from __future__ import annotations

import logging
import time

from pipeline.errors import FetchError, LayoutChangedError
from pipeline.fetch import charset, detect
from pipeline.fetch.kind import Document, Page
from pipeline.fetch.registry import KINDS
from pipeline.models import Fetched, Item, Source, SourceResult

log = logging.getLogger(__name__)


def document(fetched: Fetched, source: Source) -> Document:
    """The decoded response. NUL is dropped: no format carries it as text, and HTML parsers turn
    it into U+FFFD (or stop at it)."""
    text, encoding = charset.decode(fetched.content, fetched.headers.get("content-type"))
    return Document(fetched, source, text.replace("\x00", ""), encoding)


def _check_format(doc: Document, expects: str) -> None:
    head = doc.text.lstrip("\ufeff \t\r\n")[:2000]
    ctype = doc.fetched.headers.get("content-type", "").split(";")[0].strip() or "no content type"
    if expects == "RSS" and (detect.looks_like_html(head) or not head.startswith("<")):
        got = "HTML" if detect.looks_like_html(head) else f"{ctype} that is not XML"
        raise LayoutChangedError(doc.source.id, f"expected RSS, got {got}")
    if expects == "JSON" and not head.startswith(("{", "[")):
        got = "HTML" if detect.looks_like_html(head) or head.startswith("<") else ctype
        raise LayoutChangedError(doc.source.id, f"expected JSON, got {got}")


def parse_page(fetched: Fetched, source: Source) -> Page:
    """Items and warnings of one response; raises a FetchError subclass with the verdict."""
    if fetched.not_modified:
        return Page(())
    kind = KINDS.get(source.kind)
    if kind is None:
        raise FetchError(source.id, f"unknown kind {source.kind!r}")
    doc = document(fetched, source)
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
            why = "; ".join(page.warnings)
            raise LayoutChangedError(
                source.id,
                f"{len(page.items)} items (min_items={source.min_items})"
                + (f": {why}" if why else ""),
            )
    except LayoutChangedError as e:
        if found is not None:  # a weak marker, and the page is not a usable list after all
            raise detect.blocked(found, source.id, fetched.status) from e
        raise
    return page


def parse(fetched: Fetched, source: Source) -> list[Item]:
    return list(parse_page(fetched, source).items)


def result(fetched: Fetched, source: Source, *, started: float | None = None) -> SourceResult:
    """Parse and turn any failure into a SourceResult; never raises."""
    common = {
        "source_id": source.id,
        "http_status": fetched.status,
        "not_modified": fetched.not_modified,
        "challenge": fetched.challenge,
    }
    try:
        page = parse_page(fetched, source)
    except FetchError as e:
        status, reason = e.status, e.reason
    except RecursionError:
        status, reason = "layout-changed", "the document is nested too deeply to read"
    except MemoryError:
        status, reason = "error", "out of memory reading the document"
    except Exception as e:  # the per-source boundary: a parser bug fails this source alone
        log.exception("%s: the %s parser failed", source.id, source.kind)
        status, reason = "error", f"the {source.kind} parser failed: {type(e).__name__}: {e}"
    else:
        return SourceResult(
            status="ok",
            items=page.items,
            etag=fetched.etag,
            last_modified=fetched.last_modified,
            warnings=page.warnings,
            elapsed_seconds=_since(started),
            **common,  # type: ignore[arg-type]
        )
    return SourceResult(
        status=status,  # type: ignore[arg-type]
        reason=reason[:500],
        elapsed_seconds=_since(started),
        **common,  # type: ignore[arg-type]
    )


def _since(started: float | None) -> float:
    return 0.0 if started is None else round(time.monotonic() - started, 3)
