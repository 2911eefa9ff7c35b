"""The ``Penalty`` of an item: from its penalty tables when it has any (HTML tables, text
tables), else from prose. Total = the fines and confiscations of every record (``Decimal``).

Violations are the distinct phrases of the violation cells, in order of first appearance:
numbering (``1.``), a person's preamble (``对…以下违法违规行为负有责任：``) and trailing
``。；;,`` removed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal

from bs4 import BeautifulSoup

from pipeline.extract.models import Penalty, PenaltyRecord
from pipeline.extract.money import total
from pipeline.extract.penalty_prose import (
    bind_fines,
    find_authority,
    find_decision_date,
    find_violations,
)
from pipeline.extract.penalty_tables import (
    TableReading,
    read_horizontal,
    read_vertical,
    read_vertical_text,
)
from pipeline.extract.tables import Grid, html_grids, text_grids
from pipeline.extract.text import Text

_PREAMBLE = re.compile(r"^.{0,60}?负有(?:直接|主要|领导)?责任[:：]")
_NUMBERING = re.compile(r"(?:^|(?<=[;；。\s]))\(?\d{1,2}[)）.．、]\s*")


def violation_phrases(cells: Iterable[str]) -> tuple[str, ...]:
    out: list[str] = []
    for cell in cells:
        body = _PREAMBLE.sub("", cell.strip())
        for piece in re.split(r"[;；\n]+|(?<=。)", _NUMBERING.sub("\n", body)):
            phrase = piece.strip().strip("。；;,，、 ")
            phrase = _NUMBERING.sub("", phrase).strip()
            if phrase and phrase not in out:
                out.append(phrase)
    return tuple(out)


def _from_reading(readings: list[TableReading]) -> Penalty | None:
    records = [r for reading in readings for r in reading.records]
    if not records:
        return None
    parties: list[str] = []
    for record in records:
        if record.party not in parties:
            parties.append(record.party)
    amounts = [r.amount_yuan for r in records if r.amount_yuan is not None]
    authority = next((x.authority for x in readings if x.authority), None)
    day = next((x.decision_date for x in readings if x.decision_date), None)
    return Penalty(
        parties=tuple(parties),
        amount_yuan=total(amounts),
        authority=authority,
        decision_date=day,
        violations=violation_phrases(r.violation for r in records),
        records=tuple(records),
    )


def _read_grids(grids: list[Grid]) -> list[TableReading]:
    readings: list[TableReading] = []
    for grid in grids:
        reading = read_horizontal(grid) or read_vertical(grid)
        if reading is not None:
            readings.append(reading)
    return readings


def penalty_from_html(soup: BeautifulSoup) -> tuple[Penalty | None, tuple[str, ...]]:
    """The penalty of the tables in an HTML page, and the decision numbers they list."""
    readings = _read_grids(html_grids(soup))
    numbers = tuple(n for r in readings for n in r.numbers)
    return _from_reading(readings), numbers


def penalty_from_text(text: Text) -> tuple[Penalty | None, tuple[str, ...]]:
    """The penalty of tables that survived as text (``|`` rows, or the vertical form)."""
    readings = _read_grids(text_grids(text.raw))
    if not readings:
        vertical = read_vertical_text(text.raw)
        readings = [vertical] if vertical is not None else []
    numbers = tuple(n for r in readings for n in r.numbers)
    return _from_reading(readings), numbers


def _line_span(norm: str, line: int) -> tuple[int, int]:
    start = 0
    for _ in range(line):
        start = norm.index("\n", start) + 1
    end = norm.find("\n", start)
    return start, (len(norm) if end == -1 else end)


def penalty_from_prose(text: Text, title_lines: int = 0) -> Penalty | None:
    """A penalty told in sentences; None unless some fine is bound to a named party.

    Only the lead is read: the first paragraph (line) after the first ``title_lines`` lines that
    binds a fine, or the title when the body binds none. Later paragraphs of a story tell other,
    earlier fines as background (``今年6月19日，该公司刚因…被罚款82万元``).
    """
    bound = bind_fines(text)
    fined_lines = sorted({b.line for b in bound if b.amount is not None})
    if not fined_lines:
        return None
    body_lines = [n for n in fined_lines if n >= title_lines]
    lead = body_lines[0] if body_lines else fined_lines[0]
    chosen = [b for b in bound if b.line == lead]
    start, end = _line_span(text.norm, lead)
    by_party: dict[str, list[Decimal]] = {}
    for b in chosen:
        by_party.setdefault(b.party, [])
        if b.amount is not None:
            by_party[b.party].append(b.amount.yuan)
    violations = tuple(find_violations(text, start, end)) or tuple(find_violations(text))
    records = tuple(
        PenaltyRecord(party, "；".join(violations), "", total(values))
        for party, values in by_party.items()
    )
    return Penalty(
        parties=tuple(by_party),
        amount_yuan=total([b.amount.yuan for b in chosen if b.amount is not None]),
        authority=find_authority(text, start, end) or find_authority(text),
        decision_date=find_decision_date(text, start, end) or find_decision_date(text),
        violations=violations,
        records=records,
    )
