"""The stories of many fingerprints without comparing every pair: exactly the groups that
``same_story`` on every pair would give, in time near-linear in the items for real feeds.

Two items are joined by one of three criteria (``pipeline.digest.fingerprint``), and each has
its own index, which lists every pair the criterion can accept (nothing is capped or sampled):

* **document numbers**: any two items carrying one number are one story; each number's items
  are joined through one of them, never pair by pair.
* **titles** (bigram Jaccard >= t): prefix filtering. In one global order of the bigrams (rarest
  first), two sets with Jaccard >= t share their rarest shared bigram within the first
  ``n - ceil(t n) + 1`` of each. Items are taken smallest first; each *probes* with that prefix
  and is then *indexed* with the shorter ``n - ceil(2t/(1+t) n) + 1`` (enough against the items
  as large or larger, which come later), so the bigrams of a phrase many items share stay out
  of the index. A bigram in many titles is a key only paired with a later one of the prefix
  (``TitleKeys``). A candidate is met first on its rarest shared bigram, so its position bounds
  the overlap and most candidates are dismissed without computing a Jaccard.
* **SimHash** (Hamming distance <= d): ``pipeline.digest.simtables``, 45 tables keyed by pairs
  of bit blocks, sorted and tested with numpy, after the other two criteria.

The pairs an index lists can still be many: a story told by thousands of items (a flood of one
headline) puts them all in the same buckets. The title index is therefore probed against the
groups found so far (union-find): a bucket keeps its items per group, a group already joined to
the probing item is skipped whole, and another group is tested item by item only until one
matches; the SimHash tables drop pairs already in one group before any test. A bucket full of
unrelated items is still tested in full: that is the work the criterion asks for
(``benchmarks/bench_cluster.py`` measures both).

``first_new``: items before it are known already and are never compared with each other (see
``cluster``); they are indexed but never probe.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from itertools import combinations

from pipeline.digest.fingerprint import TITLE_JACCARD_MIN, Fingerprint, jaccard
from pipeline.digest.simtables import TABLE_MASKS, near_groups

# A bigram in more titles than this is a title key only paired with another (see TitleKeys).
COMMON = 64


class Groups:
    """Union-find over item indexes; ``joins`` counts the unions that merged two groups."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))
        self.joins = 0

    def find(self, x: int) -> int:
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)
            self.joins += 1


# -- the keys of each criterion --------------------------------------------------------------


def _min_shared(n: int, ratio: float) -> int:
    """ceil(ratio * n), a hair low rather than high (float rounding): a longer prefix is safe."""
    return max(1, math.ceil(ratio * n - 1e-9))


def probe_length(n: int) -> int:
    """Bigrams of an n-bigram title that hold its rarest bigram shared with any t-similar
    title; one more holds the two rarest."""
    return n - _min_shared(n, TITLE_JACCARD_MIN) + 1


def index_length(n: int) -> int:
    """The same against titles at least as large (the ones that probe later)."""
    t = TITLE_JACCARD_MIN
    return n - _min_shared(n, 2 * t / (1 + t)) + 1


TitleKey = str | tuple[str, str]


class TitleKeys:
    """The keys of each title: its bigrams in one global order (rarest first, ties by the
    bigram), and from them the keys it probes and is indexed with.

    A rare bigram (in at most ``COMMON`` titles) is a key by itself. A common one is a key only
    paired with each later bigram of the prefix: two t-similar titles share the two rarest of
    their shared bigrams within prefixes one longer, so the pair is listed by both, and pairs
    of common bigrams are far rarer than either. Both titles judge a bigram alike (rarity is
    global), so they always meet on the same key.
    """

    def __init__(self, prints: Sequence[Fingerprint]) -> None:
        frequency = Counter(g for fp in prints for g in fp.title_grams)
        ranked = sorted(frequency, key=lambda g: (frequency[g], g))
        rank = {g: r for r, g in enumerate(ranked)}.__getitem__
        self.grams = [sorted(fp.title_grams, key=rank) for fp in prints]
        self.common = {g for g, count in frequency.items() if count > COMMON}

    def probe(self, i: int) -> list[tuple[TitleKey, int]]:
        return self._keys(i, probe_length(len(self.grams[i])))

    def index(self, i: int) -> list[tuple[TitleKey, int]]:
        return self._keys(i, index_length(len(self.grams[i])))

    def _keys(self, i: int, length: int) -> list[tuple[TitleKey, int]]:
        """(key, position in the title of its first bigram), in the global order."""
        grams = self.grams[i]
        if len(grams) < 2:  # only a title this short can match it: rare or not, one key
            return [(g, 0) for g in grams]
        prefix = grams[: length + 1]
        keys: list[tuple[TitleKey, int]] = []
        for position, gram in enumerate(prefix):
            if gram not in self.common:
                if position < length:
                    keys.append((gram, position))
            else:
                keys.extend(((gram, later), position) for later in prefix[position + 1 :])
        return keys


def _documents(prints: Sequence[Fingerprint]) -> dict[str, list[int]]:
    buckets: dict[str, list[int]] = {}
    for i, fp in enumerate(prints):
        for number in fp.doc_numbers:
            buckets.setdefault(number, []).append(i)
    return buckets


def _title_match(a: Fingerprint, b: Fingerprint) -> bool:
    if a.doc_numbers and b.doc_numbers:
        return False  # numbers decide between these two: the documents criterion
    return jaccard(a.title_grams, b.title_grams) >= TITLE_JACCARD_MIN


def _title_order(prints: Sequence[Fingerprint], first_new: int) -> list[int]:
    """New items with a title, smallest first (ties by position)."""
    new = [i for i in range(first_new, len(prints)) if prints[i].title_grams]
    return sorted(new, key=lambda i: (len(prints[i].title_grams), i))


