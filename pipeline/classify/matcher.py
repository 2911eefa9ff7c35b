"""One-pass multi-pattern matching over folded text (Aho-Corasick).

Every term of every vocabulary (topics, groups, exclusions, authorities, document types,
actions) goes into one automaton. An item's fields are joined with a separator, folded and
scanned in one call; a match is one tuple ``(field, start, end, pattern)`` shared by every
vocabulary that owns the pattern, grouped by vocabulary only when a rule asks.

The automaton is ``ahocorasick_rs`` (Rust, DFA): pyahocorasick's trie scans a node's children
linearly, so its cost grows with the lexicon (about 8 us for 235 characters with 50 patterns,
130 us with 2,000), while a DFA costs the same whatever the lexicon's size (about 4 us).

ASCII terms only match at word boundaries (``ant`` never matches inside ``important``); a
trailing ``s`` is accepted (``payday loan`` matches ``payday loans``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import ahocorasick_rs

from pipeline.classify.normalize import fold

# Joins the fields before scanning; no pattern contains it (patterns are folded text).
SEPARATOR = "\x1f"

# One match: (field index, start, end, pattern index). Offsets are relative to the field and valid
# in the folded and in the original text alike (folding keeps lengths). The same tuple serves
# every vocabulary owning the pattern; ``Matcher.canonical[pattern][vocabulary]`` is the term it
# stands for. A plain tuple: one is built for every match of every item, a dataclass costs more.
Hit = tuple[int, int, int, int]


def _is_word(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


# ``_is_word`` as a set: a membership test is cheaper than two method calls in the scan loop.
_WORD = frozenset(chr(c) for c in range(128) if _is_word(chr(c)))


class HitIndex:
    """One item's matches; the hits of a vocabulary are gathered when first asked for."""

    __slots__ = ("_grouped", "_lists", "_vocab_sets", "present", "raw")

    def __init__(
        self,
        raw: list[Hit],
        present: set[int],
        vocab_sets: tuple[frozenset[int], ...],
        grouped: tuple[tuple[int, ...], ...] | None = None,
    ) -> None:
        self.raw = raw
        self.present = present  # vocabularies with at least one hit
        self._vocab_sets = vocab_sets
        # Per pattern, the vocabularies worth grouping (those some rule or weight asks for);
        # None: all of them.
        self._grouped = grouped
        self._lists: dict[int, list[Hit]] | None = None

    def __contains__(self, vocab: int) -> bool:
        return vocab in self.present

    def __bool__(self) -> bool:
        return bool(self.present)

    def get(self, vocab: int) -> list[Hit]:
        """The hits of ``vocab`` in text order (title first); empty if none.

        The first call groups every hit by vocabulary in one pass (items without a rule anchor
        never pay for it)."""
        lists = self._lists
        if lists is None:
            lists = self._lists = {}
            groups = self._grouped or self._vocab_sets
            for hit in self.raw:
                for v in groups[hit[3]]:
                    bucket = lists.get(v)
                    if bucket is None:
                        lists[v] = [hit]
                    else:
                        bucket.append(hit)
        found = lists.get(vocab)
        if found is not None:
            return found
        if self._grouped is None or vocab not in self.present:
            return _NO_HITS
        # A vocabulary nobody was expected to ask for: gather it now.
        vocab_sets = self._vocab_sets
        found = lists[vocab] = [h for h in self.raw if vocab in vocab_sets[h[3]]]
        return found


_NO_HITS: list[Hit] = []


def _check_edges(
    joined: str, found: list[tuple[int, int, int]], edges: tuple[int, ...]
) -> list[tuple[int, int, int]]:
    """Drop ASCII matches inside a word; extend one followed by a plural "s" over it."""
    word = _WORD
    n = len(joined)
    out: list[tuple[int, int, int]] = []
    for pid, start, end in found:
        edge = edges[pid]
        if edge:
            if edge & 1 and start > 0:
                before = joined[start - 1]
                if before in word or (before == "." and joined[start].isdigit()):
                    continue
            if edge & 2 and end < n and joined[end] in word:
                if joined[end] != "s" or (end + 1 < n and joined[end + 1] in word):
                    continue
                end += 1
        out.append((pid, start, end))
    return out


