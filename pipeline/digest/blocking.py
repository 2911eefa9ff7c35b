"""The stories of many fingerprints without comparing every pair: exactly the groups that
``same_story`` on every pair would give, in time near-linear in the items for real feeds.

Two items are joined by one of three criteria (``pipeline.digest.fingerprint``), and each has
its own index, which lists every pair the criterion can accept (nothing is capped or sampled):

* **document numbers**: any two items carrying one number are one story; each number's items
  are joined through one of them, never pair by pair.
* **titles** (bigram Jaccard >= t): prefix filtering (``pipeline.digest.titlekeys``, built in
  numpy). In one global order of the bigrams (rarest first), two sets with Jaccard >= t share
  their rarest shared bigram within the first ``n - ceil(t n) + 1`` of each (the *probe*
  prefix), and within the shorter ``n - ceil(2t/(1+t) n) + 1`` of the smaller one (the *index*
  prefix). A bigram in many titles is a key only paired with a later one of the prefix. Two
  titles are compared only on a key of the smaller one's index and the other's probe; the
  position of the key bounds their overlap and their bigram sketches their symmetric
  difference, so most candidates are dismissed without computing a Jaccard.
* **SimHash** (Hamming distance <= d): ``pipeline.digest.simtables``, 45 tables keyed by pairs
  of bit blocks, sorted and tested with numpy, after the other two criteria.

The pairs an index lists can still be many: a story told by thousands of items (a flood of one
headline) puts them all under the same keys. A title key of more than ``HUGE_RUN`` titles is
therefore probed title by title against the groups found so far (union-find): a bucket keeps
its items per group, a group already joined to the probing item is skipped whole, and another
group is tested item by item only until one matches. Every other key pairs its titles at once,
vectorised, its shortest runs first, never two titles of one group or two known ones; the
SimHash tables likewise drop pairs already in one group before any test. Titles that share
much but not enough (half a headline) are still paired and dismissed: that is the work the
criterion asks for (``benchmarks/bench_cluster.py`` measures both).

``first_new``: items before it are known already and are never compared with each other (see
``cluster``); they are indexed but never probe.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import combinations, pairwise
from typing import TYPE_CHECKING

from pipeline.digest.fingerprint import TITLE_JACCARD_MIN, Fingerprint, jaccard
from pipeline.digest.simtables import TABLE_MASKS, near_groups
from pipeline.digest.titlekeys import KeyTable, key_table, shared_needed, sketch_distance

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

# A bigram in more titles than this is a title key only paired with another (titlekeys).
COMMON = 64
# A title key of more entries than this is probed title by title against the groups.
HUGE_RUN = 1024
# The other keys are paired at once, the runs up to each of these lengths before the next.
RUN_TIERS = (64, 256)
PAIRS_PER_BATCH = 1 << 18  # title pairs made and filtered at once (memory, cache)


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
    """Join the titles that are t-similar. The keys of more than ``HUGE_RUN`` entries (a flood
    of one headline) go title by title against the groups (``_join_titles_one_by_one``), which
    leaves a flood one group; then the others all at once (``_join_titles_at_once``), shortest
    runs first, so that the groups they join keep pairs out of the longer ones."""
    import numpy as np

    table = key_table(prints, COMMON)
    if not len(table.key):
        return
    _, run_of, run_length = np.unique(table.key, return_inverse=True, return_counts=True)
    length = run_length[run_of.ravel()]
    del run_of, run_length
    if (length > HUGE_RUN).any():
        _join_titles_one_by_one(prints, first_new, found, table, length > HUGE_RUN)
    low = 1  # a key of one title pairs nothing
    for high in [*(tier for tier in RUN_TIERS if tier < HUGE_RUN), HUGE_RUN]:
        chosen = (length > low) & (length <= high)
        if chosen.any():
            _join_titles_at_once(prints, first_new, found, table, chosen)
        low = high


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
        mine = slice(*where[i])
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
    """The keys ``chosen``, every pair on one key at once: a new title with the known titles
    (their probe keys are their index) and with the new titles of other groups whose index key
    it is, or, smaller or as large, whose probe key is its index key (the index prefix holds the
    rarest shared bigram of the smaller of two t-similar titles). Filtered vectorised (the
    position of the key, the sketches), then the few left tested exactly."""
    import numpy as np

    count = len(prints)
    roots = np.fromiter((found.find(i) for i in range(count)), dtype=np.int64, count=count)
    numbered = np.fromiter((bool(fp.doc_numbers) for fp in prints), dtype=bool, count=count)
    item, key, position = table.item[chosen], table.key[chosen], table.position[chosen]
    new = item >= first_new
    indexed = table.indexed[chosen] & new
    # each key's run: its known titles, its new ones by the probe key, its new ones by the index
    # key; each part by group
    order = np.lexsort((roots[item], indexed, new, key))
    item, key, position = item[order], key[order], position[order]
    new, indexed, group = new[order], indexed[order], roots[item]
    del order
    at = np.arange(len(item), dtype=np.int64)
    starts = np.concatenate(([True], key[1:] != key[:-1]))
    run_of = np.cumsum(starts) - 1
    runs = np.flatnonzero(starts)
    run_start = runs[run_of]
    known_in_run = np.add.reduceat((~new).astype(np.int64), runs)
    probe_in_run = np.add.reduceat((new & ~indexed).astype(np.int64), runs)
    new_start = run_start + known_in_run[run_of]
    index_start = new_start + probe_in_run[run_of]
    run_end = np.concatenate((runs[1:], [len(item)]))[run_of]
    block = starts | np.concatenate(
        ([True], (new[1:] != new[:-1]) | (indexed[1:] != indexed[:-1]) | (group[1:] != group[:-1]))
    )
    block_start = np.maximum.accumulate(np.where(block, at, 0))
    del at, starts, run_of, runs, block
    partners = (
        (run_start, np.where(new, new_start - run_start, 0)),  # the known titles
        (index_start, np.where(new & ~indexed, run_end - index_start, 0)),  # by their index
        (index_start, np.where(indexed, block_start - index_start, 0)),  # both by the index
    )
    sizes = table.sizes
    need = np.array(shared_needed(int(sizes.max(initial=0))), dtype=np.int64)
    apart = np.arange(len(need), dtype=np.int64) - 2 * need
    # what the filters read, entry by entry (a pair's entries lie close together: cache-friendly)
    size = sizes[item]
    left = size - position  # what the title has from the key on
    numbered_ = numbered[item]
    found_pairs: list[NDArray[np.int64]] = []
    for part, (first, how_many) in enumerate(partners):
        for b, a in _ranges(first, how_many):
            total = size[a] + size[b]
            keep = (group[a] != group[b]) & (np.minimum(left[a], left[b]) >= need[total])
            keep &= ~(numbered_[a] & numbered_[b])
            if part == 1:  # b by its probe key: the larger or as large
                keep &= size[a] <= size[b]
            x, y, total = item[a[keep]], item[b[keep]], total[keep]
            keep = sketch_distance(table.sketches, x, y) <= apart[total]
            if keep.any():
                low, high = np.minimum(x[keep], y[keep]), np.maximum(x[keep], y[keep])
                found_pairs.append(np.unique(low * count + high))
    if not found_pairs:
        return
    for pair in np.unique(np.concatenate(found_pairs)).tolist():
        x, y = divmod(pair, count)
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
