"""Length-preserving text folding for matching Chinese and English headlines.

``fold(text)`` maps every character to exactly one character, so an offset in the folded text is
the same offset in the original text: matches are reported, and snippets cut, in the text the
reader sees. The folding is

* case folding (``str.lower``; the rare characters whose lower case is longer are kept as is),
* NFKC for every character whose NFKC form is a single letter, digit, space or one of ``%+.&/'``
  (full-width ``ＡＢＣ１２３％`` and the ideographic space become ASCII; compatibility forms whose
  NFKC is several characters, such as ``…`` -> ``...``, are left alone to keep offsets),
* traditional to simplified Chinese, character by character, from zhconv's ``zh-hans`` table
  (single-character entries only; phrase entries need context and are not used),
* whitespace (tab, newline, no-break and ideographic spaces) to a plain space, and hyphens and
  dashes to a space so that ``buy-now pay-later`` matches ``buy now pay later``.

Every item is folded, so ``fold`` avoids work most text does not need: ``str.translate`` walks
every character, so it only runs when a compiled character class (a bitmap in ``re``) finds a
character that needs mapping; plain simplified Chinese pays one ``lower()`` and one regex scan.
"""

from __future__ import annotations

import importlib.resources
import logging
import re
import unicodedata
from dataclasses import dataclass

from zhconv import zhconv

logger = logging.getLogger(__name__)

_KEEP_SYMBOLS = frozenset("%+.&/' ")
_SPACES = "\t\n\r\x0b\x0c\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
_SPACES += "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
_DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d"
_QUOTES = {"\u2018": "'", "\u2019": "'", "\u2032": "'"}
_BMP = 0x10000
_MAX_REPLACE = 40  # more distinct characters to fold than this: one ``translate``
_CHEAP = frozenset(_SPACES + _DASHES + "".join(_QUOTES))


def _nfkc_single(char: str) -> str | None:
    """The one-character NFKC form of ``char`` if it is worth folding, else None."""
    folded = unicodedata.normalize("NFKC", char)
    if len(folded) != 1 or folded == char:
        return None
    if folded.isalnum() or folded in _KEEP_SYMBOLS:
        low = folded.lower()
        return low if len(low) == 1 else folded
    return None


def _load_zhconv() -> None:
    """Load zhconv's dictionary from an explicit path: its default loader leaves the file open
    (a ResourceWarning), a named file is read with ``with``."""
    if zhconv.zhcdicts is None:
        resource = importlib.resources.files("zhconv") / "zhcdict.json"
        with importlib.resources.as_file(resource) as path:
            zhconv.loaddict(str(path))


def _simplified_table() -> dict[str, str]:
    """Traditional -> simplified single characters (BMP only), chains resolved."""
    _load_zhconv()
    source = zhconv.getdict("zh-hans")
    table = {k: v for k, v in source.items() if len(k) == 1 and len(v) == 1 and k != v}
    resolved: dict[str, str] = {}
    for k, v in table.items():
        seen = {k}
        while v in table and v not in seen:
            seen.add(v)
            v = table[v]
        if ord(k) < _BMP and k != v:
            resolved[k] = v
    return resolved


@dataclass(frozen=True, slots=True)
class _Tables:
    table: list[str]  # code point -> folded character (BMP)
    any: re.Pattern[str]  # any character that folds
    heavy: re.Pattern[str]  # a character that needs ``translate`` (CJK, full-width, ...)
    cheap: tuple[tuple[str, str], ...]  # spaces, dashes, quotes: a few ``str.replace`` calls
    # Any character ``fold`` could change: one that folds, one that ``lower`` changes, or one
    # outside the BMP. Text without any (most Chinese headlines and summaries) is returned as
    # is, without even a ``lower``.
    dirty: re.Pattern[str]
    # ``heavy`` plus lone surrogates (which ``translate`` turns into U+FFFD).
    each: re.Pattern[str]
    # Characters whose folded form folds again (rare: Kangxi radicals -> traditional ->
    # simplified); with none of them, replacing one character at a time equals ``translate``.
    unstable: frozenset[str]
    # The ASCII characters that fold to something other than their lower case (tab, newline,
    # hyphen ...): ASCII text needs only ``lower`` and these replacements.
    ascii: tuple[tuple[str, str], ...]


