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

from collections.abc import Iterator, Sequence
from itertools import combinations, pairwise
from typing import TYPE_CHECKING

from pipeline.digest.fingerprint import TITLE_JACCARD_MIN, Fingerprint, jaccard
from pipeline.digest.simtables import PAIRS_PER_BATCH, TABLE_MASKS, near_groups
from pipeline.digest.titlekeys import KeyTable, key_table, shared_needed, sketch_distance

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

# A bigram in more titles than this is a title key only paired with another (titlekeys).
COMMON = 64
# A title key of more entries than this is probed title by title against the groups.
HUGE_RUN = 1024


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
    """Join the titles that are t-similar: the keys shared by at most ``HUGE_RUN`` entries all at
    once (``_join_titles_at_once``), after the keys of more (a flood of one headline) title by
    title against the groups (``_join_titles_one_by_one``), which leaves the flood one group."""
    import numpy as np

    table = key_table(prints, COMMON)
    if not len(table.key):
        return
    _, run_of, run_length = np.unique(table.key, return_inverse=True, return_counts=True)
    huge = run_length[run_of.ravel()] > HUGE_RUN
    if huge.any():
        _join_titles_one_by_one(prints, first_new, found, table, huge)
    _join_titles_at_once(prints, first_new, found, table, ~huge)


def _join_titles_one_by_one(
    prints: Sequence[Fingerprint],
    first_new: int,
    found: Groups,
    table: KeyTable,
    chosen: NDArray[np.bool_],
) -> None:
    """The keys ``chosen``: new titles, smallest first, each probing the index of the titles
    before it (and of the known ones) and then indexed, group by group (``_Bucket``).

    The title ``x`` meets an earlier ``y`` first on a key of their rarest shared bigram (keys
    run in the global order); when that key is not chosen, the pair is the other phase's. The
    positions of that first meeting bound what the two can share."""
    import numpy as np

    item, key = table.item[chosen], table.key[chosen]
    position, indexed = table.position[chosen], table.indexed[chosen]
    order = np.lexsort((table.second[chosen], position, item))  # by title, in the global order
    item, key, position, indexed = item[order], key[order], position[order], indexed[order]
    bounds = np.flatnonzero(np.concatenate(([True], item[1:] != item[:-1], [True])))
    where = {int(item[lo]): (int(lo), int(hi)) for lo, hi in pairwise(bounds.tolist())}

    def keys_of(i: int, index_only: bool) -> list[tuple[int, int]]:
        """Title i's chosen keys (its index keys only, or its probe keys), in the global order."""
        lo, hi = where.get(i, (0, 0))
        mine = slice(lo, hi)
        if index_only:
            listed = indexed[mine]
            return list(
                zip(key[mine][listed].tolist(), position[mine][listed].tolist(), strict=True)
            )
        return list(zip(key[mine].tolist(), position[mine].tolist(), strict=True))

    sizes: list[int] = table.sizes.tolist()
    raw = table.sketches.tobytes()
    width = table.sketches.shape[1] * 8
    sketches = [
        int.from_bytes(raw[k * width : (k + 1) * width], "little") for k in range(len(sizes))
    ]
    need = shared_needed(max(sizes, default=0))
    apart = [total - 2 * least for total, least in enumerate(need)]  # symmetric difference
    index: dict[int, _Bucket] = {}

    def insert(i: int, entries: Sequence[tuple[int, int]]) -> None:
        root = found.find(i)
        for k, at in entries:
            bucket = index.get(k)
            if bucket is None:
                index[k] = _Bucket(root, (i, at))
            else:
                bucket.add(root, (i, at), found)

    for k in where:
        if k < first_new:
            insert(k, keys_of(k, index_only=False))
    new = [i for i in where if i >= first_new]
    parent = found.parent
    for x in sorted(new, key=lambda i: (sizes[i], i)):
        fx, size, mark = prints[x], sizes[x], sketches[x]
        seen: set[int] = set()  # decided for x already (x shares several keys with many)
        for probe, here in keys_of(x, index_only=False):
            bucket = index.get(probe)
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
                    other = sizes[y]
                    left = size - here if size - here < other - there else other - there
                    if (
                        left >= need[size + other]
                        and (mark ^ sketches[y]).bit_count() <= apart[size + other]
                        and _title_match(fx, prints[y])
                    ):
                        found.union(x, y)
                        mine_root = found.find(x)
                        break
        insert(x, keys_of(x, index_only=True))


