"""Turn response bytes into text: HTTP header, then BOM / XML declaration / ``<meta charset>``,
then detection. GBK and GB2312 are decoded as their superset GB18030.

A label is only believed when the bytes decode under it without error; bytes that are valid UTF-8
(and not pure ASCII) are read as UTF-8 even when mislabelled, because non-UTF-8 CJK text is
practically never valid UTF-8 by accident. A Latin-1/ASCII header is weak (see ``decode``).
"""

from __future__ import annotations

import codecs
import logging
import re

from charset_normalizer import from_bytes

log = logging.getLogger(__name__)

_HEADER_RE = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.I)
_XML_DECL_RE = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([\w.:-]+)[\"']", re.I)
_META_RE = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([\w.:-]+)", re.I)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_ALIASES = {"gbk": "gb18030", "gb2312": "gb18030", "gb_2312-80": "gb18030", "x-gbk": "gb18030"}
_SNIFF_BYTES = 4096
_WEAK = frozenset({"latin_1", "iso8859-1", "cp1252", "ascii"})


def normalise(label: str) -> str | None:
    """A Python codec name for a charset label, GBK family mapped to GB18030; None if unknown."""
    name = label.strip().lower()
    name = _ALIASES.get(name, name)
    try:
        name = codecs.lookup(name).name
    except LookupError:
        return None
    return "gb18030" if name in ("gbk", "gb2312") else name


def header_charset(content_type: str | None) -> str | None:
    if not content_type:
        return None
    m = _HEADER_RE.search(content_type)
    return m.group(1) if m else None


def declared(content: bytes, content_type: str | None = None) -> list[str]:
    """Every charset the response declares, in order of authority, as codec names."""
    labels: list[str] = []
    if h := header_charset(content_type):
        labels.append(h)
    for bom, bom_codec in _BOMS:
        if content.startswith(bom):
            labels.append(bom_codec)
    head = content[:_SNIFF_BYTES]
    if m := _XML_DECL_RE.match(head):
        labels.append(m.group(1).decode("ascii"))
    if m := _META_RE.search(head):
        labels.append(m.group(1).decode("ascii"))
    out: list[str] = []
    for label in labels:
        codec = normalise(label)
        if codec and codec not in out:
            out.append(codec)
    # Latin-1 never fails to decode, and servers send it as a default: believe it last.
    return sorted(out, key=lambda n: n in _WEAK)


def _cjk(char: str) -> bool:
    return (
        "\u3000" <= char <= "\u303f"  # CJK punctuation
        or "\u3400" <= char <= "\u4dbf"  # extension A
        or "\u4e00" <= char <= "\u9fff"  # unified ideographs
        or "\uff00" <= char <= "\uffef"  # full-width forms
    )


def looks_cjk(content: bytes) -> bool:
    """Whether non-ASCII bytes read as GB18030 without error and are (mostly) Chinese text."""
    try:
        text = content.decode("gb18030")
    except UnicodeDecodeError:
        return False
    wide = [c for c in text if ord(c) > 127]
    return bool(wide) and sum(map(_cjk, wide)) >= 0.8 * len(wide)


def _detect(content: bytes) -> tuple[str, str] | None:
    best = from_bytes(content[:200_000]).best()
    if best is None or not best.encoding:
        return None
    guess = normalise(best.encoding) or best.encoding
    try:
        return content.decode(guess), guess
    except (UnicodeDecodeError, LookupError):
        return None


def _first_fit(content: bytes, names: list[str]) -> tuple[str, str] | None:
    for name in names:
        if name in ("utf-8", "utf-8-sig"):
            continue  # already failed
        try:
            return content.decode(name), name
        except (UnicodeDecodeError, LookupError):
            log.debug("declared charset %s does not fit the bytes", name)
    return None


def decode(content: bytes, content_type: str | None = None) -> tuple[str, str]:
    """Return ``(text, codec)``. Never raises; the last resort is UTF-8 with replacement.

    A Latin-1/ASCII label (a server default more often than a statement) is weak: it loses to the
    document's own declaration and, when the bytes read as Chinese under GB18030, to detection
    (or GB18030 itself), because Latin-1 never fails and would garble a GBK page silently.
    """
    if content.startswith(codecs.BOM_UTF8):
        return content[len(codecs.BOM_UTF8) :].decode("utf-8", "replace"), "utf-8"
    if content.isascii():
        return content.decode("ascii"), "ascii"
    try:
        return content.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    labels = declared(content, content_type)
    weak = [n for n in labels if n in _WEAK]
    if found := _first_fit(content, [n for n in labels if n not in _WEAK]):
        return found
    cjk = bool(weak) and looks_cjk(content)
    if not cjk and (found := _first_fit(content, weak)):
        return found
    guess = _detect(content)
    if guess is not None and not (cjk and guess[1] in _WEAK):
        return guess
    if cjk:
        return content.decode("gb18030"), "gb18030"
    return content.decode("utf-8", "replace"), "utf-8"
