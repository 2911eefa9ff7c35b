"""Traditional to simplified Chinese, phrase by phrase, with offsets back into the original.

Headlines from Hong Kong and Taiwan (and mainland news reprinted in traditional script) are
converted to mainland simplified Chinese before matching, so one lexicon written in simplified
Chinese serves every script. The conversion is zhconv-rs (MediaWiki's conversion tables, the ones
Chinese Wikipedia maintains, compiled to one automaton in Rust) with target ``zh-cn``: phrase by
phrase, longest match first, including regional vocabulary (``網路`` -> ``网络``, ``軟體`` ->
``软件``, ``網際網路`` -> ``互联网``, ``帳戶`` -> ``账户``), not a character table.

Some phrases change length (``網際網路``, four characters, becomes ``互联网``, three), so an offset
in the converted text is not an offset in the original. ``simplify`` returns an ``Alignment``
that maps every span of the converted text back to the original: the matcher reports, and the
digest highlights, the characters the reader sees.

The package is imported on first use (about 1 ms; its automaton is built on its first call,
about 10 ms), never at import time of this module: commands that classify nothing never load it.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal

TARGET: Final[Literal["zh-cn"]] = "zh-cn"
# The characters whose conversion is worked out once: CJK symbols and punctuation up to the end
# of the unified ideographs (extension A included), compatibility ideographs, and the vertical,
# small and full-width forms. Traditional characters outside the BMP are rare in headlines.
_RANGES = ((0x3000, 0xA000), (0xF900, 0xFB00), (0xFE10, 0xFF70))
_SURROGATES = re.compile("[\ud800-\udfff]")


@functools.cache
def converter() -> Callable[[str], str]:
    """The phrase-level converter (imports zhconv-rs on the first call)."""
    import zhconv_rs

    def convert(text: str) -> str:
        return zhconv_rs.zhconv(text, TARGET)

    return convert


@functools.cache
def char_table() -> dict[str, str]:
    """Every single character the conversion changes on its own, and what it becomes.

    Worked out from the converter itself (each candidate character on a line of its own, one
    call), so that it is always the package's own mapping: it tells which text needs converting
    at all, and it is the character-by-character reading the alignment is computed against."""
    chars = [chr(cp) for lo, hi in _RANGES for cp in range(lo, hi)]
    converted = converter()("\n".join(chars)).split("\n")
    if len(converted) != len(chars):  # a phrase crossed a newline: never seen, but be exact
        converted = [converter()(ch) for ch in chars]
    return {a: b for a, b in zip(chars, converted, strict=True) if a != b and len(b) == 1}


@dataclass(frozen=True, slots=True)
class Alignment:
    """Maps spans of the converted text to spans of the original.

    ``starts[j]`` is where a span starting at converted offset ``j`` starts in the original,
    ``ends[j]`` where a span ending at converted offset ``j`` ends. A span that starts or ends
    inside a phrase whose length changed is widened to the whole phrase."""

    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def span(self, start: int, end: int) -> tuple[int, int]:
        return self.starts[start], max(self.ends[end], self.starts[start] + (end > start))


def simplify(text: str) -> tuple[str, Alignment | None]:
    """``text`` in simplified Chinese, and the alignment back to ``text`` (None when every
    offset is the same in both, the usual case: most conversions keep the length)."""
    # the converter takes valid UTF-8 only: lone surrogates become U+FFFD (the length is kept)
    text_in = _SURROGATES.sub("\ufffd", text) if _SURROGATES.search(text) else text
    converted = converter()(text_in)
    if converted == text_in:
        return converted, None
    by_char = text_in.translate(_translate_table())  # the same text, character by character
    if len(converted) == len(text) and converted == by_char:
        return converted, None
    return converted, _align(text_in, by_char, converted)


@functools.cache
def _translate_table() -> dict[int, str]:
    return {ord(k): v for k, v in char_table().items()}


# A run of ideographs, or any one other character (punctuation, Latin letters, digits, spaces).
_RUN = re.compile("[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0010ffff]+|.", re.DOTALL)


def _align(original: str, by_char: str, converted: str) -> Alignment | None:
    """The alignment of ``converted`` to ``original`` (``by_char`` is ``original`` converted
    character by character: same offsets, and the same characters wherever no phrase applied).

    Converted phrases are made of ideographs, and everything else comes out as it went in, so
    ``by_char`` and ``converted`` split into the same sequence of runs (``_RUN``). A run that
    keeps its length and differs in at most two characters (``網路`` -> ``网络``: the usual
    case) maps character by character; any other is cut where the converter itself cuts it
    (``_pieces``), and each piece maps character by character or, if its length changed, as a
    whole. (Two phrases in one run can change length in opposite directions, ``智慧型手機`` ->
    ``智能手机`` and ``太空梭`` -> ``航天飞机``, so an unchanged length alone proves nothing; but
    the characters between two such phrases are shifted, so they differ in more than two.)"""
    n, m = len(by_char), len(converted)
    starts = list(range(m + 1))
    ends = list(range(m + 1))
    starts[m] = ends[m] = n
    ours = [r.span() for r in _RUN.finditer(by_char)]
    theirs = [r.span() for r in _RUN.finditer(converted)]
    if len(ours) != len(theirs) or any(
        (b - a == 1 or d - c == 1) and by_char[a:b] != converted[c:d]
        for (a, b), (c, d) in zip(ours, theirs, strict=True)
    ):  # never seen: map the whole text as one changed stretch
        ours, theirs = [(0, n)], [(0, m)]
    same = n == m
    for (a, b), (c, d) in zip(ours, theirs, strict=True):
        if b - a == d - c and (
            by_char[a:b] == converted[c:d] or _few_differences(by_char, a, b, converted, c)
        ):
            pieces = [(a, b, c, d)]
        else:
            pieces = _pieces(original, a, b, converted, c, d)
        for a1, b1, c1, d1 in pieces:
            if b1 - a1 == d1 - c1:
                for k in range(d1 - c1):
                    starts[c1 + k] = a1 + k
                    ends[c1 + k + 1] = a1 + k + 1
                same = same and a1 == c1
                continue
            same = False
            for j in range(c1, d1):
                starts[j] = a1
                ends[j + 1] = b1
            if d1 == c1:  # became nothing: the span ending here takes it in
                ends[c1] = b1
    if same:
        return None
    return Alignment(tuple(starts), tuple(ends))


def _few_differences(by_char: str, a: int, b: int, converted: str, c: int) -> bool:
    """At most two characters of ``by_char[a:b]`` differ from ``converted`` at ``c``."""
    differ = 0
    for k in range(b - a):
        if by_char[a + k] != converted[c + k]:
            differ += 1
            if differ > 2:
                return False
    return True


_MAX_RUN = 200  # a longer run that changed length (never seen in a headline) maps as a whole


def _pieces(
    original: str, a: int, b: int, converted: str, c: int, d: int
) -> list[tuple[int, int, int, int]]:
    """``original[a:b]`` (converted: ``converted[c:d]``) cut where the conversion of the parts
    equals the conversion of the whole, i.e. between phrases, as (a, b, c, d) per piece."""
    convert = converter()
    target = converted[c:d]
    cuts = [(a, c)]
    if b - a <= _MAX_RUN:
        for k in range(a + 1, b):
            head = convert(original[a:k])
            if target.startswith(head) and convert(original[k:b]) == target[len(head) :]:
                cuts.append((k, c + len(head)))
    cuts.append((b, d))
    return [(i1, i2, j1, j2) for (i1, j1), (i2, j2) in itertools.pairwise(cuts)]
