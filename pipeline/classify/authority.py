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
from pipeline.models import Match, Severity

# A document with a 发文字号 is at least a normative document of this weight.
NUMBERED_DOCTYPE = "normative"
# A flagged item with a term of this action (``[actions.enforcement]``) gets this topic too.
ENFORCEMENT = "enforcement"
# The strongest term of a label: (weight, weight formatted with :g, vocabulary, hit).
_Best = tuple[float, str, int, Hit]
_NONE: tuple[float, str, str] = (0.0, "0", "")
LABELS = ("authority", "doctype", "action")  # slots 0, 1, 2 of the strongest terms


@dataclass(slots=True)
class Assessment:
    score: float
    severity: Severity
    line: str  # the severity arithmetic, as the explanation shows it
    authority: str | None
    enforcement: bool = False  # an [actions.enforcement] term matched
    # the document-type and action hits that scored, as Match objects of kind "doctype:<key>" /
    # "action:<key>" (the rules.toml table keys), so readers need not parse ``line``
    marks: tuple[Match, ...] = ()


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
        self.enforcement_vocab = next(
            (v for v, a in self.actions.items() if a.key == ENFORCEMENT), None
        )
        self.numbered = next((d for d in ruleset.doctypes if d.key == NUMBERED_DOCTYPE), None)
        # Hot-path tables, formatted once: per weighted vocabulary its label and its weight x
        # field weight (as a number and as ``:g`` text) per field; per (pattern, vocabulary) the
        # start of the description ("name: 'term' in "); the end of the severity line.
        self._fw: dict[int, tuple[str, tuple[float, ...], tuple[str, ...]]] = {}
        for v, (label, entry) in self.weighted.items():
            ws = tuple(entry.weight * w for w in self.field_weights)
            self._fw[v] = (label, ws, tuple(f"{w:g}" for w in ws))
        # Per pattern: the weighted vocabularies owning it, each with its label and weights (an
        # empty tuple for most patterns), so one pass over an item's hits finds the strongest.
        self._by_pattern: tuple[
            tuple[tuple[int, int, tuple[float, ...], tuple[str, ...]], ...], ...
        ]
        self._by_pattern = tuple(
            tuple(
                (v, LABELS.index(self._fw[v][0]), self._fw[v][1], self._fw[v][2])
                for v in sorted(terms)
                if v in self.weighted
            )
            for terms in canonical
        )
        self._weighted_pids = frozenset(i for i, e in enumerate(self._by_pattern) if e)
        # Match.kind of a document type's or action's mark: "doctype:<key>" / "action:<key>".
        self._mark_kind: dict[int, str] = {
            **{v: f"doctype:{d.key}" for v, d in self.doctypes.items()},
            **{v: f"action:{a.key}" for v, a in self.actions.items()},
        }
        self._lead: dict[tuple[int, int], str] = {
            (pid, v): f"{self.weighted[v][1].name}: {term!r} in "
            for pid, terms in enumerate(canonical)
            for v, term in terms.items()
            if v in self.weighted
        }
        self._numbered_g = f"{self.numbered.weight:g}" if self.numbered is not None else ""
        scoring = ruleset.scoring
        self._limits = f" (high >= {scoring.high:g}, medium >= {scoring.medium:g})"
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

    def _strongest(self, hits: HitIndex) -> list[_Best | None]:
        """The strongest named authority, document type and action among the hits (slots of
        ``LABELS``): the highest weight, and of equal weights the first in text order."""
        best: list[_Best | None] = [None, None, None]
        if hits.pids.isdisjoint(self._weighted_pids):
            return best
        by_pattern = self._by_pattern
        for h in hits.raw:
            for vocab, slot, weights, texts in by_pattern[h[3]]:
                weight = weights[h[0]]
                current = best[slot]
                if weight > (current[0] if current is not None else 0.0):
                    best[slot] = (weight, texts[h[0]], vocab, h)
        return best

    def _describe(self, best: _Best) -> tuple[float, str, str]:
        weight, text, vocab, h = best
        return weight, text, f"{self._lead[h[3], vocab]}{FIELDS[h[0]]} [{h[1]}:{h[2]}]"

    def assess(
        self,
        relevance: float,
        relevance_text: str,
        relevance_detail: str,
        hits: HitIndex,
        *,
        issuer: str | None,
        authority: str | None,
        doc_numbers: Sequence[str],
    ) -> Assessment:
        """``relevance_text``: ``relevance`` formatted with ``:g`` (the caller has it cached)."""
        named_best, doctype_best, action_best = self._strongest(hits)
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
        if named_best is not None and named_best[0] > source[0]:
            auth = self._describe(named_best)
            auth_name = self.weighted[named_best[2]][1].name
        else:
            auth_name = source[2]
            auth = (source[0], f"{source[0]:g}", source[1])
        doctype = _NONE if doctype_best is None else self._describe(doctype_best)
        numbered = self.numbered
        if doc_numbers and numbered is not None and numbered.weight > doctype[0]:
            doctype = (numbered.weight, self._numbered_g, f"{numbered.name}: {doc_numbers[0]}")
        action = _NONE if action_best is None else self._describe(action_best)
        score = round(relevance + auth[0] + doctype[0] + action[0], 2)
        scoring = self.scoring
        severity: Severity = (
            "high" if score >= scoring.high else "medium" if score >= scoring.medium else "low"
        )
        line = (
            f"severity: relevance {relevance_text} ({relevance_detail}) + "
            f"authority {auth[1]} ({auth[2]}) + doctype {doctype[1]} ({doctype[2] or 'news'}) + "
            f"action {action[1]} ({action[2] or 'none'}) = {score:g} -> {severity}{self._limits}"
        )
        enforcement = self.enforcement_vocab is not None and self.enforcement_vocab in hits
        if doctype_best is None and action_best is None:
            return Assessment(score, severity, line, auth_name, enforcement)
        marks = tuple(self._mark(b) for b in (doctype_best, action_best) if b is not None)
        return Assessment(score, severity, line, auth_name, enforcement, marks)

    def _mark(self, best: _Best) -> Match:
        vocab, h = best[2], best[3]
        term = self.canonical[h[3]][vocab]
        return Match(term, FIELDS[h[0]], h[1], h[2], "", "severity", self._mark_kind[vocab])