# -- the groups --------------------------------------------------------------------------------


def groups(prints: Sequence[Fingerprint], first_new: int = 0) -> Groups:
    """The union-find of the stories: items joined exactly as ``same_story`` on every pair
    (pairs of two known items left out) would join them."""
    found = Groups(len(prints))
    _join_documents(prints, first_new, found)
    _join_titles(prints, first_new, found)
    _join_simhashes(prints, first_new, found)
    return found


def _join_documents(prints: Sequence[Fingerprint], first_new: int, found: Groups) -> None:
    for members in _documents(prints).values():
        anchor = next((i for i in members if i >= first_new), None)
        if anchor is not None:  # a bucket of known items only is left alone
            for i in members:
                found.union(anchor, i)


class _Bucket:
    """The items indexed under one key, by group: ``(item, position of the key in its
    bigrams)``. Group keys go stale as groups are joined (a probe looks each one up); the keys
    of one group are merged whenever their number has doubled since the last merge."""

    __slots__ = ("by_group", "merged_at")

    def __init__(self, root: int, entry: tuple[int, int]) -> None:
        self.by_group: dict[int, list[tuple[int, int]]] = {root: [entry]}
        self.merged_at = 1

    def add(self, root: int, entry: tuple[int, int], found: Groups) -> None:
        by_group = self.by_group
        entries = by_group.get(root)
        if entries is not None:
            entries.append(entry)
            return
        by_group[root] = [entry]
        if len(by_group) > 2 * self.merged_at:
            merged: dict[int, list[tuple[int, int]]] = {}
            for key, items in by_group.items():
                current = found.find(key)
                have = merged.get(current)
                if have is None:
                    merged[current] = items
                elif len(have) >= len(items):
                    have.extend(items)
                else:
                    items.extend(have)
                    merged[current] = items
            self.by_group, self.merged_at = merged, len(merged)


def _join_titles(prints: Sequence[Fingerprint], first_new: int, found: Groups) -> None:
    keys = TitleKeys(prints)
    index: dict[TitleKey, _Bucket] = {}
    ratio = TITLE_JACCARD_MIN / (1 + TITLE_JACCARD_MIN)  # Jaccard >= t <=> shared >= this x |a|+|b|

    def insert(i: int, entries: Sequence[tuple[TitleKey, int]]) -> None:
        root = found.find(i)
        for key, position in entries:
            bucket = index.get(key)
            if bucket is None:
                index[key] = _Bucket(root, (i, position))
            else:
                bucket.add(root, (i, position), found)

    for k in range(min(first_new, len(prints))):
        insert(k, keys.probe(k))
    sizes = [len(g) for g in keys.grams]
    largest = max(sizes, default=0)
    need = [_min_shared(total, ratio) for total in range(2 * largest + 1)]
    parent = found.parent
    for x in _title_order(prints, first_new):
        fx, size = prints[x], sizes[x]
        seen: set[int] = set()  # decided for x already (x shares several bigrams with many)
        for key, here in keys.probe(x):
            bucket = index.get(key)
            if bucket is None:
                continue
            mine_root = found.find(x)
            for group, entries in bucket.by_group.items():
                root = group if parent[group] == group else found.find(group)
                if root == mine_root:
                    continue  # that whole group is x's story already
                for y, there in entries:
                    if y in seen:
                        continue
                    seen.add(y)
                    # x meets y first on a key of their rarest shared bigram, so nothing before
                    # ``here`` in x or ``there`` in y is shared: what follows bounds what can be
                    other = sizes[y]
                    left = size - here if size - here < other - there else other - there
                    if left >= need[size + other] and _title_match(fx, prints[y]):
                        found.union(x, y)
                        mine_root = found.find(x)
                        break
        insert(x, keys.index(x))


def _join_simhashes(prints: Sequence[Fingerprint], first_new: int, found: Groups) -> None:
    roots = [found.find(i) for i in range(len(prints))]
    for a, b in near_groups(prints, roots, first_new):
        found.union(a, b)


# -- for tests: the pairs the indexes list ------------------------------------------------------


def candidate_pairs(prints: Sequence[Fingerprint], first_new: int = 0) -> list[tuple[int, int]]:
    """Every pair ``(i, j)``, ``i < j``, ``j >= first_new``, that one of the indexes lists, each
    once, sorted: a superset of the pairs ``same_story`` accepts. ``groups`` probes the same
    indexes, skipping what is joined already; this lists them whole, pair by pair (tests)."""
    found: set[tuple[int, int]] = set()

    def add(a: int, b: int) -> None:
        i, j = min(a, b), max(a, b)
        if i != j and j >= first_new:
            found.add((i, j))

    for members in _documents(prints).values():
        for a, b in combinations(members, 2):
            add(a, b)
    keys = TitleKeys(prints)
    index: dict[TitleKey, list[int]] = {}
    for k in range(min(first_new, len(prints))):
        for key, _ in keys.probe(k):
            index.setdefault(key, []).append(k)
    for x in _title_order(prints, first_new):
        for key, _ in keys.probe(x):
            for y in index.get(key, ()):
                add(x, y)
        for key, _ in keys.index(x):
            index.setdefault(key, []).append(x)
    for mask in TABLE_MASKS:
        table: dict[int, list[int]] = {}
        for i, fp in enumerate(prints):
            if fp.has_text:
                table.setdefault(fp.simhash & mask, []).append(i)
        for members in table.values():
            for a, b in combinations(members, 2):
                add(a, b)
    return sorted(found)
