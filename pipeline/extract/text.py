"""Prepare an item's text for extraction: HTML flattened to lines, mirror noise removed, and a
folded twin of the same length to match on.

Every rule matches in ``Text.norm`` and reports what it found from ``Text.raw`` at the same
offsets, so phrases, titles and names come out as the source wrote them (traditional script
included). ``norm`` is ``raw`` converted character by character to simplified Chinese (the
classifier's table of single characters that zhconv-rs converts on their own, so every offset
is kept) and then folded by the classifier's length-preserving ``fold`` (full-width digits and
letters to ASCII, lower case); newlines and dashes are kept, lines and ranges matter here.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from bs4 import BeautifulSoup, NavigableString, Tag
from bs4.element import PreformattedString

from pipeline.classify.normalize import fold
from pipeline.classify.script import char_table

# Some mirrors gloss characters with pinyin: ``現(xiàn)向社會``. A gloss has a tone mark.
_PINYIN = re.compile(
    r"(?<=[\u4e00-\u9fff])\((?=[a-zü]*[āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ])[a-zāáǎàēéěèīíǐìōóǒòūúǔùüǖǘǚǜ]+\)"
)
_HTML_HINT = re.compile(r"<(?:p|div|br|table|td|tr|span|html|body|li|h[1-6])\b", re.IGNORECASE)
_BLOCKS = ("p", "div", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "section")
_DROP = ("script", "style", "noscript", "head", "nav", "header", "footer", "select", "form")
_DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d"
_KEPT = re.compile(f"[\n{re.escape(_DASHES)}]")  # what fold blanks and ``prepare`` restores
_SPACE_RUN = re.compile(r"[ \t\u00a0\u3000]+")


@dataclass(frozen=True, slots=True)
class Text:
    """``raw`` as written; ``norm`` folded, same length, newlines and dashes kept."""

    raw: str
    norm: str

    def cut(self, start: int, end: int) -> str:
        return self.raw[start:end]


def looks_like_html(text: str) -> bool:
    return _HTML_HINT.search(text) is not None


def parse_html(html: str) -> BeautifulSoup:
    soup = BeautifulSoup(html, "lxml")
    for tag in soup.find_all(_DROP):
        tag.decompose()
    return soup


def element_text(element: Tag) -> str:
    """The text of an element with a newline for each line break and block, spaces collapsed."""
    parts: list[str] = []
    for node in element.descendants:
        if isinstance(node, Tag):
            if node.name == "br" or node.name in _BLOCKS:
                parts.append("\n")
            elif node.name in ("td", "th"):
                parts.append(" | ")
        elif isinstance(node, NavigableString) and not isinstance(node, PreformattedString):
            parts.append(str(node))  # comments, doctypes and the like are PreformattedStrings
    return tidy("".join(parts))


def tidy(text: str) -> str:
    """Collapse runs of spaces in each line and drop empty lines."""
    lines = (_SPACE_RUN.sub(" ", line).strip(" |") for line in text.splitlines())
    return "\n".join(line.strip() for line in lines if line.strip())


def strip_pinyin(text: str) -> str:
    return _PINYIN.sub("", text)


@functools.cache
def _to_simplified() -> dict[int, str]:
    return str.maketrans(char_table())


def simplify_chars(text: str) -> str:
    """Traditional characters to simplified ones, one for one (``len`` is kept)."""
    return text.translate(_to_simplified())


def prepare(text: str) -> Text:
    """A ``Text`` for plain text (already flattened)."""
    raw = strip_pinyin(text)
    folded = fold(simplify_chars(raw))
    if folded != raw:
        # fold turns newlines and dashes into spaces; lines and ranges matter here (``fold``
        # keeps every offset, so the few marks are put back in place)
        pieces: list[str] = []
        last = 0
        for mark in _KEPT.finditer(raw):
            at = mark.start()
            pieces += (folded[last:at], "\n" if mark.group() == "\n" else "-")
            last = at + 1
        if pieces:
            folded = "".join(pieces) + folded[last:]
    return Text(raw=raw, norm=folded)


def normalized(text: str) -> str:
    """The folded form of a short text (a table cell, a name), as ``prepare`` makes it."""
    return prepare(text).norm


def blank(norm: str, start: int, end: int) -> str:
    """``norm`` with ``[start, end)`` replaced by spaces (offsets kept)."""
    return norm[:start] + " " * (end - start) + norm[end:]