class Matcher:
    """Maps folded patterns to the vocabularies (and canonical terms) that own them."""

    def __init__(
        self,
        entries: Iterable[tuple[str, int, str]],
        *,
        masks: frozenset[int] = frozenset(),
        topics: frozenset[int] = frozenset(),
    ) -> None:
        """``entries``: ``(folded pattern, vocabulary index, canonical term)``. Hits of mask
        vocabularies hide overlapping hits; a hit of a topic vocabulary inside a longer hit of
        another topic is dropped (``网贷`` inside ``互联网贷款``)."""
        index: dict[str, int] = {}
        canonical: list[dict[int, str]] = []
        for pattern, vocab, term in entries:
            at = index.setdefault(pattern, len(canonical))
            if at == len(canonical):
                canonical.append({})
            canonical[at].setdefault(vocab, term)
        self.patterns: tuple[str, ...] = tuple(index)
        self.canonical: tuple[dict[int, str], ...] = tuple(canonical)
        self.vocab_sets: tuple[frozenset[int], ...] = tuple(frozenset(c) for c in canonical)
        self.masking: tuple[bool, ...] = tuple(not masks.isdisjoint(v) for v in self.vocab_sets)
        self.topical: tuple[frozenset[int], ...] = tuple(v & topics for v in self.vocab_sets)
        self.has_masks = bool(masks)
        self.grouped: tuple[tuple[int, ...], ...] | None = None
        # A topic hit can only be inside a longer one if its pattern occurs in that one's
        # pattern (+ "s", the accepted plural): the others never need the containment check.
        tops = [(p, t) for p, t in zip(self.patterns, self.topical, strict=True) if t]
        self.containable: tuple[bool, ...] = tuple(
            bool(t) and any(o != p and not to <= t and p in o + "s" for o, to in tops)
            for p, t in zip(self.patterns, self.topical, strict=True)
        )
        self.special: tuple[bool, ...] = tuple(
            m or c for m, c in zip(self.masking, self.containable, strict=True)
        )
        # Boundary checks: 1 = check start, 2 = check end (ASCII alphanumeric edges only).
        self._edges: tuple[int, ...] = tuple(
            (1 if _is_word(p[0]) else 0) | (2 if _is_word(p[-1]) else 0) for p in self.patterns
        )
        self._automaton = ahocorasick_rs.AhoCorasick(
            list(self.patterns),
            matchkind=ahocorasick_rs.MATCHKIND_STANDARD,
            implementation=ahocorasick_rs.Implementation.DFA,
        )

    def __len__(self) -> int:
        return len(self.patterns)

    def group_only(self, vocabs: frozenset[int]) -> None:
        """Group hits by these vocabularies only (the others are still in ``present``)."""
        self.grouped = tuple(tuple(sorted(v & vocabs)) for v in self.vocab_sets)

    def find(self, texts: Sequence[str], wanted: Sequence[bool] | None = None) -> list[Hit]:
        """Fold and scan the fields (title, summary, body) in one pass.

        The fields are joined with a separator no pattern contains, folded and scanned once;
        offsets are then made relative to each field. ASCII edges are checked here. With
        ``wanted`` (a flag per pattern), nothing is returned unless some pattern found is wanted:
        the caller would discard the hits anyway, and most items stop here.
        """
        if not any(texts):
            return []
        joined = fold(SEPARATOR.join(texts))
        found = self._automaton.find_matches_as_indexes(joined, overlapping=True)
        if not found or (wanted is not None and not any([wanted[f[0]] for f in found])):
            return []
        edges = self._edges
        if any([edges[f[0]] for f in found]):  # ASCII patterns: most CJK items have none
            found = _check_edges(joined, found, edges)
        first = len(texts[0])  # the separator after the title
        second = first + 1 + len(texts[1]) if len(texts) > 2 else len(joined)
        a, b = first + 1, second + 1
        # A comprehension: about half the cost of a loop with append.
        return [
            (0, s, e, pid)
            if s < first
            else (1, s - a, e - a, pid)
            if s < second
            else (2, s - b, e - b, pid)
            for pid, s, e in found
        ]

    def index(self, texts: Sequence[str]) -> HitIndex:
        """All hits of the fields, masks and topic containment applied."""
        return self.index_found(self.find(texts))

    def index_found(self, raw: list[Hit]) -> HitIndex:
        """``index`` for the result of ``find``."""
        if not raw:
            return HitIndex([], set(), self.vocab_sets, self.grouped)
        vocab_sets = self.vocab_sets
        special = self.special
        if any([special[r[3]] for r in raw]):
            raw = self._clean(raw)
        present: set[int] = set().union(*[vocab_sets[r[3]] for r in raw])
        return HitIndex(raw, present, vocab_sets, self.grouped)

    def _clean(self, raw: list[Hit]) -> list[Hit]:
        """Apply masks, then drop topic hits inside longer hits of other topics."""
        if self.has_masks:
            masking = self.masking
            spans = [r for r in raw if masking[r[3]]]
            if spans:
                raw = [
                    r
                    for r in raw
                    if not masking[r[3]]
                    and not any(m[0] == r[0] and m[1] < r[2] and r[1] < m[2] for m in spans)
                ]
        topical = self.topical
        tops = [r for r in raw if topical[r[3]]]
        containable = self.containable
        inner = [r for r in tops if containable[r[3]]]
        if inner and len(tops) > 1:
            drop = {
                r
                for r in inner
                for o in tops
                if o[0] == r[0]
                and o[1] <= r[1]
                and r[2] <= o[2]
                and o[2] - o[1] > r[2] - r[1]
                and not topical[o[3]] <= topical[r[3]]
            }
            if drop:
                raw = [r for r in raw if r not in drop]
        return raw
