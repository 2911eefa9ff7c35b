"""Kind ``html``: a list page read with CSS selectors (BeautifulSoup + lxml + soupsieve).

``item`` selects each entry; ``title``, ``link``, ``date`` and ``summary`` select inside it, and a
trailing ``@attr`` reads an attribute instead of the text (PBOC cuts link texts with ``...``; the
full title is in ``title=``). ``link_pattern`` keeps only links matching a regex (jiemian, gov.cn);
``"."`` is the item element itself; ``count_marker`` is a string whose number of occurrences in
the page must equal the number of parsed rows, to catch partial breakage (PBOC's
``istitle="true"``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from pipeline.errors import LayoutChangedError
from pipeline.fetch.builder import Builder
from pipeline.fetch.items import COMMON_OPTIONS, common_problems, selector_problems
from pipeline.fetch.items import split_attr as split_attr
from pipeline.fetch.jsonapi import load
from pipeline.fetch.jsonpath import MISSING, lookup
from pipeline.fetch.kind import Document, Kind, Option, Page

if TYPE_CHECKING:  # bs4 is imported when a page is parsed, not by every command
    from bs4 import BeautifulSoup, Tag

_AS_TITLE = "CSS selector inside the row, as for `title`"
OPTIONS: Mapping[str, Option] = MappingProxyType(
    {
        **COMMON_OPTIONS,
        "item": Option(str, "CSS selector of one row"),
        "title": Option(
            str,
            'CSS selector inside the row; `"sel @attr"` reads an attribute (PBOC\'s'
            ' `a[istitle="true"] @title`, because the link text is cut with `...`);'
            ' `"."` is the row itself',
        ),
        "link": Option(str, f"{_AS_TITLE} (default `a @href`)"),
        "date": Option(str, _AS_TITLE),
        "summary": Option(str, _AS_TITLE),
        "link_pattern": Option(
            str, "regex a link must match; rows whose link does not are skipped"
        ),
        "count_marker": Option(
            str,
            "a string whose count in the page must equal the rows parsed, to catch partial"
            ' breakage (PBOC\'s `istitle="true"`)',
        ),
        "html_path": Option(
            str,
            "the response is JSON and the list is the HTML string at this dotted path"
            " (工信部's `data.html`); the selectors then read that HTML",
        ),
    }
)


def extract(el: Tag, selector: str | None) -> str | None:
    """The text (or ``@attr``) of the first match of ``selector`` inside ``el``."""
    if not selector:
        return None
    css, attr = split_attr(selector)
    target = el.select_one(css) if css not in ("", ".") else el
    if target is None:
        return None
    if attr is None:
        return target.get_text(" ", strip=True)
    value = target.get(attr)
    if isinstance(value, list):
        return " ".join(value)
    return value


def soup(text: str) -> BeautifulSoup:
    from bs4 import BeautifulSoup

    return BeautifulSoup(text, "lxml")


def _markup(doc: Document) -> str:
    """The HTML to read: the page, or the string at ``html_path`` of a JSON response."""
    path = doc.source.options.get("html_path")
    if not path:
        return doc.text
    value = lookup(load(doc.text, doc.source.id), str(path))
    if not isinstance(value, str):
        shown = "missing" if value is MISSING else type(value).__name__
        raise LayoutChangedError(doc.source.id, f"no HTML string at {path} ({shown})")
    return value.replace("\x00", "")


def parse(doc: Document) -> Page:
    opts = doc.source.options
    text = _markup(doc)
    from bs4 import Tag

    tree = soup(text)
    base_el = tree.find("base", href=True)
    base = doc.fetched.url
    if isinstance(base_el, Tag) and isinstance(base_el.get("href"), str):
        base = str(base_el["href"])
    pattern = re.compile(opts["link_pattern"]) if opts.get("link_pattern") else None
    builder = Builder(doc)
    rows = tree.select(opts["item"])
    kept = 0
    for n, row in enumerate(rows):
        with builder.entry(n):
            raw_link = extract(row, opts.get("link", "a @href"))
            link = builder.link(raw_link, base)
            if pattern is not None and (link is None or not pattern.search(link)):
                continue
            kept += 1
            # the parser has read the markup: what the selectors give is text (`<5%` included)
            builder.add(
                title=extract(row, opts["title"]),
                title_type="text",
                link=link,
                date=extract(row, opts.get("date")),
                summary=extract(row, opts.get("summary")) or "",
                summary_type="text",
            )
    marker = opts.get("count_marker")
    if marker and rows:
        expected = text.count(marker)
        if expected != kept:
            raise LayoutChangedError(
                doc.source.id,
                f"parsed {kept} rows but the page has {expected} {marker!r} markers",
            )
    return builder.finish()


def validate(options: Mapping[str, Any]) -> list[str]:
    problems = common_problems(options)
    for key in ("item", "title", "link", "date", "summary"):
        problems += selector_problems(key, options.get(key))
    if isinstance(options.get("link_pattern"), str):
        try:
            re.compile(options["link_pattern"])
        except re.error as e:
            problems.append(f"link_pattern: invalid regex {options['link_pattern']!r}: {e}")
    return problems


KIND = Kind(
    name="html",
    parse=parse,
    summary="a list page read with CSS selectors (BeautifulSoup, lxml)",
    options=OPTIONS,
    required=frozenset({"item", "title"}),
    validate=validate,
    expects="HTML",
)
