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

import re
import unicodedata
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline.classify.docnum import normalize_doc_number
from pipeline.store import StoredItem

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

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


# -- the feature hash ---------------------------------------------------------------------------
#
# A feature is a 3-gram (or a whole text shorter than three characters): its key is its code
# points, 21 bits each, in one integer under 2**63 (a missing code point is ``_NONE``, above
# every character), and its hash the splitmix64 finaliser of the key: one bijective mix that
# numpy computes for a whole batch of 3-grams at once, with no string made per 3-gram.

_CODE_BITS = 21
_NONE = (1 << _CODE_BITS) - 1  # above every code point (0x10FFFF)
_MASK64 = (1 << 64) - 1
_GOLDEN, _MIX1, _MIX2 = 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB


def _key(token: str) -> int:
    if not 0 < len(token) <= 3:
        raise ValueError(f"a SimHash feature has one to three characters, not {len(token)}")
    codes = [ord(c) for c in token] + [_NONE] * (3 - len(token))
    return (codes[0] << (2 * _CODE_BITS)) | (codes[1] << _CODE_BITS) | codes[2]


def _hash64(token: str) -> int:
    """The 64-bit hash of a feature (what ``_mix`` computes for many at once)."""
    z = (_key(token) + _GOLDEN) & _MASK64
    z = ((z ^ (z >> 30)) * _MIX1) & _MASK64
    z = ((z ^ (z >> 27)) * _MIX2) & _MASK64
    return z ^ (z >> 31)


