"""Fines and confiscations in yuan, exact (``Decimal``).

An amount is a number (``1712.4``, ``1,234,567``, ``三十``, ``一百五十``) with a unit (元, 万元,
亿元, 千元; 万/亿 with 元 implied by 罚款) -- or in English ``1.05 million yuan``,
``484,000 yuan``. It counts when its clause (between ，；。) speaks of a fine or a confiscation
(罚款, 罚金, 没收, 被罚, 处以…罚款, fined) and not of a total (合计, 共计, 累计, 总额, 总计) or of
capital (注册资本, 增资).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from pipeline.extract.numerals import NUMBER_CHARS, positional_value

_UNIT = {"元": Decimal(1), "千元": Decimal(1000), "万元": Decimal(10_000), "万": Decimal(10_000)}
_UNIT |= {"亿元": Decimal(100_000_000), "亿": Decimal(100_000_000)}
_AMOUNT = re.compile(
    r"(?:人民币\s*)?(?P<num>(?<![\d.,])(?:\d{1,3}(?:,\d{3})++|\d++)(?:\.\d++)?"
    r"|(?<![" + NUMBER_CHARS + r"])[" + NUMBER_CHARS + r"]++)\s*"
    r"(?P<unit>亿元|万元|千元|亿|万|元)(?:人民币)?"
)
_EN_AMOUNT = re.compile(
    r"(?:rmb|cny)?\s*(?P<num>(?<![\d.,])(?:\d{1,3}(?:,\d{3})++|\d++)(?:\.\d++)?)\s*"
    r"(?P<scale>million|billion|thousand)?\s*"
    r"(?:yuan|rmb)"
)
_EN_SCALE = {None: Decimal(1), "thousand": Decimal(1000), "million": Decimal(10**6)}
_EN_SCALE["billion"] = Decimal(10**9)
# Numbers start only where a run of digits starts and never give back digits (possessive), so
# a long run of digits costs linear time, not quadratic.
# A clause ends at these; an ASCII comma only when it does not sit between digits.
_CLAUSE_END = re.compile(r"[，；;。！？\n]|,(?!\d{3})")
_PENALTY = re.compile(r"罚款|罚金|没收|被罚|处罚|罚了|fined|fine of|penalty")
_NOT_A_FINE = re.compile(
    r"合计|共计|累计|总额|总计|总共|一共|注册资本|增资|资本金|注冊资本|余额|规模"
)


@dataclass(frozen=True, slots=True)
class Amount:
    start: int
    end: int
    yuan: Decimal


def _number(text: str) -> Decimal | None:
    text = text.replace(",", "").replace("，", "")
    if text[:1].isdigit():
        try:
            return Decimal(text)
        except InvalidOperation:
            return None
    value = positional_value(text)
    return None if value is None else Decimal(value)


def amounts(text: str) -> Iterator[Amount]:
    """Every money amount in folded ``text``."""
    if "元" in text or "万" in text or "亿" in text:  # a unit ends every _AMOUNT
        for m in _AMOUNT.finditer(text):
            value = _number(m.group("num"))
            if value is not None:
                yield Amount(m.start(), m.end(), value * _UNIT[m.group("unit")])
    if "yuan" not in text and "rmb" not in text:  # and one of these every _EN_AMOUNT
        return
    for m in _EN_AMOUNT.finditer(text):
        value = _number(m.group("num"))
        if value is not None:
            yield Amount(m.start(), m.end(), value * _EN_SCALE[m.group("scale")])


def clause_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    left = 0
    for m in _CLAUSE_END.finditer(text, 0, start):
        left = m.end()
    after = _CLAUSE_END.search(text, end)
    return left, (after.start() if after else len(text))


def fines(text: str) -> list[Amount]:
    """The amounts of ``text`` that are fines or confiscations, in order."""
    out: list[Amount] = []
    for amount in amounts(text):
        left, right = clause_bounds(text, amount.start, amount.end)
        clause = text[left:right]
        if _PENALTY.search(clause) and not _NOT_A_FINE.search(clause):
            out.append(amount)
    out.sort(key=lambda a: a.start)
    return out


def total(values: list[Decimal]) -> Decimal | None:
    return sum(values, Decimal(0)) if values else None


def as_json_number(value: Decimal | None) -> int | float | None:
    """Integral yuan as an int, else a float rounded half-up to fen (2 decimals)."""
    if value is None:
        return None
    if value == value.to_integral_value():
        return int(value)
    return float(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