def _build_tables() -> _Tables:
    mapping: dict[str, str] = {}
    for cp in range(_BMP):
        if 0xD800 <= cp < 0xE000:
            continue
        single = _nfkc_single(chr(cp))
        if single is not None:
            mapping[chr(cp)] = single
    for k, v in _simplified_table().items():
        mapping[k] = mapping.get(v, v)
    for ch in _SPACES:
        mapping[ch] = " "
    for ch in _DASHES:
        mapping[ch] = " "
    mapping.update(_QUOTES)
    # ``fold`` lower-cases first, so upper-case keys can never be seen; drop them so that
    # text with ordinary capitals does not trigger the slow path.
    mapping = {k: v for k, v in mapping.items() if k.lower() == k or len(k.lower()) != 1}
    table = [chr(cp) if not 0xD800 <= cp < 0xE000 else "\ufffd" for cp in range(_BMP)]
    for k, v in mapping.items():
        table[ord(k)] = v
    lowers = (chr(cp) for cp in range(_BMP) if not 0xD800 <= cp < 0xE000)
    changing = {ch for ch in lowers if ch.lower() != ch} | set(mapping)
    cheap = {k: v for k, v in mapping.items() if k in _CHEAP}
    heavy = sorted(k for k in mapping if k not in _CHEAP)
    logger.debug("normalize: %d characters fold", len(mapping))
    return _Tables(
        table=table,
        any=re.compile("[" + "".join(re.escape(k) for k in sorted(mapping)) + "]"),
        heavy=re.compile("[" + "".join(re.escape(k) for k in heavy) + "]"),
        cheap=tuple(cheap.items()),
        each=re.compile("[" + "".join(re.escape(k) for k in heavy) + "\ud800-\udfff]"),
        unstable=frozenset(k for k, v in mapping.items() if ord(v) < _BMP and table[ord(v)] != v),
        dirty=re.compile(
            "[" + "".join(re.escape(k) for k in sorted(changing)) + "\U00010000-\U0010ffff]"
        ),
        ascii=tuple(
            (chr(c), table[c]) for c in range(128) if table[c] not in (chr(c), chr(c).upper())
        ),
    )


_TABLES: list[_Tables] = []


def _tables() -> _Tables:
    if not _TABLES:
        _TABLES.append(_build_tables())
    return _TABLES[0]


def _safe_lower(text: str) -> str:
    """``text.lower()`` but never changing the length (offsets must survive)."""
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


def fold(text: str) -> str:
    """Fold ``text`` for matching. ``len(fold(t)) == len(t)`` always holds."""
    tables = _TABLES[0] if _TABLES else _tables()
    if text.isascii():  # a constant-time check; English text skips the regex scans
        low = text.lower()
        for old, new in tables.ascii:
            if old in low:
                low = low.replace(old, new)
        return low
    if tables.dirty.search(text) is None:
        return text
    low = _safe_lower(text)
    if tables.any.search(low) is None:
        return low
    for old, new in tables.cheap:
        if old in low:
            low = low.replace(old, new)
    # ``translate`` visits every character, even the ones it keeps; when only a few distinct
    # characters need mapping (a traditional-Chinese headline has 10-30), replace those.
    found = set(tables.each.findall(low))
    if not found:
        return low
    if any("\ud800" <= ch <= "\udfff" for ch in found):  # translate only if it would anyway
        return low.translate(tables.table) if tables.heavy.search(low) else low
    if len(found) > _MAX_REPLACE or not found.isdisjoint(tables.unstable):
        return low.translate(tables.table)
    table = tables.table
    for ch in found:
        low = low.replace(ch, table[ord(ch)])
    return low


def fold_term(term: str) -> str:
    """Fold a lexicon term: like ``fold`` plus trimmed and with inner spaces collapsed."""
    return " ".join(fold(term).split())
