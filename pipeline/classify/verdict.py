"""Turn an engine Outcome (+ severity assessment) into a Verdict that explains itself.

Offsets in ``Match.start``/``Match.end`` are character offsets in the original field text (the
matcher maps them back when a traditional phrase converted to a different length).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.classify.authority import ENFORCEMENT, Assessment
from pipeline.classify.engine import Engine, Fired, Outcome
from pipeline.classify.matcher import Hit
from pipeline.classify.rules import FIELDS
from pipeline.models import Match, Verdict


def snippet(text: str, start: int, end: int, context: int) -> str:
    """``context`` characters either side of ``text[start:end]``, ellipses where cut."""
    lo = max(0, start - context)
    hi = min(len(text), end + context)
    out = " ".join(text[lo:hi].split())
    return ("…" if lo > 0 else "") + out + ("…" if hi < len(text) else "")


def _where(term: str, h: Hit) -> str:
    return f"{term!r} in {FIELDS[h[0]]} [{h[1]}:{h[2]}]"


@dataclass(slots=True)
class Split:
    strong: list[Fired]  # flagging rules with enough relevance
    weak: list[Fired]  # flagging rules that matched only where relevance is too low (body)
    neighbours: list[Fired]  # flag = false rules


def split_fired(fired: Sequence[Fired], min_relevance: float) -> Split:
    split = Split([], [], [])
    for f in fired:
        if f.rule.never_flags:
            split.neighbours.append(f)
        elif f.relevance >= min_relevance:
            split.strong.append(f)
        else:
            split.weak.append(f)
    return split


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
    strong = split.strong
    ranked = [*strong, *split.weak, *split.neighbours] if split.weak or split.neighbours else strong
    lines = [_headline(split, outcome, scoring.min_relevance)]
    # One pass over the fired rules gives their explanation lines and their matches.
    leads, kinds, canonical = engine.leads, engine.kinds, engine.matcher.canonical
    found: list[Match] = []
    seen: set[tuple[int, int, str]] = set()
    for f in ranked:
        cr = f.rule
        name = cr.name
        wheres = []
        for vocab, h in f.hits:
            field = FIELDS[h[0]]
            wheres.append(f"{leads[h[3], vocab]}{field} [{h[1]}:{h[2]}]")
            key = (h[0], h[1], name)
            if key not in seen:
                seen.add(key)
                term = canonical[h[3]][vocab]
                found.append(Match(term, field, h[1], h[2], cr.topic, name, kinds[vocab]))
        lines.append(cr.head + ", ".join(wheres) + cr.tails[f.field])
    for v in outcome.vetoed:
        excl = v.exclusion.exclusion
        where = "/".join(excl.fields)
        cancel = (
            f" (and none of {', '.join(excl.unless)} matched in {where})" if excl.unless else ""
        )
        term = engine.term(v.exclusion.vocab, v.hit)
        lines.append(
            f"rule {v.rule.name} vetoed by exclusion {excl.name}: {_where(term, v.hit)}{cancel}"
        )
        h = v.hit
        found.append(Match(term, FIELDS[h[0]], h[1], h[2], v.rule.topic, v.rule.name, "exclude"))
    if outcome.missed and not strong:  # why not: only worth saying when not flagged
        for m in outcome.missed:
            lines.append(
                f"rule {m.rule.name} not matched: "
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
    for f in strong:
        if f.rule.topic not in topics:
            topics.append(f.rule.topic)
    if assessed is not None and assessed.enforcement and ENFORCEMENT not in topics:
        topics.append(ENFORCEMENT)  # a regulator acting on lenders: fines, rectification ...
    for f in split.neighbours:
        if f.rule.topic not in topics:
            topics.append(f.rule.topic)
    if assessed is not None:
        return Verdict(
            flagged=True,
            severity=assessed.severity,
            score=assessed.score,
            topics=tuple(topics),
            matches=(*found, *assessed.marks),
            explanation=tuple(lines),
            authority=assessed.authority,
            doc_numbers=doc_numbers,
            snippet=snip,
            rules_version=version,
        )
    return Verdict(
        flagged=False,
        severity=None,
        score=max([f.relevance for f in ranked]) if ranked else 0.0,
        topics=tuple(topics),
        matches=tuple(found),
        explanation=tuple(lines),
        doc_numbers=doc_numbers,
        snippet=snip,
        rules_version=version,
    )
