"""Measure the classifier on labelled JSON lines (``label`` 0/1/2; 2 = affects online lending).

Positive = label 2, predicted positive = ``verdict.flagged``. Label-1 items (general credit
policy, general fintech rules) count neither way for precision/recall, but how many of them got
flagged, or flagged ``high``, is reported: none should be ``high``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pipeline.classify import Classifier
from pipeline.classify.rules import AUTHORITY_KINDS
from pipeline.jsonline import read_record
from pipeline.models import Verdict


@dataclass(frozen=True, slots=True)
class Scored:
    line: int
    id: str
    title: str
    label: int
    verdict: Verdict
    lang: str = ""  # the record's ``lang`` (zh, zh-hant, en ...), if it has one


@dataclass(frozen=True, slots=True)
class EvalReport:
    scored: tuple[Scored, ...]
    bad_lines: tuple[tuple[int, str], ...] = field(default_factory=tuple)

    def _count(self, label: int, flagged: bool) -> int:
        return sum(1 for s in self.scored if s.label == label and s.verdict.flagged == flagged)

    @property
    def true_positives(self) -> int:
        return self._count(2, True)

    @property
    def false_negatives(self) -> int:
        return self._count(2, False)

    @property
    def false_positives(self) -> int:
        return self._count(0, True)

    @property
    def precision(self) -> float:
        predicted = self.true_positives + self.false_positives
        return self.true_positives / predicted if predicted else 0.0

    @property
    def recall(self) -> float:
        actual = self.true_positives + self.false_negatives
        return self.true_positives / actual if actual else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def by_label(self, label: int) -> tuple[Scored, ...]:
        return tuple(s for s in self.scored if s.label == label)

    @property
    def misses(self) -> tuple[Scored, ...]:
        return tuple(s for s in self.scored if s.label == 2 and not s.verdict.flagged)

    @property
    def false_alarms(self) -> tuple[Scored, ...]:
        return tuple(s for s in self.scored if s.label == 0 and s.verdict.flagged)

    @property
    def label1_flagged(self) -> tuple[Scored, ...]:
        return tuple(s for s in self.scored if s.label == 1 and s.verdict.flagged)

    @property
    def label1_high(self) -> tuple[Scored, ...]:
        return tuple(s for s in self.label1_flagged if s.verdict.severity == "high")

    def by_language(self) -> dict[str, EvalReport]:
        """One report per ``lang`` of the records (in order of first appearance); empty when
        no record has one."""
        langs: dict[str, list[Scored]] = {}
        for s in self.scored:
            if s.lang:
                langs.setdefault(s.lang, []).append(s)
        return {lang: EvalReport(tuple(rows)) for lang, rows in langs.items()}


def source_hints(record: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(issuer, authority kind) from a record's ``issuer``/``authority``/``kind`` fields.

    ``authority`` may hold an issuer key or name (``pboc``, ``人民银行``) or a kind
    (``regulator``); a ``kind`` of ``regulator`` (as in the labelled set) marks the source kind.
    """
    issuer = record.get("issuer")
    authority = record.get("authority")
    kind: str | None = None
    if isinstance(authority, str) and authority in AUTHORITY_KINDS:
        kind = authority
    elif isinstance(authority, str) and authority and not issuer:
        issuer = authority
    if kind is None and record.get("kind") in AUTHORITY_KINDS:
        kind = str(record["kind"])
    return (str(issuer) if issuer else None), kind


def parse_labelled(text: str) -> dict[str, Any]:
    """One labelled line -> its record; raises ValueError naming what is wrong."""
    record = read_record(text, need_id=False)
    if record.get("label") not in (0, 1, 2) or isinstance(record.get("label"), bool):
        raise ValueError(f"'label' must be 0, 1 or 2, got {record.get('label')!r}")
    if not isinstance(record.get("summary", ""), str):
        raise ValueError("'summary' must be a string")
    return record


def evaluate(classifier: Classifier, lines: Iterable[str]) -> EvalReport:
    """Classify every labelled line; bad lines are collected, not fatal."""
    scored: list[Scored] = []
    bad: list[tuple[int, str]] = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            record = parse_labelled(raw)
        except ValueError as e:
            bad.append((number, str(e)))
            continue
        issuer, kind = source_hints(record)
        verdict = classifier.classify(
            record["title"], record.get("summary") or "", issuer=issuer, authority=kind, detail=True
        )
        item_id = str(record.get("id", number))
        lang = record.get("lang")
        scored.append(
            Scored(
                number,
                item_id,
                record["title"],
                int(record["label"]),
                verdict,
                lang if isinstance(lang, str) else "",
            )
        )
    return EvalReport(tuple(scored), tuple(bad))
