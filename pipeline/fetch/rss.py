"""Kind ``rss``: RSS 2.0 / RSS 1.0 / Atom feeds parsed with feedparser."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import feedparser

from pipeline.errors import LayoutChangedError
from pipeline.fetch.registry import Kind
from pipeline.models import Fetched, Item, Source

log = logging.getLogger(__name__)


def parse(fetched: Fetched, source: Source) -> Iterator[Item]:
    feed = feedparser.parse(fetched.content)
    if not feed.entries and getattr(feed, "bozo", False):
        raise LayoutChangedError(source.id, f"not a feed: {feed.get('bozo_exception')!r}")
    for entry in feed.entries:
        title = " ".join(str(entry.get("title", "")).split())
        link = entry.get("link") or None
        guid = entry.get("id") or link or title
        published = None
        raw = entry.get("published") or entry.get("updated")
        parsed = entry.get("published_parsed") or entry.get("updated_parsed")
        if parsed is not None:
            published = datetime(*parsed[:6], tzinfo=UTC)
        yield Item(
            source_id=source.id,
            guid=str(guid),
            title=title,
            url=link,
            summary=str(entry.get("summary", "")),
            published=published,
            published_raw=str(raw) if raw else None,
        )


KIND = Kind(name="rss", parse=parse)
