"""One story, one entry: group near-duplicate items (reprints of one announcement).

Two items belong to the same story when

* they share a document number (``银发〔2024〕12号`` = ``银发[2024]12号``), or
* their normalised titles are near-identical (character-bigram Jaccard), or
* the SimHash fingerprints of their title + opening text (normalised character 3-grams, the
  title weighted up) are within a small Hamming distance,

unless both carry document numbers and none is shared: two notices of one regulator with
near-identical titles and different numbers are two stories. Groups are closed transitively
(union-find); the story leads with its most authoritative item (regulator > association >
media), then the earliest published.

Not every pair is compared: the alert planner clusters two weeks of alerted items every cycle,
and a source that floods (thousands of items) would make that millions of comparisons a cycle,
growing with the square of the items. ``candidate_pairs`` lists only the pairs that can pass, with
filters that cannot miss one: a shared document number; a shared bigram among the rarest of
each title (prefix filtering: two sets with Jaccard >= t share a token among the first
``n - floor(t * n) + 1`` of each, in one global order); one equal band of the SimHash split in
``SIMHASH_MAX_DISTANCE + 1`` bands (pigeonhole: at most that many differing bits leave one band
intact). ``same_story`` then decides each candidate, so the groups are those of all pairs.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import math
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from itertools import pairwise

from pipeline.classify.docnum import normalize_doc_number
from pipeline.store import StoredItem

SIMHASH_BITS = 64
SIMHASH_MAX_DISTANCE = 8
TITLE_JACCARD_MIN = 0.72
AUTHORITY_RANK = {"regulator": 3, "association": 2, "media": 1}

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


# SimHash keeps one counter per bit. Here the 64 counters are lanes of 32 bits in one big
# integer: a token's bits are spread into lanes a byte at a time (_SPREAD) and added with one
# big-integer addition, instead of 64 additions in Python.
_LANE = 32
_LANE_MASK = (1 << _LANE) - 1
_SPREAD = tuple(sum(((b >> k) & 1) << (_LANE * k) for k in range(8)) for b in range(256))


def _spread(h: int) -> int:
    """The bits of ``h`` as 64 lanes of ``_LANE`` bits (lane k = bit k)."""
    out = 0
    for byte in range(SIMHASH_BITS // 8):
        out |= _SPREAD[(h >> (8 * byte)) & 0xFF] << (_LANE * 8 * byte)
    return out


# Boilerplate trigrams recur in every item: their lanes are remembered (8,192 tokens, about
# 4 MB at most; the daemon keeps this for its lifetime).
@functools.lru_cache(maxsize=1 << 13)
def _token_lanes(token: str) -> int:
    return _spread(_hash64(token))


def simhash(weighted: Sequence[tuple[str, int]]) -> int:
    """64-bit SimHash of weighted features: bit k is set when the features with bit k set
    weigh more than those without (the weights must sum to less than 2**32)."""
    lanes = 0
    total = 0
    for token, weight in weighted:
        lanes += weight * _token_lanes(token)
        total += weight
    out = 0
    for bit in range(SIMHASH_BITS):
        if 2 * ((lanes >> (_LANE * bit)) & _LANE_MASK) > total:
            out |= 1 << bit
    return out


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


def fingerprint(item: StoredItem) -> Fingerprint:
    title = normalize(item.title)
    lead = normalize((item.summary or item.body)[:300])
    features = [(g, 3) for g in ngrams(title, 3)] + [(g, 1) for g in ngrams(lead, 3)]
    docs = item.verdict.doc_numbers if item.verdict else ()
    return Fingerprint(
        title_grams=frozenset(ngrams(title, 2)),
        simhash=simhash(features),
        doc_numbers=frozenset(doc_key(d) for d in docs),
        has_text=len(title) + len(lead) >= 12,
    )


def _bands() -> tuple[tuple[int, int], ...]:
    """(shift, mask) of SIMHASH_MAX_DISTANCE + 1 bands covering the SimHash bits."""
    count = SIMHASH_MAX_DISTANCE + 1
    edges = [SIMHASH_BITS * k // count for k in range(count + 1)]
    return tuple((lo, (1 << (hi - lo)) - 1) for lo, hi in pairwise(edges))


_BANDS = _bands()


def candidate_pairs(prints: Sequence[Fingerprint], first_new: int = 0) -> Iterator[tuple[int, int]]:
    """Index pairs ``(i, j)``, ``i < j``, ``j >= first_new``, each once, by increasing ``i``:
    every such pair ``same_story`` accepts, and some it does not (see the module's docstring
    for why none is missed). Generated item by item, so memory stays linear in the items
    however many pairs."""
    buckets: dict[tuple[object, ...], list[int]] = {}
    keys_of: list[list[tuple[object, ...]]] = [[] for _ in prints]
    frequency: dict[str, int] = {}
    for fp in prints:
        for gram in fp.title_grams:
            frequency[gram] = frequency.get(gram, 0) + 1
    for i, fp in enumerate(prints):
        keys = keys_of[i]
        keys.extend(("doc", number) for number in fp.doc_numbers)
        if fp.title_grams:
            grams = sorted(fp.title_grams, key=lambda g: (frequency[g], g))
            n = len(grams)
            keys.extend(("gram", g) for g in grams[: n - math.floor(TITLE_JACCARD_MIN * n) + 1])
        if fp.has_text:
            keys.extend(
                ("band", band, (fp.simhash >> shift) & mask)
                for band, (shift, mask) in enumerate(_BANDS)
            )
        for key in keys:
            buckets.setdefault(key, []).append(i)  # in index order
    for i, keys in enumerate(keys_of):
        later: set[int] = set()
        after = max(i, first_new - 1)
        for key in keys:
            members = buckets[key]
            if len(members) > 1:
                later.update(members[bisect.bisect_right(members, after) :])
        for j in sorted(later):
            yield i, j


def same_story(a: Fingerprint, b: Fingerprint) -> bool:
    if a.doc_numbers and b.doc_numbers:
        return bool(a.doc_numbers & b.doc_numbers)
    if jaccard(a.title_grams, b.title_grams) >= TITLE_JACCARD_MIN:
        return True
    return a.has_text and b.has_text and hamming(a.simhash, b.simhash) <= SIMHASH_MAX_DISTANCE


@dataclass(frozen=True, slots=True)
class Story:
    """Items telling one story; ``lead`` is the most authoritative, ``others`` reprints."""

    items: tuple[StoredItem, ...]

    @property
    def lead(self) -> StoredItem:
        return self.items[0]

    @property
    def others(self) -> tuple[StoredItem, ...]:
        return self.items[1:]

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(i.id for i in self.items)


def cluster(
    items: Sequence[StoredItem], authority_of: Callable[[str], str], *, first_new: int = 0
) -> list[Story]:
    """Group items into stories, each led by its most authoritative item.

    ``authority_of(source_id)`` gives "regulator", "association" or "media". Stories come back
    in the order of their earliest item in ``items``.

    ``first_new``: the items before it are known already (the alert history) and are not
    compared with each other, only with the items from ``first_new`` on. Whether a new item's
    story holds a known item is the same as with every pair compared (a path from a new item
    to a known one reaches its first known item through new items); known items that only
    join each other are not grouped.
    """
    prints = [fingerprint(i) for i in items]
    parent = list(range(len(items)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    # The order of the unions does not matter: the groups are the connected components.
    for i, j in candidate_pairs(prints, first_new):
        if find(i) != find(j) and same_story(prints[i], prints[j]):
            parent[find(j)] = find(i)

    groups: dict[int, list[StoredItem]] = {}
    for index, item in enumerate(items):
        groups.setdefault(find(index), []).append(item)

    def rank(item: StoredItem) -> tuple[int, float, str]:
        published = item.published or item.first_seen
        return (
            -AUTHORITY_RANK.get(authority_of(item.source_id), 0),
            published.timestamp(),
            item.id,
        )

    return [Story(tuple(sorted(group, key=rank))) for group in groups.values()]
