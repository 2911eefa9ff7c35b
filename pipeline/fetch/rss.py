"""Kind ``rss``: RSS 0.9x/1.0/2.0 and Atom 0.3/1.0, read by feedparser, the one parser of record.

There is no second, faster path: one that disagrees with feedparser on a link, a date or a title
is a defect whatever it saves (issue #18; the cost per entry is measured in
benchmarks/bench_feeds.py). Before feedparser sees the document its DOCTYPE is taken out
(``doctype.strip``: no entity expansion beyond a bound) and it is handed over as UTF-8 bytes with
that charset declared (the text is decoded already; without a Content-Type feedparser assumes
Latin-1 and garbles a lenient re-parse).

What lendwatch takes from an entry, and where it deliberately differs from feedparser:

- title: ``title`` (``dc:title`` included), else ``media:title``; plain text read by the title's
  type: ``html``/``xhtml`` are HTML; a ``text`` value (feedparser's guess for RSS, or decoded
  base64) is read as HTML only when it looks like HTML (a known element, a closing tag or an
  entity: a CMS that escaped twice), so ``利率<5%的贷款>1年`` and ``the <blink> tag`` stay as
  written; untitled entries are skipped and counted.
- link: the first ``rel="alternate"`` link of an HTML type (feedparser 6.0.14 lets a later
  href-less ``rel="enclosure"`` override it), resolved through ``xml:base`` and then against the
  fetched URL, never a ``Content-Location``; only http(s). A permalink guid (or an Atom id)
  becomes the link only when it is an absolute http(s) URL as written.
- id: the guid / Atom id as written (``xml:base`` applied by feedparser, never the document URL:
  an identity must not depend on where the feed was fetched); URL ids are canonicalised.
- date: ``published`` (pubDate, dcterms:issued, Atom issued), else ``updated`` (dc:date,
  dcterms:modified), else ``created``; the raw string is parsed by ``dates`` in the source's zone.
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass
from typing import Any

from pipeline.errors import LayoutChangedError
from pipeline.fetch import doctype, feedfast
from pipeline.fetch.builder import Builder
from pipeline.fetch.items import COMMON_OPTIONS, common_problems
from pipeline.fetch.kind import Document, Kind, Page
from pipeline.fetch.text import TextType

log = logging.getLogger(__name__)

_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>")
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml", ""})
# feedparser resolves xml:base only against an absolute base (a relative chain is dropped), and
# resolves relative ids too. It is given this placeholder base; ``_unbase`` turns what it
# resolved against it back into a reference relative to the document, which links then resolve
# against the fetched URL and ids keep as written.
_BASE_ROOT = "https://base.lendwatch.invalid"
_DEPTH = 8
_BASE = _BASE_ROOT + "/" + "".join(f"~{n}/" for n in range(_DEPTH))
_HEADERS = {"content-type": "application/xml; charset=utf-8", "content-location": _BASE}
# Values some CMSs put in <guid> for every entry: not an identity.
_PLACEHOLDER_GUIDS = frozenset({"0", "-1", "-", "null", "none", "nil", "undefined", "n/a", "guid"})


@dataclass(frozen=True, slots=True)
class Entry:
    """What lendwatch reads from one feed entry, before it becomes an Item."""

    title: str
    title_type: TextType
    link: str
    guid: str
    date: str
    summary: str
    summary_type: TextType


def trustworthy_guid(guid: str) -> bool:
    """Whether this entry's own GUID identifies it. Decided from the entry alone, so one odd
    entry cannot re-key the rest of the feed (every item stored and mailed again)."""
    value = guid.strip()
    return bool(value) and value.lower() not in _PLACEHOLDER_GUIDS


def _feedparser() -> Any:
    """feedparser, imported on first use (commands that never parse a feed skip it), with the
    fast paths of ``feedfast`` installed (each gives exactly what it stands in for)."""
    import feedparser
    import feedparser.mixin as mixin
    import feedparser.util as util

    feedfast.install(mixin, util)
    return feedparser


def read_feed(doc: Document) -> Any:
    """feedparser's result for the document, DOCTYPE stripped (see the module docstring)."""
    text = doctype.strip(_XML_DECL.sub("", doc.text, count=1), doc.source.id)
    data = b'<?xml version="1.0" encoding="utf-8"?>\n' + text.encode("utf-8", "replace")
    # a stream, not bytes or str: feedparser would open a str that looks like a URL or a path
    return _feedparser().parse(
        io.BytesIO(data),
        response_headers=_HEADERS,
        sanitize_html=False,
        resolve_relative_uris=False,
    )