def _mix(keys: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """``_hash64`` of many feature keys (uint64 arithmetic wraps, as the masks above do)."""
    import numpy as np

    z = keys + np.uint64(_GOLDEN)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(_MIX1)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(_MIX2)
    return z ^ (z >> np.uint64(31))


def _pack(over: NDArray[np.bool_]) -> list[int]:
    """Rows of 64 booleans (column k = bit k) -> the integers with those bits."""
    import numpy as np

    packed = np.packbits(over, axis=1, bitorder="little")
    return [int(v) for v in packed.view("<u8").ravel()]


def simhash(weighted: Sequence[tuple[str, int]]) -> int:
    """64-bit SimHash of weighted features: bit k is set when the features with bit k set
    weigh more than those without."""
    import numpy as np

    if not weighted:
        return 0
    weights = np.array([weight for _, weight in weighted], dtype=np.int64)
    hashes = np.array([_hash64(token) for token, _ in weighted], dtype=np.uint64).reshape(-1, 1)
    bits = (hashes >> np.arange(SIMHASH_BITS, dtype=np.uint64)) & np.uint64(1)
    counts = weights @ bits.astype(np.int64)
    return _pack((counts > int(weights.sum()) // 2).reshape(1, -1))[0]


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


# -- many items at once ------------------------------------------------------------------------
#
# The 64 counters of a text are 64 lanes of 16 bits, four to a uint64 word: a 3-gram's hash
# becomes 16 words (one table look-up per 4 bits) and a text's counters one segmented sum of its
# 3-grams' words, exact for any text of fewer than 2**16 3-grams (a longer one is recounted).

_BUDGET = 1 << 17  # 3-grams counted at once (memory: some 200 bytes each)
_CHUNK = 4096  # items fingerprinted at once
_NIBBLE_LANES = tuple(sum(((v >> k) & 1) << (16 * k) for k in range(4)) for v in range(16))


def _gram_counts(texts: Sequence[str]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """For each text: its number of 3-grams (``ngrams(text, 3)``), and for each bit k how many
    of them have bit k of their hash set."""
    import numpy as np

    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    grams = np.where(lengths >= 3, lengths - 2, np.minimum(lengths, 1))
    counts = np.zeros((len(texts), SIMHASH_BITS), dtype=np.int64)
    ends = np.cumsum(grams)
    start = 0
    while start < len(texts):  # slices of about _BUDGET 3-grams (a giant text alone)
        before = int(ends[start] - grams[start])
        stop = max(int(np.searchsorted(ends, before + _BUDGET, side="right")), start + 1)
        _count(texts[start:stop], lengths[start:stop], grams[start:stop], counts[start:stop])
        start = stop
    return grams, counts


def _count(
    texts: Sequence[str],
    lengths: NDArray[np.int64],
    grams: NDArray[np.int64],
    counts: NDArray[np.int64],
) -> None:
    import numpy as np

    total = int(grams.sum())
    if not total:
        return
    codes = np.frombuffer("".join(texts).encode("utf-32-le"), dtype="<u4").astype(np.uint64)
    codes = np.concatenate((codes, np.full(2, _NONE, dtype=np.uint64)))
    starts = np.cumsum(lengths) - lengths
    firsts = np.cumsum(grams) - grams  # each text's first 3-gram in the slice
    at = np.repeat(starts - firsts, grams) + np.arange(total)
    size = np.repeat(lengths, grams)
    second = np.where(size >= 2, codes[at + 1], np.uint64(_NONE))
    third = np.where(size >= 3, codes[at + 2], np.uint64(_NONE))
    shift = np.uint64(_CODE_BITS)
    keys: NDArray[np.uint64] = np.bitwise_or(codes[at] << (shift + shift), second << shift)
    hashes = _mix(np.bitwise_or(keys, third))
    table = np.array(_NIBBLE_LANES, dtype=np.uint64)
    words = np.empty((SIMHASH_BITS // 4, total), dtype=np.uint64)
    for j in range(SIMHASH_BITS // 4):
        words[j] = table[(hashes >> np.uint64(4 * j)) & np.uint64(15)]
    some = grams > 0
    sums = np.add.reduceat(words, firsts[some], axis=1)
    counts[some] = np.ascontiguousarray(sums.T).view("<u2")
    for k in np.flatnonzero(grams >= 1 << 16):  # a giant text overflowed its lanes: recount
        mine = hashes[firsts[k] : firsts[k] + grams[k]].reshape(-1, 1)
        bits = (mine >> np.arange(SIMHASH_BITS, dtype=np.uint64)) & np.uint64(1)
        counts[k] = bits.sum(axis=0, dtype=np.int64)


def fingerprints(items: Sequence[StoredItem]) -> list[Fingerprint]:
    """The fingerprints of ``items``, computed in batches; a title or lead that recurs
    (reprints, a flood of one template) is normalised and counted once per batch, and each
    distinct bigram is one string shared by every title that has it (100,000 titles hold some
    2.5 million bigrams, a tenth of them distinct)."""
    shared: dict[str, str] = {}
    normal: dict[str, str] = {}
    bigrams: dict[str, frozenset[str]] = {}
    out: list[Fingerprint] = []
    for at in range(0, len(items), _CHUNK):
        out.extend(_batch(items[at : at + _CHUNK], normal, bigrams, shared))
        if len(normal) > _CHUNK * 4:
            normal.clear()
            bigrams.clear()
    return out


def _batch(
    items: Sequence[StoredItem],
    normal: dict[str, str],
    bigrams: dict[str, frozenset[str]],
    shared: dict[str, str],
) -> list[Fingerprint]:
    import numpy as np

    def norm(raw: str) -> str:
        text = normal.get(raw)
        if text is None:
            text = normal[raw] = normalize(raw)
        return text

    position: dict[str, int] = {}
    titles, leads = [], []
    for item in items:
        title = norm(item.title)
        lead = norm((item.summary or item.body)[:LEAD_CHARS])
        titles.append(position.setdefault(title, len(position)))
        leads.append(position.setdefault(lead, len(position)))
    texts = list(position)
    grams, counts = _gram_counts(texts)
    t, lead_at = np.array(titles, dtype=np.int64), np.array(leads, dtype=np.int64)
    total = TITLE_WEIGHT * grams[t] + grams[lead_at]
    weighed = TITLE_WEIGHT * counts[t] + counts[lead_at]
    values = _pack(weighed > (total // 2).reshape(-1, 1))
    sizes = [len(text) for text in texts]
    out = []
    for k, item in enumerate(items):
        title = texts[titles[k]]
        shingles = bigrams.get(title)
        if shingles is None:
            pairs = ngrams(title, 2)
            shingles = bigrams[title] = frozenset(map(shared.setdefault, pairs, pairs))
        docs = item.verdict.doc_numbers if item.verdict else ()
        out.append(
            Fingerprint(
                title_grams=shingles,
                simhash=values[k],
                doc_numbers=frozenset(doc_key(d) for d in docs),
                has_text=sizes[titles[k]] + sizes[leads[k]] >= 12,
            )
        )
    return out


def same_story(a: Fingerprint, b: Fingerprint) -> bool:
    if a.doc_numbers and b.doc_numbers:
        return bool(a.doc_numbers & b.doc_numbers)
    if jaccard(a.title_grams, b.title_grams) >= TITLE_JACCARD_MIN:
        return True
    return a.has_text and b.has_text and hamming(a.simhash, b.simhash) <= SIMHASH_MAX_DISTANCE
