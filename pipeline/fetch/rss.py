"""Kind ``rss``: RSS 2.0 and Atom through a fast lxml path; feedparser for everything else.

feedparser is lenient but slow (its sanitiser and date handlers dominate a profile); walking a
well-formed feed with lxml does the same job for a small fraction of the cost. The fast path
only accepts what it fully understands (well-formed XML, an ``rss/channel/item`` or Atom
``feed/entry`` tree); any syntax error or other dialect (RSS 1.0/RDF, broken markup) goes to
feedparser, which is lenient. Both paths build items through the same ``Builder`` so they agree
on titles, links and dates.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import feedparser
from lxml import etree  # type: ignore[import-untyped]

from pipeline.errors import LayoutChangedError
from pipeline.fetch.items import COMMON_OPTIONS, Builder, common_problems
from pipeline.fetch.kind import Document, Kind, Page, SlowPath

log = logging.getLogger(__name__)

ATOM = "{http://www.w3.org/2005/Atom}"
DC_DATE = "{http://purl.org/dc/elements/1.1/}date"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>")
_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, huge_tree=False, recover=False, remove_comments=True
)


class _NotFast(Exception):
    """The feed is not one the fast path understands; use feedparser."""


def _text(el: Any, tag: str) -> str:
    child = el.find(tag)
    if child is None:
        return ""
    if len(child) == 0:  # no child elements: plain text or CDATA, the common case
        return (child.text or "").strip()
    return "".join(child.itertext()).strip()


def _rss_entries(root: Any) -> Iterator[dict[str, str]]:
    channel = root.find("channel")
    if channel is None:
        raise _NotFast("rss without channel")
    for item in channel.iterfind("item"):
        guid_el = item.find("guid")
        guid = (guid_el.text or "").strip() if guid_el is not None else ""
        yield {
            "title": _text(item, "title"),
            "link": _text(item, "link"),
            "guid": guid,
            "date": _text(item, "pubDate") or _text(item, DC_DATE),
            "summary": _text(item, "description") or _text(item, CONTENT),
        }


def _atom_link(entry: Any) -> str:
    fallback = ""
    for link in entry.iterfind(ATOM + "link"):
        rel = link.get("rel", "alternate")
        if rel == "alternate":
            return str(link.get("href", ""))
        fallback = fallback or str(link.get("href", ""))
    return fallback


def _atom_entries(root: Any) -> Iterator[dict[str, str]]:
    for entry in root.iterfind(ATOM + "entry"):
        yield {
            "title": _text(entry, ATOM + "title"),
            "link": _atom_link(entry),
            "guid": _text(entry, ATOM + "id"),
            "date": _text(entry, ATOM + "published") or _text(entry, ATOM + "updated"),
            "summary": _text(entry, ATOM + "summary") or _text(entry, ATOM + "content"),
        }


def fast_entries(text: str) -> list[dict[str, str]]:
    """Entries of a well-formed RSS 2.0 / Atom document; raises _NotFast otherwise."""
    try:
        root = etree.fromstring(_XML_DECL.sub("", text, count=1).encode("utf-8"), _PARSER)
    except etree.XMLSyntaxError as e:
        raise _NotFast(str(e)) from e
    tag = root.tag if isinstance(root.tag, str) else ""
    if tag == "rss":
        return list(_rss_entries(root))
    if tag == ATOM + "feed":
        return list(_atom_entries(root))
    raise _NotFast(f"root element {tag!r}")


def slow_entries(doc: Document) -> list[dict[str, str]]:
    feed = feedparser.parse(
        doc.text, response_headers={"content-location": doc.fetched.url}, sanitize_html=False
    )
    if not feed.entries and feed.get("bozo"):
        raise LayoutChangedError(doc.source.id, f"not a feed: {feed.get('bozo_exception')}")
    if not feed.entries and not feed.get("version"):
        raise LayoutChangedError(doc.source.id, "expected RSS, got a document that is not a feed")
    out = []
    for e in feed.entries:
        out.append(
            {
                "title": str(e.get("title", "")),
                "link": str(e.get("link", "")),
                "guid": str(e.get("id", "")),
                "date": str(e.get("published") or e.get("updated") or ""),
                "summary": str(e.get("summary", "")),
            }
        )
    return out


# Values some CMSs put in <guid> for every entry: not an identity.
_PLACEHOLDER_GUIDS = frozenset({"0", "-1", "-", "null", "none", "nil", "undefined", "n/a", "guid"})


def trustworthy_guid(guid: str) -> bool:
    """Whether this entry's own GUID identifies it. Decided from the entry alone, so one odd
    entry cannot re-key the rest of the feed (every item stored and mailed again)."""
    value = guid.strip()
    return bool(value) and value.lower() not in _PLACEHOLDER_GUIDS


def parse(doc: Document) -> Page:
    try:
        entries = fast_entries(doc.text)
    except _NotFast as why:
        if not doc.allow_slow:
            raise SlowPath(str(why)) from why
        log.debug("%s: feedparser path (%s)", doc.source.id, why)
        entries = slow_entries(doc)
    builder = Builder(doc)
    owners: dict[str, str | None] = {}  # guid -> link of the first entry that used it
    for entry in entries:
        link = builder.link(entry["link"])
        guid: str | None = entry["guid"].strip()
        if not guid or not trustworthy_guid(guid):
            guid = None
        elif guid.startswith(("http://", "https://")):
            guid = builder.link(guid) or guid
        if guid is not None and owners.setdefault(guid, link) != link and link:
            # A broken feed reusing one GUID for different pages: the first entry keeps it,
            # the others fall back to their link instead of being dropped as duplicates.
            guid = None
        builder.add(
            title=entry["title"], link=link, date=entry["date"], summary=entry["summary"], guid=guid
        )
    return builder.finish()


KIND = Kind(
    name="rss",
    parse=parse,
    summary="RSS 2.0, RSS 1.0 or Atom: well-formed feeds take a fast lxml path, anything else"
    " goes through feedparser; odd dates (FCA's `Monday, July 27, 2026 - 15:30`) are read in"
    " the source's `timezone`",
    options=COMMON_OPTIONS,
    validate=common_problems,
    expects="RSS",
)
