"""One-pass multi-pattern matching over folded text (Aho-Corasick).

Every term of every vocabulary (topics, groups, exclusions, authorities, document types,
actions) goes into one automaton. An item's fields are joined with a separator, folded and
scanned in one call; a match is one tuple ``(field, start, end, pattern)`` shared by every
vocabulary that owns the pattern, grouped by vocabulary only when a rule asks.

The automaton is ``ahocorasick_rs`` (Rust) rather than pyahocorasick, whose trie scans a node's
children linearly, so that a scan does not slow down as the lexicon grows. Of its
implementations the contiguous NFA is used, not the DFA: the DFA scans faster on its own, but
its table is many times larger and, next to the rest of the classifier's work, no longer fits
in the CPU cache, which made the classifier as a whole slower (measured with
benchmarks/bench_classify.py).

ASCII terms only match at word boundaries (``ant`` never matches inside ``important``); a
trailing ``s`` is accepted (``payday loan`` matches ``payday loans``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import ahocorasick_rs

from pipeline.classify.normalize import prepare

# Joins the fields before scanning; no pattern contains it (patterns are folded text).
SEPARATOR = "\x1f"

# One match: (field index, start, end, pattern index). Offsets are relative to the field, in the
# original text (mapped back when a traditional phrase changed length). The same tuple serves
# every vocabulary owning the pattern; ``Matcher.canonical[pattern][vocabulary]`` is the term it
# stands for. A plain tuple, not a dataclass: one is built for every match of every item.
Hit = tuple[int, int, int, int]


def _is_word(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


# ``_is_word`` as a set, for the per-match edge checks.
_WORD = frozenset(chr(c) for c in range(128) if _is_word(chr(c)))


class HitIndex:
    """One item's matches; the hits of a vocabulary are gathered when first asked for."""

    __slots__ = ("_lists", "_vocab_pids", "pids", "raw")

    def __init__(
        self, raw: list[Hit], pids: set[int], vocab_pids: tuple[frozenset[int], ...]
    ) -> None:
        self.raw = raw
        self.pids = pids  # the patterns with at least one hit
        self._vocab_pids = vocab_pids  # per vocabulary, the patterns it owns
        self._lists: dict[int, list[Hit]] = {}

    def __contains__(self, vocab: int) -> bool:
        """Has ``vocab`` a hit? (Asked of the patterns, without gathering its hits.)"""
        return not self._vocab_pids[vocab].isdisjoint(self.pids)

    def get(self, vocab: int) -> list[Hit]:
        """The hits of ``vocab`` in text order (title first); empty if none.

        Gathered on the first call for each vocabulary: an item needs the hits of only the few
        vocabularies its rules ask about, not every hit grouped by every vocabulary."""
        found = self._lists.get(vocab)
        if found is None:
            owned = self._vocab_pids[vocab]
            if owned.isdisjoint(self.pids):
                return _NO_HITS
            found = self._lists[vocab] = [h for h in self.raw if h[3] in owned]
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


def _automaton(patterns: Sequence[str]) -> ahocorasick_rs.AhoCorasick:
    return ahocorasick_rs.AhoCorasick(
        list(patterns),
        matchkind=ahocorasick_rs.MATCHKIND_STANDARD,
        implementation=ahocorasick_rs.Implementation.ContiguousNFA,
    )


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
        # The reverse: per vocabulary index, the patterns it owns.
        owners: dict[int, set[int]] = {}
        for pid, vocabs in enumerate(self.vocab_sets):
            for v in vocabs:
                owners.setdefault(v, set()).add(pid)
        self.vocab_pids: tuple[frozenset[int], ...] = tuple(
            frozenset(owners.get(v, ())) for v in range(max(owners, default=-1) + 1)
        )
        self.masking: tuple[bool, ...] = tuple(not masks.isdisjoint(v) for v in self.vocab_sets)
        self.topical: tuple[frozenset[int], ...] = tuple(v & topics for v in self.vocab_sets)
        self.has_masks = bool(masks)
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
        self.edges: tuple[int, ...] = tuple(
            (1 if _is_word(p[0]) else 0) | (2 if _is_word(p[-1]) else 0) for p in self.patterns
        )
        # The same flags as sets of pattern indexes, tested against the set of an item's
        # patterns: most items need neither edge checks nor masks, and skip them whole.
        self._edged = frozenset(i for i, e in enumerate(self.edges) if e)
        self._special = frozenset(i for i, sp in enumerate(self.special) if sp)
        self.automaton = _automaton(self.patterns)

    def __len__(self) -> int:
        return len(self.patterns)

    def __getstate__(self) -> dict[str, object]:
        """Everything but the automaton (a Rust object that does not pickle): see
        ``pipeline.classify.cache``."""
        state = dict(self.__dict__)
        del state["automaton"]
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self.automaton = _automaton(self.patterns)

    def scan(self, texts: Sequence[str], wanted: frozenset[int] | None = None) -> HitIndex | None:
        """All hits of the fields (title, summary, body), masks and topic containment applied;
        None if nothing matched, or with ``wanted`` (pattern indexes) if no wanted pattern did:
        the caller would discard the hits anyway, and most items stop here.

        The fields are joined with a separator no pattern contains, prepared (folded, converted
        to simplified Chinese) and scanned once; offsets are then mapped back to the original
        and made relative to each field. ASCII edges are checked here."""
        if not any(texts):
            return None
        prepared = prepare(SEPARATOR.join(texts))
        joined = prepared.text
        found = self.automaton.find_matches_as_indexes(joined, overlapping=True)
        if not found:
            return None
        pids = {f[0] for f in found}
        if wanted is not None and pids.isdisjoint(wanted):
            return None
        if not pids.isdisjoint(self._edged):  # ASCII patterns: most CJK items have none
            found = _check_edges(joined, found, self.edges)
            if not found:
                return None
            pids = {f[0] for f in found}
            if wanted is not None and pids.isdisjoint(wanted):
                return None
        if prepared.alignment is not None:  # a phrase changed length: back to the original
            span = prepared.span
            found = [(pid, *span(s, e)) for pid, s, e in found]
        first = len(texts[0])  # the separator after the title
        second = first + 1 + len(texts[1]) if len(texts) > 2 else sum(map(len, texts)) + 1
        a, b = first + 1, second + 1
        # Offsets relative to the field each match is in.
        raw = [
            (0, s, e, pid)
            if s < first
            else (1, s - a, e - a, pid)
            if s < second
            else (2, s - b, e - b, pid)
            for pid, s, e in found
        ]
        if not pids.isdisjoint(self._special):
            raw = self._clean(raw)
            pids = {r[3] for r in raw}
        return HitIndex(raw, pids, self.vocab_pids)

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
