"""What story clustering compares: an item's fingerprint, and whether two tell one story.

Two items belong to the same story when

* they share a document number (``银发〔2024〕12号`` = ``银发[2024]12号``), or
* their normalised titles are near-identical (character-bigram Jaccard), or
* the SimHash fingerprints of their title + opening text (normalised character 3-grams, the
  title weighted up) are within a small Hamming distance,

unless both carry document numbers and none is shared: two notices of one regulator with
near-identical titles and different numbers are two stories.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from pipeline.classify.docnum import normalize_doc_number
from pipeline.store import StoredItem

SIMHASH_BITS = 64
SIMHASH_MAX_DISTANCE = 8
TITLE_JACCARD_MIN = 0.72
TITLE_WEIGHT = 3  # a title 3-gram weighs as much as three of the opening text
LEAD_CHARS = 300

# reprint decorations that say nothing about the story
_DECOR = re.compile(
    r"^(?:【[^】]{0,8}】|\[[^\]]{0,8}\]|(?:转载|转发|重磅|快讯|独家|最新|突发|刚刚)[:：]?)+"
)
_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)


def normalize(text: str) -> str:
    """NFKC, lower case, no decorations, punctuation or white space."""
    text = unicodedata.normalize("NFKC", text).strip()
    text = _DECOR.sub("", text)
    return _NOT_WORD.sub("", text.lower())


def doc_key(number: str) -> str:
    """One key for every spelling of a document number (``银发[2024]12号`` = ``银发〔2024〕12号``).

    Verdicts store numbers normalised already; this also covers verdicts of older rules and a
    string that is not a well-formed number (kept as written).
    """
    return normalize_doc_number(number) or number


def ngrams(text: str, n: int) -> list[str]:
    if len(text) <= n:
        return [text] if text else []
    return [text[i : i + n] for i in range(len(text) - n + 1)]


def _hash64(token: str) -> int:
    return int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest(), "big")


# SimHash keeps one counter per bit. Here the 64 counters are lanes of one big integer: a
# token's bits are spread into lanes (lane k = bit k) and added with one big-integer addition,
# instead of 64 additions in Python. Lanes of 16 bits hold any item whose weights sum to less
# than 2**16 (a title under some 20,000 characters); larger ones take 32-bit lanes.
_SMALL_LANE = 16
_LARGE_LANE = 32


def _byte_lanes(lane: int) -> tuple[bytes, ...]:
    """For each byte value, its eight bits as eight little-endian lanes of ``lane`` bits."""
    width = lane // 8
    return tuple(
        b"".join(((v >> k) & 1).to_bytes(width, "little") for k in range(8)) for v in range(256)
    )


_SPREAD = {lane: _byte_lanes(lane) for lane in (_SMALL_LANE, _LARGE_LANE)}


def _spread(h: int, lane: int) -> int:
    """The bits of ``h`` as 64 lanes of ``lane`` bits (lane k = bit k)."""
    table = _SPREAD[lane]
    return int.from_bytes(b"".join(map(table.__getitem__, h.to_bytes(8, "little"))), "little")


# Boilerplate trigrams recur in every item: their lanes are remembered (16,384 tokens of 128
# bytes, about 5 MB at most; the daemon keeps this for its lifetime).
@functools.lru_cache(maxsize=1 << 14)
def _token_lanes(token: str) -> int:
    return _spread(_hash64(token), _SMALL_LANE)


_REPUNIT = sum(1 << (_SMALL_LANE * k) for k in range(SIMHASH_BITS))
_TOP = _REPUNIT << (_SMALL_LANE - 1)
_TOP_TO_DIGIT = bytes.maketrans(b"\x00\x80", b"01")


def _bits(lanes: int, total: int, lane: int) -> int:
    """Bit k set when lane k holds more than half of ``total``."""
    half = total // 2  # 2 * count > total  <=>  count > total // 2
    if lane == _SMALL_LANE and total < 1 << (_SMALL_LANE - 1):
        # add (2**15 - 1 - half) to every lane: the top bit of a lane is set exactly when its
        # count exceeds half, and no lane carries into the next
        tops = (lanes + ((1 << (_SMALL_LANE - 1)) - 1 - half) * _REPUNIT) & _TOP
        high_bytes = tops.to_bytes(SIMHASH_BITS * 2, "little")[1::2]
        return int(high_bytes[::-1].translate(_TOP_TO_DIGIT), 2)
    raw = lanes.to_bytes(SIMHASH_BITS * lane // 8, "little")
    width = lane // 8
    out = 0
    for bit in range(SIMHASH_BITS):
        if int.from_bytes(raw[bit * width : (bit + 1) * width], "little") > half:
            out |= 1 << bit
    return out


def simhash(weighted: Sequence[tuple[str, int]]) -> int:
    """64-bit SimHash of weighted features: bit k is set when the features with bit k set
    weigh more than those without (the weights must sum to less than 2**32)."""
    total = sum(weight for _, weight in weighted)
    if total < 1 << _SMALL_LANE:
        lanes = sum(weight * _token_lanes(token) for token, weight in weighted)
        return _bits(lanes, total, _SMALL_LANE)
    lanes = sum(weight * _spread(_hash64(token), _LARGE_LANE) for token, weight in weighted)
    return _bits(lanes, total, _LARGE_LANE)


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def jaccard(a: AbstractSet[str], b: AbstractSet[str]) -> float:
    if not a or not b:
        return 0.0
    shared = len(a & b)
    return shared / (len(a) + len(b) - shared)  # the union's size, without building it


@dataclass(frozen=True, slots=True)
class Fingerprint:
    title_grams: frozenset[str]
    simhash: int
    doc_numbers: frozenset[str]
    has_text: bool


def features(item: StoredItem) -> list[tuple[str, int]]:
    """The weighted features of an item's SimHash: title 3-grams, then lead 3-grams."""
    title = normalize(item.title)
    lead = normalize((item.summary or item.body)[:LEAD_CHARS])
    return [(g, TITLE_WEIGHT) for g in ngrams(title, 3)] + [(g, 1) for g in ngrams(lead, 3)]


