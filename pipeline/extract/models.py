"""The facts extracted from one item, and their two JSON shapes.

``Facts.to_dict()`` is the ``lendwatch extract`` line (issue #16) without the ``id``;
``Penalty.to_extract_dict()`` its ``penalty`` object, ``Penalty.to_export_dict()`` the
``penalty`` object of ``lendwatch export`` for penalty tables (issue #14). Amounts are exact
``Decimal`` yuan inside and JSON numbers outside: integral yuan as an int, else a float with two
decimals. Dates are ``datetime.date`` inside and ``YYYY-MM-DD`` outside.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pipeline.extract.money import as_json_number

Stage = Literal[
    "draft", "final", "amendment", "repeal", "interpretation", "enforcement", "news", "other"
]
STAGES: tuple[Stage, ...] = (
    "draft",
    "final",
    "amendment",
    "repeal",
    "interpretation",
    "enforcement",
    "news",
    "other",
)


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


@dataclass(frozen=True, slots=True)
class PenaltyRecord:
    """One party row: who, for what, what was decided, and the money (None: no fine)."""

    party: str
    violation: str
    decision: str
    amount_yuan: Decimal | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "party": self.party,
            "violation": self.violation,
            "decision": self.decision,
            "amount_yuan": as_json_number(self.amount_yuan),
        }


@dataclass(frozen=True, slots=True)
class Penalty:
    """A penalty decision (or a page of them): every party, the total of fines and
    confiscations, the deciding authority, the decision date, the violations (distinct, in
    order) and one record per party."""

    parties: tuple[str, ...]
    amount_yuan: Decimal | None
    authority: str | None
    decision_date: date | None
    violations: tuple[str, ...]
    records: tuple[PenaltyRecord, ...]

    def to_extract_dict(self) -> dict[str, Any]:
        """The ``penalty`` of ``lendwatch extract``: parties, amount_yuan, authority,
        decision_date, violations."""
        return {
            "parties": list(self.parties),
            "amount_yuan": as_json_number(self.amount_yuan),
            "authority": self.authority,
            "decision_date": _iso(self.decision_date),
            "violations": list(self.violations),
        }

    def to_export_dict(self) -> dict[str, Any]:
        """The ``penalty`` of ``lendwatch export``: parties, amount_yuan, authority,
        decision_date, records [{party, violation, decision, amount_yuan}]."""
        return {
            "parties": list(self.parties),
            "amount_yuan": as_json_number(self.amount_yuan),
            "authority": self.authority,
            "decision_date": _iso(self.decision_date),
            "records": [r.to_dict() for r in self.records],
        }


@dataclass(frozen=True, slots=True)
class Facts:
    stage: Stage
    comment_deadline: date | None = None
    effective: date | None = None
    effective_raw: str | None = None
    transition_end: date | None = None
    repeals: tuple[str, ...] = ()
    doc_number: str | None = None
    penalty: Penalty | None = None

    def to_dict(self) -> dict[str, Any]:
        """The fields of a ``lendwatch extract`` line, in contract order (no ``id``)."""
        return {
            "stage": self.stage,
            "comment_deadline": _iso(self.comment_deadline),
            "effective": _iso(self.effective),
            "effective_raw": self.effective_raw,
            "transition_end": _iso(self.transition_end),
            "repeals": list(self.repeals),
            "doc_number": self.doc_number,
            "penalty": None if self.penalty is None else self.penalty.to_extract_dict(),
        }

    def dates(self) -> dict[str, date]:
        """The dated facts by field name (for an agenda or a calendar)."""
        named = {
            "comment_deadline": self.comment_deadline,
            "effective": self.effective,
            "transition_end": self.transition_end,
        }
        return {k: v for k, v in named.items() if v is not None}
