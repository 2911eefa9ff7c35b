"""Rule evaluation: hits per vocabulary -> fired, vetoed and nearly-fired rules.

A rule fires when every vocabulary in ``require`` has a hit in the rule's fields
(co-occurrence); with ``near`` > 0 all of them must sit in one field within ``near`` characters of
the hit of the first vocabulary, the rule's *anchor*. A fired rule is then vetoed by any of its
``exclude`` exclusions that matched (in the exclusion's fields, within ``within`` characters of
the rule's hits if set) unless a vocabulary in the exclusion's ``unless`` matched too. Mask
exclusions act before all this: a hit overlapping a mask's match is dropped (``存款利率上限`` hides
``利率上限``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pipeline.classify.matcher import Hit, Matcher
from pipeline.classify.normalize import fold
from pipeline.classify.rules import FIELDS, Exclusion, Rule, RuleSet, Vocabulary


@dataclass(frozen=True, slots=True)
class CompiledExclusion:
    exclusion: Exclusion
    vocab: int
    fields: frozenset[int]
    unless: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class CompiledRule:
    rule: Rule
    require: tuple[int, ...]
    fields: frozenset[int]
    all_fields: bool
    exclude: tuple[CompiledExclusion, ...]


@dataclass(frozen=True, slots=True)
class Fired:
    rule: CompiledRule
    hits: tuple[tuple[int, Hit], ...]  # (vocabulary index, hit) per required vocabulary
    field: int  # the weakest field among the hits (decides the relevance)
    relevance: float


@dataclass(frozen=True, slots=True)
class Vetoed:
    rule: CompiledRule
    exclusion: CompiledExclusion
    hit: Hit


@dataclass(frozen=True, slots=True)
class Missed:
    rule: CompiledRule
    anchor: Hit
    reason: str


@dataclass(frozen=True, slots=True)
class Outcome:
    hits: Mapping[int, list[Hit]]
    fired: tuple[Fired, ...]
    vetoed: tuple[Vetoed, ...]
    missed: tuple[Missed, ...]


EMPTY_OUTCOME = Outcome({}, (), (), ())


class Engine:
    """Compiles a RuleSet into one automaton plus index-based rules."""

    def __init__(self, ruleset: RuleSet) -> None:
        self.ruleset = ruleset
        self.vocabs: list[Vocabulary] = []
        self.index: dict[str, int] = {}
        for vocab in ruleset.vocabularies.values():
            self._add(vocab)
        for exc in ruleset.exclusions.values():
            self._add(exc.vocabulary)
        for auth in ruleset.authorities:
            self._add(auth.vocabulary)
        for weighted in (*ruleset.doctypes, *ruleset.actions):
            self._add(weighted.vocabulary)
        self.matcher = Matcher(
            (pattern, i, term.canonical)
            for i, vocab in enumerate(self.vocabs)
            for term in vocab.terms
            for pattern in term.patterns
        )
        self.masks = frozenset(
            self.index[e.vocabulary.name] for e in ruleset.exclusions.values() if e.mode == "mask"
        )
        self.topic_vocabs = frozenset(
            self.index[name] for name, v in ruleset.vocabularies.items() if v.kind == "topic"
        )
        self.field_weights = tuple(ruleset.scoring.field_weights[f] for f in FIELDS)
        self.rules = tuple(self._compile(r) for r in ruleset.rules)
        by_anchor: dict[int, list[CompiledRule]] = {}
        for cr in self.rules:
            by_anchor.setdefault(cr.require[0], []).append(cr)
        self.by_anchor = {k: tuple(v) for k, v in by_anchor.items()}

    def _add(self, vocab: Vocabulary) -> None:
        self.index[vocab.name] = len(self.vocabs)
        self.vocabs.append(vocab)

    def _compile(self, rule: Rule) -> CompiledRule:
        excl = tuple(
            CompiledExclusion(
                exclusion=e,
                vocab=self.index[e.vocabulary.name],
                fields=frozenset(FIELDS.index(f) for f in e.fields),
                unless=tuple(self.index[u] for u in e.unless),
            )
            for e in (self.ruleset.exclusions[name] for name in rule.exclude)
        )
        fields = frozenset(FIELDS.index(f) for f in rule.fields)
        return CompiledRule(
            rule=rule,
            require=tuple(self.index[v] for v in rule.require),
            fields=fields,
            all_fields=len(fields) == len(FIELDS),
            exclude=excl,
        )

    def scan(self, texts: Sequence[str]) -> dict[int, list[Hit]]:
        """Hits by vocabulary for the fields (title, summary, body), masks applied."""
        hits = self.matcher.hits([fold(t) if t else "" for t in texts])
        topical = [v for v in hits if v in self.topic_vocabs]
        if len(topical) > 1:
            self._drop_contained(hits, topical)
        if self.masks and not self.masks.isdisjoint(hits):
            spans = [h for m in self.masks for h in hits.pop(m, ())]
            for vocab, bucket in list(hits.items()):
                kept = [
                    h
                    for h in bucket
                    if not any(s[0] == h[0] and s[1] < h[2] and h[1] < s[2] for s in spans)
                ]
                if kept:
                    hits[vocab] = kept
                else:
                    del hits[vocab]
        return hits

    @staticmethod
    def _drop_contained(hits: dict[int, list[Hit]], topical: list[int]) -> None:
        """A topic's hit inside a longer hit of another topic is not that topic's: ``网贷`` in
        ``互联网贷款`` is an internet loan, not P2P."""
        original = {v: hits[v] for v in topical}
        for vocab in topical:
            others = [h for v in topical if v != vocab for h in original[v]]
            kept = [
                h
                for h in original[vocab]
                if not any(
                    o[0] == h[0] and o[1] <= h[1] and h[2] <= o[2] and o[2] - o[1] > h[2] - h[1]
                    for o in others
                )
            ]
            if kept:
                hits[vocab] = kept
            else:
                del hits[vocab]

    def evaluate(self, texts: Sequence[str]) -> Outcome:
        hits = self.scan(texts)
        if not hits:
            return EMPTY_OUTCOME
        fired: list[Fired] = []
        vetoed: list[Vetoed] = []
        missed: list[Missed] = []
        weights = self.field_weights
        for anchor in hits.keys() & self.by_anchor.keys():
            for cr in self.by_anchor[anchor]:
                chosen, reason = self._select(cr, hits)
                if chosen is None:
                    first = hits[anchor][0]
                    missed.append(Missed(cr, first, reason))
                    continue
                veto = self._veto(cr, chosen, hits)
                if veto is not None:
                    vetoed.append(Vetoed(cr, veto[0], veto[1]))
                    continue
                field = max(h[0] for _, h in chosen)
                fired.append(Fired(cr, chosen, field, cr.rule.weight * weights[field]))
        fired.sort(key=lambda f: (-f.rule.rule.flag, -f.relevance, f.rule.rule.name))
        return Outcome(hits, tuple(fired), tuple(vetoed), tuple(missed))

    def _candidates(self, cr: CompiledRule, hits: Mapping[int, list[Hit]]) -> list[list[Hit]]:
        lists: list[list[Hit]] = []
        for vocab in cr.require:
            bucket = hits.get(vocab)
            if bucket and not cr.all_fields:
                bucket = [h for h in bucket if h[0] in cr.fields]
            if not bucket:
                return lists
            lists.append(bucket)
        return lists

    def _select(
        self, cr: CompiledRule, hits: Mapping[int, list[Hit]]
    ) -> tuple[tuple[tuple[int, Hit], ...] | None, str]:
        lists = self._candidates(cr, hits)
        if len(lists) < len(cr.require):
            if not lists:
                return None, f"no match in its fields ({', '.join(cr.rule.fields)})"
            return None, f"needs a term of {cr.rule.require[len(lists)]!r}"
        near = cr.rule.near
        if not near:  # the first hit of each list is its best (title first, then earliest)
            return tuple(zip(cr.require, (b[0] for b in lists), strict=True)), ""
        for anchor in lists[0]:
            chosen = [(cr.require[0], anchor)]
            for vocab, bucket in zip(cr.require[1:], lists[1:], strict=True):
                for h in bucket:
                    if h[0] == anchor[0] and max(h[1], anchor[1]) - min(h[2], anchor[2]) <= near:
                        chosen.append((vocab, h))
                        break
                else:
                    break
            else:
                return tuple(chosen), ""
        return None, f"terms of {', '.join(cr.rule.require)} not within {near} characters"

    def _veto(
        self,
        cr: CompiledRule,
        chosen: tuple[tuple[int, Hit], ...],
        hits: Mapping[int, list[Hit]],
    ) -> tuple[CompiledExclusion, Hit] | None:
        for ce in cr.exclude:
            bucket = hits.get(ce.vocab)
            if not bucket:
                continue
            within = ce.exclusion.within
            for e in bucket:
                if e[0] not in ce.fields:
                    continue
                if within and not any(
                    h[0] == e[0] and max(h[1], e[1]) - min(h[2], e[2]) <= within for _, h in chosen
                ):
                    continue
                if any(u in hits for u in ce.unless):
                    break
                return ce, e
        return None
