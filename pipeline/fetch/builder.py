"""Building ``Item``s the same way in every kind, one entry at a time, none able to fail the page.

Titles and summaries become plain text (``text.plain``: markup read as HTML only when it is
HTML, control characters gone), links canonical, dates read in the source's zone with the raw
string kept. Whatever goes wrong with one entry stays with that entry: a bad date is dropped
(the item is stored undated), an oversized title is cut, an entry without a title or one whose
fields raise is skipped; each such event is counted and the page's warnings say how often, with
the first example, once per page.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import MappingProxyType

from pipeline.fetch import urls
from pipeline.fetch.dates import OUT_OF_RANGE, read_date
from pipeline.fetch.kind import Document, Page
from pipeline.fetch.text import TextType, plain
from pipeline.models import AttachmentLink, Item

log = logging.getLogger(__name__)

MAX_TITLE = 1_000
MAX_SUMMARY = 20_000
MAX_EXTRA = 2_000

# warning key -> (singular, plural) wording; the first example is appended
_WORDING = {
    "unparseable": ("unparseable date", "unparseable dates"),
    OUT_OF_RANGE: ("date out of range (stored without a date)", "dates out of range"),
    "untitled": ("entry without a title skipped", "entries without a title skipped"),
    "long": ("title longer than {n} characters cut", "titles longer than {n} characters cut"),
    "failed": ("entry skipped", "entries skipped"),
}


class Builder:
    """Collects the items and the counted warnings of one document."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.source = doc.source
        self.base = doc.fetched.url
        self.https = bool(self.source.options.get("https_links", False))
        self.fmt: str | None = self.source.options.get("date_format")
        self.cst: str | None = self.source.options.get("cst")
        self.items: list[Item] = []
        self._counts: Counter[str] = Counter()
        self._first: dict[str, str] = {}
        self._seen: set[str] = set()
        self._untitled: list[str | None] = []

    def warn(self, key: str, example: str) -> None:
        self._counts[key] += 1
        self._first.setdefault(key, example)

    @contextmanager
    def entry(self, position: int) -> Iterator[None]:
        """The per-entry boundary: whatever one entry raises skips that entry alone."""
        try:
            yield
        except Exception as e:  # one entry's data, whatever it is, never fails its page
            log.debug("%s: entry %d: %r", self.source.id, position, e)
            self.warn("failed", f"entry {position}: {type(e).__name__}: {str(e)[:120]}")

    def finish(self) -> Page:
        """The page; entries without a title count unless their link was listed with one."""
        links = {i.url for i in self.items}
        for url in self._untitled:
            if url is None or url not in links:
                self.warn("untitled", f"first link {url!r}")
        return Page(tuple(self.items), self.warnings())

    def warnings(self) -> tuple[str, ...]:
        out = []
        for key, count in self._counts.items():
            one, many = _WORDING[key]
            words = (one if count == 1 else f"{count} {many}").format(n=MAX_TITLE)
            example = self._first[key]
            out.append(f"{words} ({example})" if key == "untitled" else f"{words}: {example}")
        return tuple(out)

    def link(self, raw: object, base: str | None = None) -> str | None:
        if not raw:
            return None
        return urls.canonical(str(raw), base or self.base, https=self.https)

    def add(
        self,
        *,
        title: object,
        link: str | None,
        date: object = None,
        summary: object = "",
        guid: str | None = None,
        extra: Mapping[str, str] | None = None,
        date_unit: str | None = None,
        title_type: TextType = "guess",
        summary_type: TextType = "guess",
        files: Sequence[AttachmentLink] = (),
    ) -> Item | None:
        text = plain(title, title_type)
        if not text:
            self._untitled.append(link)
            return None
        if len(text) > MAX_TITLE:
            self.warn("long", repr(text[:40]))
            text = text[: MAX_TITLE - 1] + "…"
        published = None
        raw = None
        if date is not None and date != "":
            raw = " ".join(plain(date, "text").split())[:200] or None
            reading = read_date(date, self.source.timezone, self.fmt, unit=date_unit, cst=self.cst)
            published = reading.value
            if reading.problem is not None:
                self.warn(reading.problem, f"{raw!r} for {text[:40]!r}")
        key = guid or link or _digest(text, raw)
        if key in self._seen:
            return None  # the same entry listed twice on one page
        self._seen.add(key)
        legacy = urls.legacy(key) if key.startswith(("http://", "https://")) else key
        item = Item(
            source_id=self.source.id,
            guid=key,
            title=text,
            url=link,
            summary=plain(summary, summary_type)[:MAX_SUMMARY],
            published=published,
            published_raw=raw,
            extra=MappingProxyType(
                {k: plain(v, "text")[:MAX_EXTRA] for k, v in (extra or {}).items()}
            ),
            aliases=(legacy,) if legacy != key else (),
            attachment_links=tuple(files),
        )
        self.items.append(item)
        return item


def _digest(title: str, raw_date: str | None) -> str:
    blob = f"{title}\x1f{raw_date or ''}".encode()
    return "sha1:" + hashlib.sha1(blob).hexdigest()
