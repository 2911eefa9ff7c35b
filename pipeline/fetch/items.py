"""Building ``Item``s the same way in every kind: clean titles, canonical links, dates in the
source's zone with the raw string kept, and a warning (never the fetch time) for bad dates.

Also the options every kind accepts (``date_format``, ``detail`` …) and their validation.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import soupsieve

from pipeline.fetch.dates import parse_date
from pipeline.fetch.kind import Document, Option, Page
from pipeline.fetch.urls import canonical
from pipeline.models import Item

_INLINE_TAG = re.compile(r"</?(?:em|b|strong|i|u|span|font|a|sup|sub|mark)\b[^>]*>", re.I)
_TAG = re.compile(r"<[^>]*>")
_ATTR_SELECTOR = re.compile(r"^(.*?)\s*@([\w:-]+)$", re.S)

COMMON_OPTIONS: Mapping[str, Option] = MappingProxyType(
    {
        "date_format": Option(str, "strptime format, for dates the generic parser cannot read"),
        "https_links": Option(bool, "`true` rewrites `http://` item links to `https://`"),
        "detail": Option(
            str,
            "CSS selector of the body on each *new* item's page, fetched once, for the classifier",
        ),
        "detail_url": Option(
            str,
            "the detail page's URL as a template over the item's `extra` fields"
            ' (`"…data_docId={docId}.json"`; default: the item\'s link)',
        ),
        "detail_json": Option(str, "dotted path to an HTML string when the detail page is JSON"),
        "detail_hosts": Option(
            list, "other hosts detail pages may come from (by default only the source's own host)"
        ),
    }
)


def clean_text(value: object) -> str:
    """Tags stripped, entities decoded, whitespace and newlines collapsed."""
    if value is None:
        return ""
    text = str(value)
    if "<" in text:
        text = _TAG.sub(" ", _INLINE_TAG.sub("", text))
    if "&" in text:
        text = html.unescape(text)
    return " ".join(text.split())


def split_attr(selector: str) -> tuple[str, str | None]:
    """``"a[istitle] @title"`` -> ``("a[istitle]", "title")``; no ``@`` -> text content."""
    m = _ATTR_SELECTOR.match(selector.strip())
    if m and "[" not in m.group(2):
        return m.group(1).strip(), m.group(2)
    return selector.strip(), None


def selector_problems(key: str, value: object) -> list[str]:
    if not isinstance(value, str):
        return []
    css, _attr = split_attr(value)
    if css in ("", "."):
        return []  # the item element itself
    try:
        soupsieve.compile(css)
    except Exception as e:  # soupsieve raises SelectorSyntaxError and friends
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        return [f"{key}: invalid CSS selector {value!r}: {first}"]
    return []


def common_problems(options: Mapping[str, Any]) -> list[str]:
    problems = selector_problems("detail", options.get("detail"))
    if ("detail_url" in options or "detail_json" in options) and "detail" not in options:
        problems.append("detail_url/detail_json: need 'detail' (the body selector) as well")
    problems += template_problems("detail_url", options.get("detail_url"))
    hosts = options.get("detail_hosts", [])
    if not all(isinstance(h, str) and h and "/" not in h for h in hosts):
        problems.append("detail_hosts: expected a list of host names, e.g. ['www.pbc.gov.cn']")
    return problems


def template_problems(key: str, template: object) -> list[str]:
    """A ``str.format`` template over named fields (``"...?docId={docId}"``) that cannot fail."""
    if not isinstance(template, str):
        return []
    try:
        template.format_map(_AnyKeys())
    except (ValueError, IndexError, AttributeError, TypeError) as e:
        return [f"{key}: bad template {template!r}: {e}"]
    return []


class _AnyKeys(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


class Builder:
    """Collects items and warnings for one document."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.source = doc.source
        self.base = doc.fetched.url
        self.https = bool(self.source.options.get("https_links", False))
        self.fmt: str | None = self.source.options.get("date_format")
        self.items: list[Item] = []
        self.warnings: list[str] = []
        self._seen: set[str] = set()
        self._untitled: list[str | None] = []

    def finish(self) -> Page:
        """The page; entries without a title warn unless their link was listed with one."""
        links = {i.url for i in self.items}
        lost = [u for u in self._untitled if u is None or u not in links]
        warnings = list(self.warnings)
        if lost:
            warnings.append(f"{len(lost)} entries without a title skipped (first link {lost[0]!r})")
        return Page(tuple(self.items), tuple(warnings))

    def link(self, raw: object, base: str | None = None) -> str | None:
        if not raw:
            return None
        return canonical(str(raw), base or self.base, https=self.https)

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
    ) -> Item | None:
        text = clean_text(title)
        if not text:
            self._untitled.append(link)
            return None
        published = None
        raw = None
        if date is not None and date != "":
            raw = date if isinstance(date, str) else str(date)
            raw = " ".join(raw.split())
            published = parse_date(date, self.source.timezone, self.fmt, unit=date_unit)
            if published is None:
                self.warnings.append(f"unparseable date {raw!r} for {text[:40]!r}")
        key = guid or link or _digest(text, raw)
        if key in self._seen:
            return None  # the same entry listed twice on one page
        self._seen.add(key)
        item = Item(
            source_id=self.source.id,
            guid=key,
            title=text,
            url=link,
            summary=clean_text(summary),
            published=published,
            published_raw=raw,
            extra=MappingProxyType(dict(extra)) if extra else MappingProxyType({}),
        )
        self.items.append(item)
        return item


def _digest(title: str, raw_date: str | None) -> str:
    blob = f"{title}\x1f{raw_date or ''}".encode()
    return "sha1:" + hashlib.sha1(blob).hexdigest()