def fingerprint(item: StoredItem) -> Fingerprint:
    return fingerprints([item])[0]


@dataclass(frozen=True, slots=True)
class _Text:
    """One text's part of a fingerprint: its normalised length, and its 3-grams (how many, and
    their lanes summed)."""

    length: int
    grams: int
    lanes: int

    @staticmethod
    def of(text: str) -> _Text:
        grams = ngrams(text, 3)
        return _Text(len(text), len(grams), sum(map(_token_lanes, grams)))


_MEMO = 4096  # texts remembered within one batch: a flood of one template repeats them


def fingerprints(items: Sequence[StoredItem]) -> list[Fingerprint]:
    """The fingerprints of ``items``; a title or lead that recurs (reprints, a flood of one
    template) is normalised and summed once."""
    texts: dict[str, _Text] = {}
    bigrams: dict[str, frozenset[str]] = {}
    out = []
    for item in items:
        lead_raw = (item.summary or item.body)[:LEAD_CHARS]
        if len(texts) > _MEMO:
            texts.clear()
            bigrams.clear()
        title, lead, grams = texts.get(item.title), texts.get(lead_raw), bigrams.get(item.title)
        if title is None or grams is None:
            text = normalize(item.title)
            title = texts[item.title] = _Text.of(text)
            grams = bigrams[item.title] = frozenset(ngrams(text, 2))
        if lead is None:
            lead = texts[lead_raw] = _Text.of(normalize(lead_raw))
        total = TITLE_WEIGHT * title.grams + lead.grams
        if total < 1 << _SMALL_LANE:
            value = _bits(TITLE_WEIGHT * title.lanes + lead.lanes, total, _SMALL_LANE)
        else:  # a giant title: counters of 32 bits (rare; the lanes summed above overflowed)
            value = simhash(features(item))
        docs = item.verdict.doc_numbers if item.verdict else ()
        out.append(
            Fingerprint(
                title_grams=grams,
                simhash=value,
                doc_numbers=frozenset(doc_key(d) for d in docs),
                has_text=title.length + lead.length >= 12,
            )
        )
    return out


def same_story(a: Fingerprint, b: Fingerprint) -> bool:
    if a.doc_numbers and b.doc_numbers:
        return bool(a.doc_numbers & b.doc_numbers)
    if jaccard(a.title_grams, b.title_grams) >= TITLE_JACCARD_MIN:
        return True
    return a.has_text and b.has_text and hamming(a.simhash, b.simhash) <= SIMHASH_MAX_DISTANCE
