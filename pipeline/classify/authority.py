"""Severity: relevance + issuing authority + document type + action, added up.

    score = relevance      rule weight x field weight (title 1.0 > summary > body)
          + authority      the strongest of: the source's issuer (registry weight), the source's
                           authority kind (regulator/association/media) when the issuer is unknown,
                           and every authority named in the text (x field weight)
          + document type  the strongest document-type term (x field weight); a 发文字号 counts
                           as a numbered official document at least
          + action         the strongest action term (x field weight)
    severity = high if score >= scoring.high, medium if >= scoring.medium, else low

The registry, document types and actions with their weights live in ``rules.toml``
(``[authorities.*]``, ``[doctypes.*]``, ``[actions.*]``), so the rules version covers them.
Issuer keys are the ``issuer`` values of ``sources.toml`` (pboc, nfra, csrc, state-council, ...).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pipeline.classify.matcher import Hit, HitIndex
from pipeline.classify.normalize import fold_term
from pipeline.classify.rules import FIELDS, Authority, RuleSet, Weighted
from pipeline.models import Severity

# A document with a 发文字号 is at least a normative document of this weight.
NUMBERED_DOCTYPE = "normative"
# A flagged item with a term of this action (``[actions.enforcement]``) gets this topic too.
ENFORCEMENT = "enforcement"
_NONE: tuple[float, str, Hit | None] = (0.0, "", None)


# One addend of the score: (label, weight, what produced it); label is relevance | authority |
# doctype | action. A tuple: four are built for every flagged item.
Part = tuple[str, float, str]


@dataclass(slots=True)
class Assessment:
    score: float
    severity: Severity
    parts: tuple[Part, ...]
    authority: str | None
    enforcement: bool = False  # an [actions.enforcement] term matched

    def arithmetic(self, high: float, medium: float) -> str:
        terms = " + ".join(
            [f"{label} {weight:g} ({detail})" for label, weight, detail in self.parts]
        )
        return (
            f"severity: {terms} = {self.score:g} -> {self.severity} "
            f"(high >= {high:g}, medium >= {medium:g})"
        )


class Registry:
    """Authorities, document types and actions, resolved against an engine's vocabularies."""

    def __init__(
        self,
        ruleset: RuleSet,
        vocab_index: Mapping[str, int],
        canonical: Sequence[Mapping[int, str]],
    ) -> None:
        self.canonical = canonical
        self.scoring = ruleset.scoring
        self.field_weights = tuple(ruleset.scoring.field_weights[f] for f in FIELDS)
        self.source_authority = ruleset.source_authority
        self.authorities: dict[int, Authority] = {
            vocab_index[a.vocabulary.name]: a for a in ruleset.authorities
        }
        self.doctypes: dict[int, Weighted] = {
            vocab_index[d.vocabulary.name]: d for d in ruleset.doctypes
        }
        self.actions: dict[int, Weighted] = {
            vocab_index[a.vocabulary.name]: a for a in ruleset.actions
        }
        self.weighted: dict[int, tuple[str, Authority | Weighted]] = {
            **{v: ("authority", a) for v, a in self.authorities.items()},
            **{v: ("doctype", d) for v, d in self.doctypes.items()},
            **{v: ("action", a) for v, a in self.actions.items()},
        }
        self.weighted_vocabs = frozenset(self.weighted)
        self.enforcement_vocab = next(
            (v for v, a in self.actions.items() if a.key == ENFORCEMENT), None
        )
        self.numbered = next((d for d in ruleset.doctypes if d.key == NUMBERED_DOCTYPE), None)
        self._by_name: dict[str, Authority] = {}
        for a in ruleset.authorities:
            self._by_name[a.key.lower()] = a
            self._by_name[fold_term(a.name)] = a
            for term in a.vocabulary.terms:
                for pattern in term.patterns:
                    self._by_name.setdefault(pattern, a)

    def resolve(self, issuer: str) -> Authority | None:
        """An authority by issuer key (``nfra``), name or alias (``银保监会``); None if unknown."""
        return self._by_name.get(issuer.strip().lower()) or self._by_name.get(fold_term(issuer))

    def _strongest(self, hits: HitIndex) -> dict[str, tuple[float, str, Hit | None]]:
        """The strongest named authority, document type and action among the hits."""
        best: dict[str, tuple[float, int, Authority | Weighted, Hit]] = {}
        weights = self.field_weights
        for vocab in hits.present & self.weighted_vocabs:
            label, entry = self.weighted[vocab]
            top = best[label][0] if label in best else 0.0
            for h in hits.get(vocab):
                weight = entry.weight * weights[h[0]]
                if weight > top:
                    top = weight
                    best[label] = (weight, vocab, entry, h)
        canonical = self.canonical
        return {
            label: (w, f"{e.name}: {canonical[h[3]][v]!r} in {FIELDS[h[0]]} [{h[1]}:{h[2]}]", h)
            for label, (w, v, e, h) in best.items()
        }

    def assess(
        self,
        relevance: float,
        relevance_detail: str,
        hits: HitIndex,
        *,
        issuer: str | None,
        authority: str | None,
        doc_numbers: Sequence[str],
    ) -> Assessment:
        parts: list[Part] = [("relevance", relevance, relevance_detail)]
        strongest = self._strongest(hits)
        named = strongest.get("authority", _NONE)
        source: tuple[float, str, str | None] = (0.0, "media source", None)
        if issuer:
            known = self.resolve(issuer)
            if known is not None:
                source = (known.weight, f"{known.name}: source issuer", known.name)
            else:
                source = (0.0, f"unknown issuer {issuer!r}", None)
        if authority and source[2] is None:
            weight = self.source_authority.get(authority, 0.0)
            if weight > source[0]:
                source = (weight, f"{authority} source", None)
        auth_name: str | None
        if named[0] > source[0]:
            auth_name = named[1].split(":", 1)[0]
            parts.append(("authority", named[0], named[1]))
        else:
            auth_name = source[2]
            parts.append(("authority", source[0], source[1]))
        doctype = strongest.get("doctype", _NONE)
        if doc_numbers and self.numbered is not None and self.numbered.weight > doctype[0]:
            doctype = (self.numbered.weight, f"{self.numbered.name}: {doc_numbers[0]}", None)
        parts.append(("doctype", doctype[0], doctype[1] or "news"))
        action = strongest.get("action", _NONE)
        parts.append(("action", action[0], action[1] or "none"))
        score = round(parts[0][1] + parts[1][1] + parts[2][1] + parts[3][1], 2)
        severity: Severity = (
            "high"
            if score >= self.scoring.high
            else "medium"
            if score >= self.scoring.medium
            else "low"
        )
        enforcement = self.enforcement_vocab is not None and self.enforcement_vocab in hits.present
        return Assessment(score, severity, tuple(parts), auth_name, enforcement)
