"""Turn an engine Outcome (+ severity assessment) into a Verdict that explains itself.

Offsets in ``Match.start``/``Match.end`` are character offsets in the original field text
(folding keeps lengths, so they are equally valid in the folded text).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.classify.authority import ENFORCEMENT, Assessment
from pipeline.classify.engine import Engine, Fired, Outcome
from pipeline.classify.matcher import Hit
from pipeline.classify.rules import FIELDS
from pipeline.models import Match, Severity, Verdict


def snippet(text: str, start: int, end: int, context: int) -> str:
    """``context`` characters either side of ``text[start:end]``, ellipses where cut."""
    lo = max(0, start - context)
    hi = min(len(text), end + context)
    out = " ".join(text[lo:hi].split())
    return ("…" if lo > 0 else "") + out + ("…" if hi < len(text) else "")


def _where(term: str, h: Hit) -> str:
    return f"{term!r} in {FIELDS[h[0]]} [{h[1]}:{h[2]}]"


def _fired_line(leads: dict[tuple[int, int], str], f: Fired) -> str:
    if len(f.hits) == 1:  # most rules: one term
        v, h = f.hits[0]
        terms = f"{leads[h[3], v]}{FIELDS[h[0]]} [{h[1]}:{h[2]}]"
    else:
        terms = ", ".join([f"{leads[h[3], v]}{FIELDS[h[0]]} [{h[1]}:{h[2]}]" for v, h in f.hits])
    return f.rule.head + terms + f.rule.tails[f.field]


@dataclass(slots=True)
class Split:
    strong: list[Fired]  # flagging rules with enough relevance
    weak: list[Fired]  # flagging rules that matched only where relevance is too low (body)
    neighbours: list[Fired]  # flag = false rules


def split_fired(fired: Sequence[Fired], min_relevance: float) -> Split:
    split = Split([], [], [])
    for f in fired:
        if not f.rule.rule.flag:
            split.neighbours.append(f)
        elif f.relevance >= min_relevance:
            split.strong.append(f)
        else:
            split.weak.append(f)
    return split


def matches(engine: Engine, outcome: Outcome, fired: Sequence[Fired]) -> tuple[Match, ...]:
    """The hits behind each fired rule, then those behind each veto (kind "exclude").

    The terms that weighed the severity are named, with positions, in the severity line."""
    out: list[Match] = []
    seen: set[tuple[int, int, str]] = set()
    kinds, canonical = engine.kinds, engine.matcher.canonical
    for f in fired:
        rule = f.rule.rule
        for vocab, h in f.hits:
            key = (h[0], h[1], rule.name)
            if key not in seen:
                seen.add(key)
                term = canonical[h[3]][vocab]
                out.append(
                    Match(term, FIELDS[h[0]], h[1], h[2], rule.topic, rule.name, kinds[vocab])
                )
    for v in outcome.vetoed:
        h, rule = v.hit, v.rule.rule
        term = canonical[h[3]][v.exclusion.vocab]
        out.append(Match(term, FIELDS[h[0]], h[1], h[2], rule.topic, rule.name, "exclude"))
    return tuple(out)


def _headline(split: Split, outcome: Outcome, min_relevance: float) -> str:
    if split.strong:
        return f"flagged: {len(split.strong)} rule(s) say it affects online lending"
    if split.weak:
        w = split.weak[0]
        return (
            f"not flagged: matches only in {FIELDS[w.field]} "
            f"(relevance {w.relevance:g} < {min_relevance:g})"
        )
    if split.neighbours:
        return "not flagged: only neighbour topics (general credit/fintech policy)"
    if outcome.vetoed:
        return "not flagged: every matching rule was vetoed by an exclusion"
    return "not flagged: no rule matched"


def build(
    engine: Engine,
    texts: Sequence[str],
    outcome: Outcome,
    split: Split,
    assessed: Assessment | None,
    doc_numbers: tuple[str, ...],
    version: str,
) -> Verdict:
    scoring = engine.ruleset.scoring
    ranked = [*split.strong, *split.weak, *split.neighbours]
    lines = [_headline(split, outcome, scoring.min_relevance)]
    leads = engine.leads
    for f in ranked:
        lines.append(_fired_line(leads, f))
    for v in outcome.vetoed:
        unless = v.exclusion.exclusion.unless
        cancel = f" (and none of {', '.join(unless)} matched)" if unless else ""
        lines.append(
            f"rule {v.rule.rule.name} vetoed by exclusion {v.exclusion.exclusion.name}: "
            f"{_where(engine.term(v.exclusion.vocab, v.hit), v.hit)}{cancel}"
        )
    if outcome.missed and not split.strong:  # why not: only worth saying when not flagged
        for m in outcome.missed:
            lines.append(
                f"rule {m.rule.rule.name} not matched: "
                f"{_where(engine.term(m.rule.require[0], m.anchor), m.anchor)}, "
                f"but {m.rule.reason(m.missing)}"
            )
    if assessed is not None:
        lines.append(assessed.line)
    if doc_numbers:
        lines.append(f"document numbers: {', '.join(doc_numbers)}")
    lines.append(engine.version_line)

    snip = ""
    if ranked:
        h = ranked[0].hits[0][1]
        snip = snippet(texts[h[0]], h[1], h[2], scoring.snippet_chars)
    topics: list[str] = []
    for f in split.strong:
        if f.rule.rule.topic not in topics:
            topics.append(f.rule.rule.topic)
    if assessed is not None and assessed.enforcement and ENFORCEMENT not in topics:
        topics.append(ENFORCEMENT)  # a regulator acting on lenders: fines, rectification ...
    for f in split.neighbours:
        if f.rule.rule.topic not in topics:
            topics.append(f.rule.rule.topic)
    if assessed is not None:
        severity: Severity | None = assessed.severity
        score = assessed.score
        authority = assessed.authority
    else:
        severity = authority = None
        score = max([f.relevance for f in ranked]) if ranked else 0.0
    # Positional: the fields of Verdict in order (keyword parsing costs more, once per item).
    return Verdict(
        assessed is not None,
        severity,
        score,
        tuple(topics),
        matches(engine, outcome, ranked) + (assessed.marks if assessed is not None else ()),
        tuple(lines),
        authority,
        doc_numbers,
        snip,
        version,
    )
