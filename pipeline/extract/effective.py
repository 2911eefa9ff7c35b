"""When a document binds: ``effective`` (and the phrase it came from) and ``transition_end``.

Effective date, from the clause ``自…起施行`` (also 实施 / 执行 / 实行 / 生效, ``起`` optional):

* ``自2022年1月1日起施行`` (any date form of ``dates``): that date. A year-less date is not
  taken (``自10月1日起施行`` in a later news story may be a past or a future 10月1日).
* ``自发布之日起施行`` / ``自公布之日起…`` / ``自印发之日起…`` / ``自本公告发布之日起废止``: the
  published date (the date the item was published, as the issue asks; the signing date printed
  in the body is often earlier and is ignored).
* ``自公布之日起30日后施行`` (also ``之日起的30日后``): computed. Convention, following 民法典
  第二百零一条 (the day of the event is not counted; the period starts the next day): the 30
  days are the 30 days after the published date, and the text binds from the day after them,
  i.e. published + N + 1 days. Calibration: the PBOC's 利率互换 notice (银发〔2008〕18号,
  dated and published 2008-01-18, "自发布之日起的30日后施行") is reported as in force from
  2008-02-18. ``N个工作日后`` needs a holiday calendar and is not computed.
* The first clause wins (a decree's preamble and its last article say the same); a clause
  followed by ``的`` (``自2021年1月1日起施行的《民法典》``) describes another text and is
  skipped; ``…起废止`` counts only when the text has no clause of its own (a repeal notice).
* ``自<an event>之日起施行`` (``自账户管理系统(二期)运行之日起施行``): the clause is kept,
  the date is unknown.
* A relative clause needs the published date: without it ``effective`` is None and
  ``effective_raw`` still holds the clause. For interpretations, news and other items a relative
  clause refers to a publication that is not the item's own, so it is not resolved either.

Transition end, the last day inside the period:

* ``过渡期…至2020年底`` / ``过渡期至2026年6月30日``: that day (a year's end is 12-31).
* ``自本办法施行之日起的6个月为过渡期``, ``自实施之日起设置两年过渡期``, ``过渡期为N个月``,
  ``自本办法施行之日起18个月内完成(合规)整改``: counted from the effective date, which is
  itself the first day of the period (the text binds from 00:00 that day), so the last day is
  effective + N months - 1 day (2021-03-01 + 6 months -> 2021-08-31). Calibration: 征信业务
  管理办法 (effective 2022-01-01, 18 months) -- the 整改 deadline was reported as 2023-06-30.
* ``自本公告发布之日起一个月的过渡期``: counted from the published date, an event during the
  day, which is not counted (民法典 第二百零一条): the period ends on the corresponding day,
  published + N months (2013-07-02 -> 2013-08-02). A month without that day ends on its last day.
* No single end (``过渡期为本细则施行之日至其…有效期截止日``, two tiers of 2 and 4 years) or
  an unknown start: None.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from pipeline.extract.dates import (
    DATE_RE,
    add_days,
    add_months,
    first_date,
    period_end,
)
from pipeline.extract.numerals import NUMBER_CHARS, number_value
from pipeline.extract.text import Text

_S = r"\s*"
_RELATIVE = r"(?:本[\u4e00-\u9fff]{1,4}?)?(?:发布|公布|印发|颁布|下发|公告|发文)之日"
_VERBS = "施行|实施|执行|实行|生效"
_NUM = rf"(?:(?<!\d)\d{{1,4}}|(?<![{NUMBER_CHARS}])[{NUMBER_CHARS}]{{1,4}})"
_CLAUSE = re.compile(
    rf"自{_S}(?:(?P<date>{DATE_RE})|(?P<rel>{_RELATIVE})|(?P<other>[^。；;，,、\n自]{{2,30}}?之日))"
    rf"{_S}(?:起)?{_S}(?:的)?{_S}"
    rf"(?:(?P<n>{_NUM}){_S}(?P<unit>个?工作日|日|天){_S}后{_S})?(?:起)?{_S}(?:正式)?{_S}"
    rf"(?P<verb>{_VERBS}|废止)(?P<attr>的|以来)?"
)

# Transition periods.
_UNTIL = re.compile(r"过渡期[^。；;\n]{0,30}?(?:至|到|截至|截止)\s*")
_BASE = rf"自?{_S}(?:本[\u4e00-\u9fff]{{1,4}}?)?(?P<base>施行|实施|发布|公布|印发){_S}之日起"
_SPAN = rf"(?P<n>{_NUM}){_S}(?P<unit>个月|年|日|天)"
_PERIODS = (
    re.compile(rf"(?:{_BASE}{_S}(?:的)?{_S})?(?:设置|给予|设){_S}{_SPAN}(?:的)?过渡期"),
    re.compile(rf"(?:{_BASE}{_S}(?:的)?{_S})?{_SPAN}{_S}(?:的)?{_S}(?:为|作为)?{_S}过渡期"),
    re.compile(rf"过渡期(?:为|是){_S}(?:{_BASE}{_S})?{_SPAN}"),
    re.compile(rf"{_BASE}{_S}{_SPAN}内{_S}完成[\u4e00-\u9fff]{{0,4}}整改"),
)


@dataclass(frozen=True, slots=True)
class Effective:
    date: date | None
    raw: str


def _relative_date(m: re.Match[str], published: date | None) -> date | None:
    if published is None:
        return None
    if m.group("n") is None:
        return published
    if "工作日" in (m.group("unit") or ""):
        return None
    n = number_value(m.group("n"))
    return None if n is None else add_days(published, n + 1)


def find_effective(text: Text, published: date | None, resolve_relative: bool) -> Effective | None:
    """The effective date and the clause it came from (see the module docstring)."""
    own: list[re.Match[str]] = []
    repeal: list[re.Match[str]] = []
    for m in _CLAUSE.finditer(text.norm):
        if m.group("attr"):
            continue
        (repeal if m.group("verb") == "废止" else own).append(m)
    chosen = own[0] if own else (repeal[0] if repeal else None)
    if chosen is None:
        return None
    raw = text.cut(chosen.start(), chosen.end("verb"))
    if chosen.group("date"):
        hit = first_date(text.norm, chosen.start("date"), chosen.end("date"))
        return Effective(hit.value if hit else None, raw)
    if chosen.group("other"):  # 自账户管理系统运行之日起施行: a day no text can give
        return Effective(None, raw)
    return Effective(_relative_date(chosen, published) if resolve_relative else None, raw)


def _span_months(m: re.Match[str]) -> tuple[int, str] | None:
    n = number_value(m.group("n"))
    if n is None or n <= 0:
        return None
    return n, m.group("unit")


def _end_of(start: date, n: int, unit: str, inclusive: bool) -> date:
    if unit in ("日", "天"):
        return add_days(start, n - 1 if inclusive else n)
    months = n * 12 if unit == "年" else n
    end = add_months(start, months)
    return add_days(end, -1) if inclusive else end


def find_transition_end(text: Text, effective: date | None, published: date | None) -> date | None:
    """The last day of the transition period, when the text gives exactly one."""
    ends: set[date] = set()
    norm = text.norm
    if "过渡期" not in norm and "整改" not in norm:  # what _UNTIL and _PERIODS all need
        return None
    for m in _UNTIL.finditer(norm):
        found = period_end(norm[m.end() : m.end() + 12])
        if found is not None:
            ends.add(found[2])
            continue
        hit = first_date(norm, m.end(), m.end() + 16)
        if hit is not None and hit.start == m.end() and hit.value is not None:
            ends.add(hit.value)
    for pattern in _PERIODS:
        for m in pattern.finditer(norm):
            span = _span_months(m)
            if span is None:
                continue
            base = m.group("base")
            if base in ("发布", "公布", "印发"):
                if published is not None:
                    ends.add(_end_of(published, *span, inclusive=False))
            elif effective is not None:
                ends.add(_end_of(effective, *span, inclusive=True))
            else:
                return None  # a period whose start is unknown: no end can be given
    return ends.pop() if len(ends) == 1 else None
