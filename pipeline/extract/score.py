"""Score the extractor on a labelled file: JSON lines ``{"id", "title", "body", "published",
"expected": {<the fields of a lendwatch extract line>}}`` (``attachments`` optional).

Every field is an exact match per item (``effective_raw`` ignoring whitespace, ``repeals`` as
an ordered list); the penalty is scored as four fields -- the set of parties, the amount (to
the fen), the authority, the decision date -- with a null penalty matching a null one. Dates are
also counted as missed (None where one was expected) or wrong (a different date): a wrong date
is the worse error. Violations, which are phrased freely, get a lenient figure: the mean
overlap (Jaccard) of the phrase sets after punctuation is removed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pipeline.extract import extract, parse_published

FIELDS = (
    "stage",
    "comment_deadline",
    "effective",
    "effective_raw",
    "transition_end",
    "repeals",
    "doc_number",
    "penalty.parties",
    "penalty.amount_yuan",
    "penalty.authority",
    "penalty.decision_date",
)
DATE_FIELDS = ("comment_deadline", "effective", "transition_end", "penalty.decision_date")


@dataclass(frozen=True, slots=True)
class Miss:
    id: str
    field: str
    got: Any
    want: Any


@dataclass(slots=True)
class ScoreReport:
    items: int = 0
    hits: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FIELDS, 0))
    missed: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DATE_FIELDS, 0))
    wrong: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DATE_FIELDS, 0))
    labelled: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FIELDS, 0))
    misses: list[Miss] = field(default_factory=list)
    bad_lines: list[tuple[int, str]] = field(default_factory=list)
    violation_overlap: list[float] = field(default_factory=list)

    def accuracy(self, name: str) -> float:
        return self.hits[name] / self.items if self.items else 0.0

    @property
    def violations(self) -> float:
        overlaps = self.violation_overlap
        return sum(overlaps) / len(overlaps) if overlaps else 0.0


def _penalty_field(penalty: dict[str, Any] | None, name: str) -> Any:
    if penalty is None:
        return None
    value = penalty.get(name)
    if name == "parties":
        return sorted(value or [])
    if name == "amount_yuan" and value is not None:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    return value


def _phrases(values: Iterable[str]) -> set[str]:
    return {re.sub(r"[\W_]+", "", v) for v in values if re.sub(r"[\W_]+", "", v)}


def _overlap(got: list[str], want: list[str]) -> float:
    a, b = _phrases(got), _phrases(want)
    return len(a & b) / len(a | b) if a | b else 1.0


def _compare(name: str, got: Any, want: Any) -> bool:
    if name == "effective_raw" and got and want:
        return "".join(str(got).split()) == "".join(str(want).split())
    return bool(got == want)


def score_item(report: ScoreReport, record: dict[str, Any]) -> None:
    expected = record["expected"]
    facts = extract(
        record["title"],
        record.get("body") or "",
        parse_published(record.get("published")),
        tuple(record.get("attachments") or ()),
    ).to_dict()
    report.items += 1
    item_id = str(record.get("id"))
    for name in FIELDS:
        if name.startswith("penalty."):
            key = name.split(".", 1)[1]
            got = _penalty_field(facts["penalty"], key)
            want = _penalty_field(expected.get("penalty"), key)
        else:
            got, want = facts[name], expected.get(name)
        if want not in (None, [], ""):
            report.labelled[name] += 1
        if _compare(name, got, want):
            report.hits[name] += 1
            continue
        report.misses.append(Miss(item_id, name, got, want))
        if name in DATE_FIELDS:
            if got is None:
                report.missed[name] += 1
            else:
                report.wrong[name] += 1
    if expected.get("penalty") or facts["penalty"]:
        got_v = (facts["penalty"] or {}).get("violations") or []
        want_v = (expected.get("penalty") or {}).get("violations") or []
        report.violation_overlap.append(_overlap(got_v, want_v))


def score_lines(lines: Iterable[str]) -> ScoreReport:
    """Score every labelled line; bad lines are reported with their number, not scored."""
    report = ScoreReport()
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
            if not isinstance(record, dict):
                raise ValueError("expected a JSON object")
            if not isinstance(record.get("title"), str):
                raise ValueError("'title' must be a string")
            if not isinstance(record.get("expected"), dict):
                raise ValueError("'expected' must be an object")
            score_item(report, record)
        except (ValueError, TypeError) as e:
            report.bad_lines.append((number, str(e)))
    return report
