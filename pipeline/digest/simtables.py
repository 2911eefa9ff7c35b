"""SimHash near-duplicates without comparing every pair: the tables of story clustering.

Two fingerprints at most d bits apart (of 64) agree on at least two of ``d + 2`` blocks of
bits (pigeonhole), so every pair of blocks is one table (45 for d = 8) keyed by those bits:
each pair of near fingerprints shares a key in some table, and an unrelated pair shares one
with a chance of about 45 in 2**12.8. Each table is sorted with numpy and every pair within a
run of equal keys is tested at once, vectorised, unless the two items are in one group already
(found by the other criteria). A run longer than ``LONG_RUN`` (a flood of one story) is first
reduced to one item per group and fingerprint.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from itertools import combinations, pairwise
from typing import TYPE_CHECKING

from pipeline.digest.fingerprint import SIMHASH_BITS, SIMHASH_MAX_DISTANCE, Fingerprint

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

LONG_RUN = 256
PAIRS_PER_BATCH = 1 << 21  # pairs made and tested at once (memory)


def _blocks() -> list[int]:
    count = SIMHASH_MAX_DISTANCE + 2
    edges = [SIMHASH_BITS * k // count for k in range(count + 1)]
    return [((1 << (hi - lo)) - 1) << lo for lo, hi in pairwise(edges)]


# one table per pair of blocks: at most d differing bits leave two of d + 2 blocks intact
TABLE_MASKS: tuple[int, ...] = tuple(a | b for a, b in combinations(_blocks(), 2))


def near_groups(
    prints: Sequence[Fingerprint], groups: Sequence[int], first_new: int = 0
) -> list[tuple[int, int]]:
    """Pairs of groups (``groups[i]`` is item i's) that hold two items with text whose SimHashes
    are at most ``SIMHASH_MAX_DISTANCE`` bits apart, not both numbered and not both known
    (before ``first_new``): the joins this criterion adds, each once."""
    import numpy as np  # here only: the other commands need not load it

    which = [i for i, fp in enumerate(prints) if fp.has_text]
    if len(which) < 2:
        return []
    item = np.array(which, dtype=np.int64)
    values = np.array([prints[i].simhash for i in which], dtype=np.uint64)
    roots = np.array([groups[i] for i in which], dtype=np.int64)
    docs = np.array([bool(prints[i].doc_numbers) for i in which], dtype=bool)
    new = item >= first_new
    joined: list[NDArray[np.int64]] = []

    def test(a: NDArray[np.int64], b: NDArray[np.int64]) -> None:
        """Keep the pairs of positions (a, b) that join two groups."""
        keep = (roots[a] != roots[b]) & (new[a] | new[b]) & ~(docs[a] & docs[b])
        a, b = a[keep], b[keep]
        near = np.bitwise_count(values[a] ^ values[b]) <= SIMHASH_MAX_DISTANCE
        if near.any():
            joined.append(np.stack((roots[a[near]], roots[b[near]]), axis=1))

    for mask in TABLE_MASKS:
        keys = values & np.uint64(mask)
        order = np.argsort(keys, kind="stable")
        ordered = keys[order]
        starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
        lengths = np.diff(np.concatenate((starts, [len(ordered)])))
        short = (lengths > 1) & (lengths <= LONG_RUN)
        for a, b in _run_pairs(starts[short], lengths[short]):
            test(order[a], order[b])
        long = lengths > LONG_RUN
        for start, length in zip(starts[long].tolist(), lengths[long].tolist(), strict=True):
            _long_run(order[start : start + length], roots, values, new, docs, test)
    if not joined:
        return []
    return [(a, b) for a, b in np.unique(np.concatenate(joined), axis=0).tolist()]


def _run_pairs(
    starts: NDArray[np.int64], lengths: NDArray[np.int64]
) -> Iterator[tuple[NDArray[np.int64], NDArray[np.int64]]]:
    """Every pair of positions within each run, a batch of runs at a time."""
    import numpy as np

    if len(starts) == 0:
        return
    pairs = lengths * (lengths - 1) // 2
    ends = np.cumsum(pairs)
    first = 0
    while first < len(starts):
        last = int(np.searchsorted(ends, ends[first] - pairs[first] + PAIRS_PER_BATCH, "right"))
        last = max(last, first + 1)
        s, n = starts[first:last], lengths[first:last]
        # each position of a run, and how many later positions of its run it pairs with
        offset = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
        position = np.repeat(s, n) + offset
        later = np.repeat(n, n) - 1 - offset
        a = np.repeat(position, later)
        step = np.arange(later.sum()) - np.repeat(np.cumsum(later) - later, later)
        yield a, a + 1 + step
        first = last


def _long_run(
    members: NDArray[np.int64],
    roots: NDArray[np.int64],
    values: NDArray[np.uint64],
    new: NDArray[np.bool_],
    docs: NDArray[np.bool_],
    test: Callable[[NDArray[np.int64], NDArray[np.int64]], None],
) -> None:
    """A long run: one item per (group, fingerprint, new, numbered) decides for all alike,
    and only items of different groups are tested, each of the smaller groups against all."""
    import numpy as np

    if (roots[members] == roots[members[0]]).all():
        return  # one story already
    keys = np.stack((roots[members], values[members].view(np.int64), new[members], docs[members]))
    _, first = np.unique(keys, axis=1, return_index=True)
    members = members[np.sort(first)]
    group_of = roots[members]
    kinds, sizes = np.unique(group_of, return_counts=True)
    if len(kinds) < 2:
        return  # one story already
    largest = kinds[np.argmax(sizes)]
    others = members[group_of != largest]
    for row in others:  # the largest group need not be tested against itself
        test(np.full(len(members), row, dtype=np.int64), members)
