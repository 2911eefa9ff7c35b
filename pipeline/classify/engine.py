"""Rule evaluation: hits per vocabulary -> fired, vetoed and nearly-fired rules.

A rule fires when every vocabulary in ``require`` has a hit in the rule's fields
(co-occurrence); with ``near`` > 0 all of them must sit in one field within ``near`` characters of
the hit of the first vocabulary, the rule's *anchor*. A fired rule is then vetoed by any of its
``exclude`` exclusions that matched (in the exclusion's fields, within ``within`` characters of
the rule's hits if set) unless a vocabulary in the exclusion's ``unless`` matched too, in the
exclusion's fields. Mask exclusions act before all this: a hit overlapping a mask's match is
dropped (``存款利率上限`` hides ``利率上限``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.classify.matcher import Hit, HitIndex, Matcher
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
    head: str  # the start of its explanation line, formatted once
    tails: tuple[str, ...]  # the end of it (the relevance arithmetic), per field
    # Precomputed for the hot path: relevance per field (weight x field weight), whether the
    # first hit of its only vocabulary always decides (one requirement, every field), the
    # vocabularies of its exclusions, and the constant part of its sort key.
    relevances: tuple[float, ...]
    relevance_texts: tuple[str, ...]  # the same, formatted with :g
    relevance_detail: str  # "rule NAME", as the severity line names it
    simple: bool
    excluded: frozenset[int]  # the patterns of its exclusions' vocabularies
    never_flags: bool
    name: str  # the rule's name and topic, one attribute lookup away
    topic: str

    def reason(self, missing: int) -> str:
        """Why it did not fire: requirement ``missing`` had no hit (-1: hits too far apart)."""
        r = self.rule
        if missing < 0:
            return f"terms of {', '.join(r.require)} not within {r.near} characters"
        if missing == 0:
            return f"no match in its fields ({', '.join(r.fields)})"
        return f"needs a term of {r.require[missing]!r}"


@dataclass(slots=True)
class Fired:
    rule: CompiledRule
    hits: tuple[tuple[int, Hit], ...]  # (vocabulary index, hit) per required vocabulary
    field: int  # the weakest field among the hits (decides the relevance)
    relevance: float


@dataclass(slots=True)
class Vetoed:
    rule: CompiledRule
    exclusion: CompiledExclusion
    hit: Hit


@dataclass(slots=True)
class Missed:
    rule: CompiledRule
    anchor: Hit
    missing: int  # see CompiledRule.reason


@dataclass(slots=True)
class Outcome:
    hits: HitIndex
    fired: list[Fired]
    vetoed: list[Vetoed]
    missed: list[Missed]


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
        masks = frozenset(
            self.index[e.vocabulary.name] for e in ruleset.exclusions.values() if e.mode == "mask"
        )
        topics = frozenset(
            self.index[name] for name, v in ruleset.vocabularies.items() if v.kind == "topic"
        )
        self.matcher = Matcher(
            (
                (pattern, i, term.canonical)
                for i, vocab in enumerate(self.vocabs)
                for term in vocab.terms
                for pattern in term.patterns
            ),
            masks=masks,
            topics=topics,
        )
        self.field_weights = tuple(ruleset.scoring.field_weights[f] for f in FIELDS)
        self.version_line = f"rules version {ruleset.version}"
        self.rules = tuple(self._compile(r) for r in ruleset.rules)
        # A rule's first requirement is its anchor. The plan: (anchor vocabulary, its rules), in
        # the order of rules.toml; per pattern, the indexes of the plan steps it anchors; the
        # patterns that anchor some rule (an item with none of them is decided at once).
        by_anchor: dict[int, list[CompiledRule]] = {}
        for cr in self.rules:
            by_anchor.setdefault(cr.require[0], []).append(cr)
        self.plan = tuple((anchor, tuple(rules)) for anchor, rules in by_anchor.items())
        self.anchor_of: tuple[tuple[int, ...], ...] = tuple(
            tuple(i for i, (anchor, _) in enumerate(self.plan) if anchor in vocabs)
            for vocabs in self.matcher.vocab_sets
        )
        self.anchored = frozenset(i for i, steps in enumerate(self.anchor_of) if steps)
        self.empty = Outcome(HitIndex([], set(), self.matcher.vocab_pids), [], [], [])  # shared
        # Match.kind per vocabulary: "term" for a topic's own terms, else the vocabulary's name.
        self.kinds = tuple("term" if v.kind == "topic" else v.name for v in self.vocabs)
        # (pattern, vocabulary) -> "'term' in ", the start of every "where" in explanations.
        self.leads: dict[tuple[int, int], str] = {
            (pid, v): f"{term!r} in "
            for pid, terms in enumerate(self.matcher.canonical)
            for v, term in terms.items()
        }

    def term(self, vocab: int, hit: Hit) -> str:
        """The canonical term of ``vocab`` that ``hit`` matched."""
        return self.matcher.canonical[hit[3]][vocab]

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
        role = "flags" if rule.flag else "neighbour topic, never flags"
        near = f" within {rule.near} chars" if rule.near else ""
        return CompiledRule(
            rule=rule,
            require=tuple(self.index[v] for v in rule.require),
            fields=fields,
            all_fields=len(fields) == len(FIELDS),
            exclude=excl,
            head=f"rule {rule.name} (topic {rule.topic}; {role}) matched{near}: ",
            tails=tuple(
                f"; relevance {rule.weight:g} x {name} {weight:g} = {rule.weight * weight:g}"
                for name, weight in zip(FIELDS, self.field_weights, strict=True)
            ),
            relevances=tuple(rule.weight * weight for weight in self.field_weights),
            relevance_texts=tuple(f"{rule.weight * weight:g}" for weight in self.field_weights),
            relevance_detail=f"rule {rule.name}",
            simple=len(rule.require) == 1 and len(fields) == len(FIELDS),
            excluded=frozenset().union(*[self.matcher.vocab_pids[ce.vocab] for ce in excl]),
            never_flags=not rule.flag,
            name=rule.name,
            topic=rule.topic,
        )

    def evaluate(self, texts: Sequence[str], *, detail: bool = False) -> Outcome:
        """Fired and vetoed rules; with ``detail`` also the rules whose anchor matched but that
        did not fire (near misses, for ``lendwatch explain``)."""
        hits = self.matcher.scan(texts, self.anchored)
        if hits is None:
            return self.empty  # no rule can fire: the common case, decided cheaply
        outcome = Outcome(hits, [], [], [])
        pids = hits.pids
        fired = outcome.fired
        anchor_of, plan = self.anchor_of, self.plan
        steps = {i for p in pids for i in anchor_of[p]}
        for step in sorted(steps) if len(steps) > 1 else steps:
            anchor, rules = plan[step]
            for cr in rules:
                chosen: tuple[tuple[int, Hit], ...]
                if cr.simple:  # most rules: the anchor's first hit (title first, then earliest)
                    chosen = ((anchor, hits.get(anchor)[0]),)
                else:
                    selected, missing = self._select(cr, hits)
                    if selected is None:
                        if detail:
                            outcome.missed.append(Missed(cr, hits.get(anchor)[0], missing))
                        continue
                    chosen = selected
                if cr.excluded and not cr.excluded.isdisjoint(pids):
                    veto = self._veto(cr, chosen, hits)
                    if veto is not None:
                        outcome.vetoed.append(Vetoed(cr, veto[0], veto[1]))
                        continue
                field = max([h[0] for _, h in chosen]) if len(chosen) > 1 else chosen[0][1][0]
                fired.append(Fired(cr, chosen, field, cr.relevances[field]))
        if len(fired) > 1:
            fired.sort(key=_rank)
        return outcome

    def _candidates(self, cr: CompiledRule, hits: HitIndex) -> list[list[Hit]]:
        lists: list[list[Hit]] = []
        for vocab in cr.require:
            bucket = hits.get(vocab)
            if not bucket:
                return lists
            if not cr.all_fields:
                bucket = [h for h in bucket if h[0] in cr.fields]
                if not bucket:
                    return lists
            lists.append(bucket)
        return lists

    def _select(
        self, cr: CompiledRule, hits: HitIndex
    ) -> tuple[tuple[tuple[int, Hit], ...] | None, int]:
        """The hits that make the rule fire, or None and the missing requirement."""
        lists = self._candidates(cr, hits)
        if len(lists) < len(cr.require):
            return None, len(lists)
        near = cr.rule.near
        if not near:  # the first hit of each list is its best (title first, then earliest)
            return tuple(zip(cr.require, (b[0] for b in lists), strict=True)), 0
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
                return tuple(chosen), 0
        return None, -1

    @staticmethod
    def _veto(
        cr: CompiledRule, chosen: tuple[tuple[int, Hit], ...], hits: HitIndex
    ) -> tuple[CompiledExclusion, Hit] | None:
        for ce in cr.exclude:
            if ce.vocab not in hits:
                continue
            within = ce.exclusion.within
            for e in hits.get(ce.vocab):
                if e[0] not in ce.fields:
                    continue
                if within and not any(
                    h[0] == e[0] and max(h[1], e[1]) - min(h[2], e[2]) <= within for _, h in chosen
                ):
                    continue
                if any(h[0] in ce.fields for u in ce.unless for h in hits.get(u)):
                    break
                return ce, e
        return None


def _rank(f: Fired) -> tuple[bool, float, str]:
    return (f.rule.never_flags, -f.relevance, f.rule.name)
