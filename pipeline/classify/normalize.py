"""Text folding for matching Chinese (in any script) and English headlines.

``prepare(text)`` gives the text the matcher scans and the way back to the original's offsets:

1. traditional to simplified Chinese, phrase by phrase (``script.simplify``, zhconv-rs), only
   when the text holds a character that converts; a phrase may change length, so the result
   carries an ``Alignment`` for those texts (None for all others);
2. ``fold``: a length-preserving mapping of every character to exactly one character:

   * case folding (``str.lower``; the rare characters whose lower case is longer are kept),
   * NFKC for every character whose NFKC form is a single letter, digit, space or one of
     ``%+.&/'`` (full-width ``ＡＢＣ１２３％`` and the ideographic space become ASCII;
     compatibility forms whose NFKC is several characters, such as ``…``, are left alone),
   * whitespace (tab, newline, no-break and ideographic spaces) to a plain space, and hyphens and
     dashes to a space so that ``buy-now pay-later`` matches ``buy now pay later``.

Every item is folded, so this avoids work most text does not need: one compiled character class
(a bitmap in ``re``) finds whether anything needs converting or mapping at all, and plain
simplified Chinese pays that one scan; ``str.translate`` walks every character, so it only runs
when several distinct characters need mapping.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from typing import NamedTuple

from pipeline.classify import script

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
    # Characters whose folded form folds again (none today; kept exact should NFKC chain);
    # with none of them, replacing one character at a time equals ``translate``.
    unstable: frozenset[str]
    # The ASCII characters that fold to something other than their lower case (tab, newline,
    # hyphen ...): ASCII text needs only ``lower`` and these replacements.
    ascii: tuple[tuple[str, str], ...]
    # The characters the script conversion changes (``script.char_table``), folded: text with
    # none of them needs no conversion.
    hant: re.Pattern[str]
    # ``dirty`` or ``hant``: text with neither is matched as it is (one scan decides).
    suspect: re.Pattern[str]


def _build_tables() -> _Tables:
    mapping: dict[str, str] = {}
    for cp in range(_BMP):
        if 0xD800 <= cp < 0xE000:
            continue
        single = _nfkc_single(chr(cp))
        if single is not None:
            mapping[chr(cp)] = single
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
    hant = sorted(script.char_table())
    logger.debug("normalize: %d characters fold, %d convert", len(mapping), len(hant))
    hant_class = "".join(re.escape(k) for k in hant)
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
        hant=re.compile("[" + hant_class + "]"),
        suspect=re.compile(
            "["
            + "".join(re.escape(k) for k in sorted(changing))
            + hant_class
            + "\U00010000-\U0010ffff]"
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


class Prepared(NamedTuple):
    """A text as the matcher scans it, and the way back to the original's offsets (a named
    tuple: one is made for every item, and a tuple is the cheapest to make)."""

    text: str
    alignment: script.Alignment | None = None  # None: offsets are the same in both

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The span of the original text that ``text[start:end]`` came from."""
        if self.alignment is None:
            return start, end
        return self.alignment.span(start, end)


def prepare(text: str) -> Prepared:
    """Fold ``text`` and convert it to simplified Chinese (see the module's docstring)."""
    tables = _TABLES[0] if _TABLES else _tables()
    if text.isascii():
        return Prepared(fold(text))
    if tables.suspect.search(text) is None:
        return Prepared(text)  # simplified Chinese with nothing to fold: the common case
    folded = fold(text)
    if tables.hant.search(folded) is None:
        return Prepared(folded)
    converted, alignment = script.simplify(folded)
    return Prepared(converted, alignment)


def fold_term(term: str) -> str:
    """Prepare a lexicon term: trimmed, inner spaces collapsed, in simplified Chinese."""
    return " ".join(prepare(term).text.split())
