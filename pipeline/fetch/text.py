"""Stored text is plain text: markup read as HTML only when it is HTML, control characters gone.

``plain(value, "text")`` keeps every character of a text value (``利率<5%的贷款>1年`` stays as
written); ``plain(value, "html")`` reads the value as HTML (tags dropped, entities decoded once,
``&lt;blink&gt;`` becomes the literal ``<blink>``); ``plain(value, "guess")`` reads it as HTML
only when it looks like HTML (a known tag, a closing tag or an entity), as feedparser guesses for
RSS. All three strip terminal escape sequences (ANSI CSI, OSC), other C0/C1 control characters
and NUL (which must not cut a title short), replace lone surrogates (which SQLite cannot store),
and collapse whitespace.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Literal

TextType = Literal["text", "html", "guess"]

# ESC [ ... final byte (CSI), ESC ] ... BEL or ESC \ (OSC), other two-byte ESC sequences, and
# the 8-bit CSI/OSC introducers.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]?"
    r"|\x1b\][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -/]*[0-~]?"
    r"|\x9b[0-?]*[ -/]*[@-~]?"
    r"|\x9d[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
)
_WHITE_CONTROLS = re.compile(r"[\t\n\v\f\r\x1c-\x1f\x85]")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SURROGATES = re.compile(r"[\ud800-\udfff]")

# Elements whose presence makes a value of unknown type HTML (feedparser's guess for RSS titles
# is similar: a closing tag or a known element). ``<5%`` or ``<blink>`` alone is text.
_KNOWN = (
    "a|abbr|acronym|address|b|big|blockquote|br|center|cite|code|dd|del|dfn|div|dl|dt|em|font"
    "|h[1-6]|hr|i|img|ins|kbd|li|mark|ol|p|pre|q|s|samp|small|span|strike|strong|sub|sup|table"
    "|tbody|td|th|thead|tr|tt|u|ul|var"
)
_LOOKS_HTML = re.compile(
    rf"</[a-zA-Z][\w:-]*\s*>|<(?:{_KNOWN})(?:\s[^<>]*)?/?>|&(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z]\w*);",
    re.I,
)
# Elements that separate words when dropped; inline ones (b, em, span, a …) do not.
_BLOCKS = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "br",
        "dd",
        "div",
        "dl",
        "dt",
        "figcaption",
        "figure",
        "footer",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "ul",
    ]
)
_SKIPPED = frozenset({"script", "style", "template", "noscript"})


def strip_controls(text: str) -> str:
    """Terminal escape sequences and control characters removed (whitespace controls become
    spaces), lone surrogates replaced by U+FFFD."""
    if "\x1b" in text or "\x9b" in text or "\x9d" in text:
        text = _ESCAPES.sub("", text)
    text = _WHITE_CONTROLS.sub(" ", text)
    text = _CONTROLS.sub("", text)
    return _SURROGATES.sub("\ufffd", text)


def collapse(text: str) -> str:
    return " ".join(text.split())


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self.skipping += 1
        elif tag in _BLOCKS:
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCKS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCKS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    """The text of an HTML fragment: tags dropped, entities decoded once; ``<`` that does not
    open a tag (``<5%``) is text."""
    parser = _Text()
    parser.feed(markup)
    parser.close()
    return "".join(parser.parts)


def plain(value: object, kind: TextType = "guess") -> str:
    """Stored text for a title, summary or body (see the module docstring)."""
    if value is None:
        return ""
    text = strip_controls(str(value))
    if kind == "html" or (kind == "guess" and looks_like_html(text)):
        text = html_to_text(text)
        text = strip_controls(text)  # entities may have spelled control characters
    return collapse(text)


def looks_like_html(text: str) -> bool:
    return ("<" in text or "&" in text) and bool(_LOOKS_HTML.search(text))
