"""Dates as Chinese official texts write them, found in folded text (see ``text``).

* figures: ``2026年12月15日`` (also ``号`` for 日, spaces anywhere inside as PDF text has them:
  ``2018年11月 12 日``), ``2026-12-15``, ``2026.12.15``, ``2026/12/15``;
* Chinese numerals: ``二〇二六年十二月十五日`` (〇, ○ or 零; 十, 十一, 二十一, 三十一);
* without a year: ``12月1日``, ``十二月一日`` -- ``DateHit.year`` is None and the caller decides
  whether the context gives one (``resolve``);
* a year's or a month's end for periods: ``2020年底``, ``2020年末``, ``2020年6月底``.

Only real calendar dates are reported (``2月30日`` is not one).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from pipeline.extract.numerals import NUMBER_CHARS, YEAR_DIGIT_CHARS, digits_value, number_value

_CN_MD = "[" + NUMBER_CHARS + "]{1,3}"
_YEAR = rf"(?:(?P<y>(?:1[89]|2[01])\d{{2}})|(?P<ycn>[{YEAR_DIGIT_CHARS}]{{4}}))"
_MONTH = rf"(?P<m>\d{{1,2}}|{_CN_MD})"
_DAY = rf"(?P<d>\d{{1,2}}|{_CN_MD})"
_S = r"[ \t]*"

_WRITTEN = re.compile(
    rf"(?<![\d{NUMBER_CHARS}年])(?:{_YEAR}{_S}年{_S})?{_MONTH}{_S}月{_S}{_DAY}{_S}[日号]"
)
_NUMERIC = re.compile(
    r"(?<![\d.])(?P<y>(?:19|20|21)\d{2})(?P<sep>[-./])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})(?![\d.])"
)
_PERIOD_END = re.compile(
    rf"(?<!\d)(?P<y>(?:19|20|21)\d{{2}}){_S}年{_S}(?:(?P<m>\d{{1,2}}){_S}月{_S})?(?:底|末)"
)

# One date expression, for use inside other patterns (no named groups).
DATE_RE = (
    rf"(?:(?:(?:1[89]|2[01])\d{{2}}|[{YEAR_DIGIT_CHARS}]{{4}}){_S}年{_S}"
    rf"(?:\d{{1,2}}|{_CN_MD}){_S}月{_S}(?:\d{{1,2}}|{_CN_MD}){_S}[日号]"
    r"|(?:19|20|21)\d{2}[-./]\d{1,2}[-./]\d{1,2})"
)
# A date that may lack its year (deadlines).
ANY_DATE_RE = (
    rf"(?:(?:(?:(?:1[89]|2[01])\d{{2}}|[{YEAR_DIGIT_CHARS}]{{4}}){_S}年{_S})?"
    rf"(?:\d{{1,2}}|{_CN_MD}){_S}月{_S}(?:\d{{1,2}}|{_CN_MD}){_S}[日号]"
    r"|(?:19|20|21)\d{2}[-./]\d{1,2}[-./]\d{1,2})"
)


@dataclass(frozen=True, slots=True)
class DateHit:
    start: int
    end: int
    year: int | None
    month: int
    day: int

    def on(self, year: int) -> date | None:
        try:
            return date(year, self.month, self.day)
        except ValueError:
            return None

    @property
    def value(self) -> date | None:
        return None if self.year is None else self.on(self.year)


def _valid(year: int | None, month: int, day: int) -> bool:
    try:
        date(2000 if year is None else year, month, day)  # 2000: a leap year for 2月29日
    except ValueError:
        return False
    return True


def find_dates(text: str, start: int = 0, end: int | None = None) -> Iterator[DateHit]:
    """Every date in ``text[start:end]``, in order; offsets are into ``text``."""
    stop = len(text) if end is None else end
    hits: list[DateHit] = []
    for m in _WRITTEN.finditer(text, start, stop):
        year: int | None = None
        if m.group("y"):
            year = int(m.group("y"))
        elif m.group("ycn"):
            year = digits_value(m.group("ycn"))
            if year is None or not 1800 <= year <= 2199:
                continue
        month = number_value(m.group("m"))
        day = number_value(m.group("d"))
        if month is None or day is None or not _valid(year, month, day):
            continue
        hits.append(DateHit(m.start(), m.end(), year, month, day))
    for m in _NUMERIC.finditer(text, start, stop):
        year, month, day = int(m.group("y")), int(m.group("m")), int(m.group("d"))
        if _valid(year, month, day):
            hits.append(DateHit(m.start(), m.end(), year, month, day))
    hits.sort(key=lambda h: h.start)
    return iter(hits)


def first_date(text: str, start: int = 0, end: int | None = None) -> DateHit | None:
    return next(find_dates(text, start, end), None)


def parse_date(text: str) -> date | None:
    """The first complete date in ``text`` (a table cell, say), or None."""
    for hit in find_dates(text):
        if hit.value is not None:
            return hit.value
    return None


def period_end(text: str) -> tuple[int, int, date] | None:
    """``2020年底`` -> 2020-12-31, ``2020年6月底`` -> 2020-06-30, at the start of ``text``
    (leading spaces allowed): (start, end, date) or None."""
    m = _PERIOD_END.match(text)
    if m is None:
        return None
    year = int(m.group("y"))
    month = int(m.group("m")) if m.group("m") else 12
    if not 1 <= month <= 12:
        return None
    return m.start(), m.end(), date(year, month, calendar.monthrange(year, month)[1])


def resolve(hit: DateHit, published: date | None) -> date | None:
    """The date of ``hit``; a year-less date takes the year of ``published``, or the next year
    when its month is before the published month (a deadline in January written in December).
    """
    if hit.year is not None:
        return hit.value
    if published is None:
        return None
    year = published.year + (1 if hit.month < published.month else 0)
    return hit.on(year)


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole months; the corresponding day, or the month's last day when the
    target month is shorter (民法典 第二百零二条)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def add_days(day: date, days: int) -> date:
    return day + timedelta(days=days)