def _join_titles_at_once(
    prints: Sequence[Fingerprint],
    first_new: int,
    found: Groups,
    table: KeyTable,
    chosen: NDArray[np.bool_],
) -> None:
    """The keys ``chosen``: every pair of titles on one key, but pairs of two known titles and
    of two titles in one group already, filtered vectorised (the position of the key, the
    sketches), and the few left tested exactly."""
    import numpy as np

    count = len(prints)
    roots = np.fromiter((found.find(i) for i in range(count)), dtype=np.int64, count=count)
    numbered = np.fromiter((bool(fp.doc_numbers) for fp in prints), dtype=bool, count=count)
    item, key, position = table.item[chosen], table.key[chosen], table.position[chosen]
    new = item >= first_new
    order = np.lexsort((roots[item], new, key))  # a key's known titles, then its new by group
    item, key, position, new = item[order], key[order], position[order], new[order]
    group = roots[item]
    at = np.arange(len(item), dtype=np.int64)
    run = np.concatenate(([True], key[1:] != key[:-1]))
    block = run | np.concatenate(([True], (new[1:] != new[:-1]) | (group[1:] != group[:-1])))
    run_start = np.maximum.accumulate(np.where(run, at, 0))
    block_start = np.maximum.accumulate(np.where(block, at, 0))
    # a new title pairs with every title of its key before its own block: the known ones and
    # the new ones of other groups
    partners = np.where(new, block_start - run_start, 0)
    sizes = table.sizes
    need = np.array(shared_needed(int(sizes.max(initial=0))), dtype=np.int64)
    apart = np.arange(len(need), dtype=np.int64) - 2 * need
    found_pairs: list[NDArray[np.int64]] = []
    for b, a in _ranges(run_start, partners):
        x, y = item[a], item[b]
        keep = (roots[x] != roots[y]) & ~(numbered[x] & numbered[y])
        x, y, a, b = x[keep], y[keep], a[keep], b[keep]
        total = sizes[x] + sizes[y]
        keep = np.minimum(sizes[x] - position[a], sizes[y] - position[b]) >= need[total]
        x, y, total = x[keep], y[keep], total[keep]
        keep = sketch_distance(table.sketches, x, y) <= apart[total]
        if keep.any():
            found_pairs.append(np.stack((x[keep], y[keep]), axis=1))
    if not found_pairs:
        return
    for x, y in np.unique(np.concatenate(found_pairs), axis=0).tolist():
        if found.find(x) != found.find(y) and _title_match(prints[x], prints[y]):
            found.union(x, y)


def _ranges(
    starts: NDArray[np.int64], counts: NDArray[np.int64]
) -> Iterator[tuple[NDArray[np.int64], NDArray[np.int64]]]:
    """``(k, starts[k] + j)`` for every k and ``j < counts[k]``, about ``PAIRS_PER_BATCH`` at a
    time."""
    import numpy as np

    ends = np.cumsum(counts)
    first = 0
    while first < len(counts):
        last = int(np.searchsorted(ends, ends[first] - counts[first] + PAIRS_PER_BATCH, "right"))
        last = max(last, first + 1)
        c = counts[first:last]
        k = np.repeat(np.arange(first, last, dtype=np.int64), c)
        step = np.arange(len(k), dtype=np.int64) - np.repeat(np.cumsum(c) - c, c)
        if len(k):
            yield k, starts[k] + step
        first = last


def _join_simhashes(prints: Sequence[Fingerprint], first_new: int, found: Groups) -> None:
    roots = [found.find(i) for i in range(len(prints))]
    for a, b in near_groups(prints, roots, first_new):
        found.union(a, b)


# -- for tests: the pairs the indexes list ------------------------------------------------------


def candidate_pairs(prints: Sequence[Fingerprint], first_new: int = 0) -> list[tuple[int, int]]:
    """Every pair ``(i, j)``, ``i < j``, ``j >= first_new``, that one of the indexes lists, each
    once, sorted: a superset of the pairs ``same_story`` accepts. ``groups`` tests these
    (fewer: index keys against probe keys where it goes title by title, and never a pair
    joined already); this lists them whole, pair by pair (tests)."""
    found: set[tuple[int, int]] = set()

    def add(a: int, b: int) -> None:
        i, j = min(a, b), max(a, b)
        if i != j and j >= first_new:
            found.add((i, j))

    for members in _documents(prints).values():
        for a, b in combinations(members, 2):
            add(a, b)
    table = key_table(prints, COMMON)
    index: dict[int, list[int]] = {}
    for i, key in zip(table.item.tolist(), table.key.tolist(), strict=True):
        index.setdefault(key, []).append(i)
    for members in index.values():
        for a, b in combinations(members, 2):
            add(a, b)
    for mask in TABLE_MASKS:
        table_: dict[int, list[int]] = {}
        for i, fp in enumerate(prints):
            if fp.has_text:
                table_.setdefault(fp.simhash & mask, []).append(i)
        for members in table_.values():
            for a, b in combinations(members, 2):
                add(a, b)
    return sorted(found)