def entries(doc: Document) -> list[Any]:
    feed = read_feed(doc)
    if not feed.entries and feed.get("bozo"):
        raise LayoutChangedError(doc.source.id, f"not a feed: {feed.get('bozo_exception')}")
    if not feed.entries and not feed.get("version"):
        raise LayoutChangedError(doc.source.id, "expected RSS, got a document that is not a feed")
    return list(feed.entries)


def _get(d: Any, key: str) -> Any:
    """A raw key of a FeedParserDict, without its aliases and deprecated fallbacks."""
    return dict.get(d, key) if isinstance(d, dict) else None


def _text_type(detail: Any) -> TextType:
    kind = str(_get(detail, "type") or "text/plain").lower()
    return "guess" if kind == "text/plain" else "html"


def _absolute(value: str) -> bool:
    return value.startswith(("http://", "https://"))


def _unbase(value: object) -> str:
    """A value feedparser resolved against ``_BASE``, as a reference relative to the document
    (``feed/entry/n.html``, ``../n.html``, ``/n.html``); any other value unchanged."""
    text = str(value or "")
    if not text.startswith(_BASE_ROOT + "/"):
        return text
    segments = text[len(_BASE_ROOT) + 1 :].split("/")
    kept = 0
    while kept < min(_DEPTH, len(segments) - 1) and segments[kept] == f"~{kept}":
        kept += 1
    rest = "/".join(segments[kept:])
    if kept == 0:
        return "/" + rest
    return "../" * (_DEPTH - kept) + rest


def _link(e: Any) -> str:
    for link in _get(e, "links") or ():
        if (
            _get(link, "rel") in (None, "alternate")
            and str(_get(link, "type") or "").lower() in _HTML_TYPES
            and _get(link, "href")
        ):
            return _unbase(_get(link, "href"))
    # feedparser's link from a permalink guid (RSS) or an Atom id: only an absolute http(s) URL
    fallback = _unbase(_get(e, "link"))
    if fallback and _get(e, "guidislink") and _absolute(fallback):
        return fallback
    return ""


def entry(e: Any) -> Entry:
    title, detail = _get(e, "title"), _get(e, "title_detail")
    if not (title and str(title).strip()):
        title, detail = _get(e, "media_title"), None
    summary, sdetail = _get(e, "summary"), _get(e, "summary_detail")
    if not summary and _get(e, "content"):
        first = _get(e, "content")[0]
        summary, sdetail = _get(first, "value"), first
    date = _get(e, "published") or _get(e, "updated") or _get(e, "created") or ""
    return Entry(
        title=str(title or ""),
        title_type=_text_type(detail),
        link=_link(e),
        guid=_unbase(_get(e, "id")),
        date=str(date),
        summary=str(summary or ""),
        summary_type=_text_type(sdetail),
    )


def parse(doc: Document) -> Page:
    builder = Builder(doc)
    owners: dict[str, str | None] = {}  # guid -> link of the first entry that used it
    for n, raw in enumerate(entries(doc)):
        with builder.entry(n):
            found = entry(raw)
            link = builder.link(found.link)
            guid: str | None = found.guid.strip()
            if not guid or not trustworthy_guid(guid):
                guid = None
            elif _absolute(guid):
                guid = builder.link(guid) or guid
            if guid is not None and owners.setdefault(guid, link) != link and link:
                # A broken feed reusing one GUID for different pages: the first entry keeps it,
                # the others fall back to their link instead of being dropped as duplicates.
                guid = None
            builder.add(
                title=found.title,
                title_type=found.title_type,
                link=link,
                date=found.date,
                summary=found.summary,
                summary_type=found.summary_type,
                guid=guid,
            )
    return builder.finish()


KIND = Kind(
    name="rss",
    parse=parse,
    summary="RSS 0.9x/1.0/2.0 or Atom, read by feedparser (well-formed or not); titles keep"
    " `<` and `>` written as text; odd dates (FCA's `Monday, July 27, 2026 - 15:30`) are read"
    " in the source's `timezone`",
    options=COMMON_OPTIONS,
    validate=common_problems,
    expects="RSS",
)
