"""The keys of the title index, for every title at once (numpy): what ``blocking`` joins on.

Two titles are one story when the Jaccard similarity of their bigram sets is at least
t = ``TITLE_JACCARD_MIN``. In one global order of the bigrams (rarest first, ties by the
bigram), two such titles share their rarest shared bigram within the first
``n - ceil(t n) + 1`` bigrams of each (the *probe* prefix; prefix filtering), and within the
shorter ``n - ceil(2t/(1+t) n) + 1`` of the smaller one (the *index* prefix: enough against the
titles as large or larger).

A rare bigram (in at most ``common`` titles) is a key by itself. A common one is a key only
paired with each later bigram of the prefix one longer: two t-similar titles share the two
rarest of their shared bigrams within prefixes one longer, so the pair is listed by both, and
pairs of common bigrams are far rarer than either. Both titles judge a bigram alike (rarity is
global), so they always meet on the same key.

Each key entry carries the position of its first bigram in the title (``position``): when two
titles meet on a key of their rarest shared bigram, nothing before it is shared, which bounds
their overlap. A title's *sketch* is its bigrams as bits (rank mod ``SKETCH_BITS``): a bit set
in one sketch and not the other stands for at least one bigram in one title only, and distinct
bits for distinct bigrams, so the popcount of two sketches' XOR never exceeds the size of the
titles' symmetric difference: a pair it puts beyond the bound is dismissed without
intersecting the sets.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline.digest.fingerprint import TITLE_JACCARD_MIN, Fingerprint

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

SKETCH_BITS = 256
_WORDS = SKETCH_BITS // 64
_CODE_BITS = 21


def min_shared(n: int, ratio: float) -> int:
    """ceil(ratio * n), a hair low rather than high (float rounding): a longer prefix is safe."""
    return max(1, math.ceil(ratio * n - 1e-9))


def probe_length(n: int) -> int:
    """Bigrams of an n-bigram title that hold its rarest bigram shared with any t-similar
    title; one more holds the two rarest."""
    return n - min_shared(n, TITLE_JACCARD_MIN) + 1


def index_length(n: int) -> int:
    """The same against titles at least as large (the ones that probe later)."""
    t = TITLE_JACCARD_MIN
    return n - min_shared(n, 2 * t / (1 + t)) + 1


def shared_needed(largest: int) -> list[int]:
    """For every total size a + b up to ``2 * largest``: the bigrams two titles of that total
    must share to be t-similar (Jaccard >= t <=> shared >= t / (1 + t) x (a + b))."""
    ratio = TITLE_JACCARD_MIN / (1 + TITLE_JACCARD_MIN)
    return [min_shared(total, ratio) for total in range(2 * largest + 1)]


@dataclass(frozen=True, slots=True)
class KeyTable:
    """Every key entry of every title (its probe keys; ``indexed`` marks its index keys), in
    no particular order. A key is an integer: a rare bigram's rank, or ``R + first * R +
    second`` for a pair of ranks (R bigrams in all); ``position`` and ``second`` are the
    positions of its bigrams in the title (``second`` -1 for a single bigram): a title's keys
    sorted by the two are in the global order."""

    item: NDArray[np.int64]
    key: NDArray[np.int64]
    position: NDArray[np.int64]
    second: NDArray[np.int64]
    indexed: NDArray[np.bool_]
    sizes: NDArray[np.int64]  # per title: its number of bigrams
    sketches: NDArray[np.uint64]  # per title: SKETCH_BITS bits, as _WORDS words


def _codes(prints: Sequence[Fingerprint]) -> NDArray[np.int64]:
    """Each bigram of each title (in the frozenset's order) as one integer: its code points."""
    import numpy as np

    text: list[str] = []
    for fp in prints:
        joined = "".join(fp.title_grams)
        if len(joined) != 2 * len(fp.title_grams):  # a title of one character (or no bigrams)
            joined = "".join(_two(gram) for gram in fp.title_grams)
        text.append(joined)
    pairs = np.frombuffer("".join(text).encode("utf-32-le"), dtype="<u4").astype(np.int64)
    pairs = pairs.reshape(-1, 2)
    return (pairs[:, 0] << _CODE_BITS) | pairs[:, 1]


def _two(gram: str) -> str:
    if len(gram) == 2:
        return gram
    if len(gram) == 1:
        return gram + "\x00"
    raise ValueError(f"a title bigram has one or two characters, not {gram!r}")


def key_table(prints: Sequence[Fingerprint], common: int) -> KeyTable:
    import numpy as np

    count = len(prints)
    sizes = np.fromiter((len(fp.title_grams) for fp in prints), dtype=np.int64, count=count)
    distinct, inverse, frequency = np.unique(
        _codes(prints), return_inverse=True, return_counts=True
    )
    ranked = np.lexsort((distinct, frequency))  # rarest first, ties by the bigram
    total = np.int64(len(distinct))
    rank_of = np.empty(len(distinct), dtype=np.int64)
    rank_of[ranked] = np.arange(len(distinct), dtype=np.int64)
    del distinct, ranked
    owner = np.repeat(np.arange(count, dtype=np.int64), sizes)
    rank = rank_of[inverse.ravel()]
    common_of = frequency > common
    is_common = common_of[inverse.ravel()]
    del rank_of, frequency, common_of, inverse
    order = np.argsort(owner * total + rank)  # title by title, rarest first
    rank, owner, is_common = rank[order], owner[order], is_common[order]
    del order

    sketches = np.zeros((count, _WORDS), dtype=np.uint64)
    bit = rank % SKETCH_BITS
    np.bitwise_or.at(sketches, (owner, bit >> 6), np.uint64(1) << (bit & 63).astype(np.uint64))
    del bit

    lengths = range(int(sizes.max(initial=0)) + 1)  # each title's prefixes, by its size
    probe_of = np.array([probe_length(n) for n in lengths], dtype=np.int64)[sizes]
    index_of = np.array([index_length(n) for n in lengths], dtype=np.int64)[sizes]
    position = np.arange(len(rank), dtype=np.int64) - (np.cumsum(sizes) - sizes)[owner]
    keep = position <= probe_of[owner]  # the prefix one longer: all that makes a key
    rank, owner, is_common, position = rank[keep], owner[keep], is_common[keep], position[keep]
    del keep
    n, probe = sizes[owner], probe_of[owner]

    # a rare bigram within the prefix is a key by itself (so is the one bigram of a title)
    single = ((~is_common) & (position < probe)) | (n == 1)
    # a common one pairs with each later bigram of the prefix one longer
    later = np.where(is_common & (n >= 2), np.minimum(probe + 1, n) - 1 - position, 0)
    later = np.maximum(later, 0)
    del n, probe, is_common
    first = np.repeat(np.arange(len(rank), dtype=np.int64), later)
    second = first + 1 + np.arange(len(first)) - np.repeat(np.cumsum(later) - later, later)
    del later
    return KeyTable(
        item=np.concatenate((owner[single], owner[first])),
        key=np.concatenate((rank[single], total + rank[first] * total + rank[second])),
        position=np.concatenate((position[single], position[first])),
        second=np.concatenate((np.full(int(single.sum()), -1, dtype=np.int64), position[second])),
        indexed=np.concatenate(
            (position[single] < index_of[owner[single]], position[second] <= index_of[owner[first]])
        ),
        sizes=sizes,
        sketches=sketches,
    )


def sketch_distance(
    sketches: NDArray[np.uint64], a: NDArray[np.int64], b: NDArray[np.int64]
) -> NDArray[np.int64]:
    """Popcount of the XOR of the sketches of titles ``a`` and ``b``, pair by pair."""
    import numpy as np

    out = np.zeros(len(a), dtype=np.int64)
    for word in range(sketches.shape[1]):
        out += np.bitwise_count(sketches[a, word] ^ sketches[b, word])
    return out
