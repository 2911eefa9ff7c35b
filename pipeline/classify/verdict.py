"""Turn an engine Outcome (+ severity assessment) into a Verdict that explains itself.

Offsets in ``Match.start``/``Match.end`` are character offsets in the original field text
(folding keeps lengths, so they are equally valid in the folded text).
"""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.classify.authority import Assessment
from pipeline.classify.engine import Engine, Fired, Outcome
from pipeline.classify.matcher import Hit
from pipeline.classify.rules import FIELDS
from pipeline.models import Match, Verdict


def _kind(engine: Engine, vocab: int) -> str:
    v = engine.vocabs[vocab]
    return "term" if v.kind == "topic" else v.name


def snippet(text: str, start: int, end: int, context: int) -> str:
    """``context`` characters either side of ``text[start:end]``, ellipses where cut."""
    lo = max(0, start - context)
    hi = min(len(text), end + context)
    out = " ".join(text[lo:hi].split())
    return ("…" if lo > 0 else "") + out + ("…" if hi < len(text) else "")


def _where(h: Hit) -> str:
    return f"{h[3]!r} in {FIELDS[h[0]]} [{h[1]}:{h[2]}]"


def _fired_line(engine: Engine, f: Fired) -> str:
    r = f.rule.rule
    terms = ", ".join(_where(h) for _, h in f.hits)
    role = "flags" if r.flag else "neighbour topic, never flags"
    near = f" within {r.near} chars" if r.near else ""
    weight = engine.field_weights[f.field]
    return (
        f"rule {r.name} (topic {r.topic}; {role}) matched{near}: {terms}; "
        f"relevance {r.weight:g} x {FIELDS[f.field]} {weight:g} = {f.relevance:g}"
    )


def matches(
    engine: Engine, outcome: Outcome, fired: Sequence[Fired], assessed: Assessment | None
) -> tuple[Match, ...]:
    out: list[Match] = []
    seen: set[tuple[str, int, int, str]] = set()

    def add(h: Hit, topic: str, rule: str, kind: str) -> None:
        key = (h[3], h[0], h[1], rule)
        if key not in seen:
            seen.add(key)
            out.append(Match(h[3], FIELDS[h[0]], h[1], h[2], topic, rule, kind))

    for f in fired:
        for vocab, h in f.hits:
            add(h, f.rule.rule.topic, f.rule.rule.name, _kind(engine, vocab))
    for v in outcome.vetoed:
        add(v.hit, v.rule.rule.topic, v.rule.rule.name, "exclude")
    if assessed is not None:
        for part in assessed.parts:
            if part.hit is not None:
                add(part.hit, "", "severity", part.label)
    return tuple(out)


def build(
    engine: Engine,
    texts: Sequence[str],
    outcome: Outcome,
    assessed: Assessment | None,
    doc_numbers: tuple[str, ...],
    version: str,
) -> Verdict:
    scoring = engine.ruleset.scoring
    strong = [f for f in outcome.fired if f.rule.rule.flag and f.relevance >= scoring.min_relevance]
    weak = [f for f in outcome.fired if f.rule.rule.flag and f.relevance < scoring.min_relevance]
    neighbours = [f for f in outcome.fired if not f.rule.rule.flag]
    flagged = bool(strong)
    lines: list[str] = []
    if flagged:
        lines.append(f"flagged: {len(strong)} rule(s) say it affects online lending")
    elif weak:
        lines.append(
            f"not flagged: matches only in {FIELDS[weak[0].field]} "
            f"(relevance {weak[0].relevance:g} < {scoring.min_relevance:g})"
        )
    elif neighbours:
        lines.append("not flagged: only neighbour topics (general credit/fintech policy)")
    elif outcome.vetoed:
        lines.append("not flagged: every matching rule was vetoed by an exclusion")
    else:
        lines.append("not flagged: no rule matched")
    lines.extend(_fired_line(engine, f) for f in (*strong, *weak, *neighbours))
    for v in outcome.vetoed:
        unless = v.exclusion.exclusion.unless
        cancel = f" (and none of {', '.join(unless)} matched)" if unless else ""
        lines.append(
            f"rule {v.rule.rule.name} vetoed by exclusion {v.exclusion.exclusion.name}: "
            f"{_where(v.hit)}{cancel}"
        )
    fired_names = {f.rule.rule.name for f in outcome.fired}
    for m in outcome.missed:
        if m.rule.rule.name not in fired_names:
            lines.append(f"rule {m.rule.rule.name} not matched: {_where(m.anchor)}, but {m.reason}")
    if assessed is not None:
        lines.append(assessed.arithmetic(scoring.high, scoring.medium))
    if doc_numbers:
        lines.append(f"document numbers: {', '.join(doc_numbers)}")
    lines.append(f"rules version {version}")

    ranked = strong or weak or neighbours
    snip = ""
    if ranked:
        h = ranked[0].hits[0][1]
        snip = snippet(texts[h[0]], h[1], h[2], scoring.snippet_chars)
    topics: list[str] = []
    for f in (*strong, *neighbours):
        if f.rule.rule.topic not in topics:
            topics.append(f.rule.rule.topic)
    if flagged and assessed is not None:
        score, severity = assessed.score, assessed.severity
    else:
        score = max((f.relevance for f in outcome.fired), default=0.0)
        severity = None
    return Verdict(
        flagged=flagged,
        severity=severity,
        score=score,
        topics=tuple(topics),
        matches=matches(engine, outcome, (*strong, *weak, *neighbours), assessed),
        explanation=tuple(lines),
        authority=assessed.authority if assessed is not None else None,
        doc_numbers=doc_numbers,
        snippet=snip,
        rules_version=version,
    )
