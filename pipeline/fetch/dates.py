"""Publish dates as sources write them -> tz-aware UTC datetimes, or None with the reason.

Naive values are in the source's own time zone. Read forms: ISO 8601 / W3DTF (also with a
space, ``.`` ``/`` or ``年月日`` separators, a zone name or colon offset after the time, gov.cn's
``YYYY-MM-DD-HH:mm:ss``, year-month ``2003-12`` and year ``2003`` as their first day, the
two-digit ISO forms ``03-12-31`` ``031231`` ``-0312`` ``03335``); RFC 822 and its real-world
variants (no weekday space ``Fri,24 Nov``, a comma after the month, no time, long month names,
colon offsets ``-01:01``, ``GMT-01:01``, ``Etc/GMT``); asctime (``Sun Jan  4 16:29:06 2004``,
Twitter's ``Sun Jul 15 01:16:00 +0000 2012``), JavaScript's ``Thu Aug 30 2012 17:26:16 +0200``;
``上午/下午`` and Korean ``오전/오후`` or ``년월일`` (Korean forms are +09:00, as feedparser reads
them); FCA's ``Monday, July 27, 2026 - 15:30``; epoch seconds / milliseconds and relative
Chinese dates (``刚刚``, ``5分钟前``, ``昨天 21:05``). ``北京时间`` is +08:00 and ``CST``
follows the source (see ``datewords``).

Never a made-up time: an unknown zone name, a time field out of range or trailing garbage
(``2013-01-27-01``) is "unparseable"; the placeholders year 1 and year 9999 and anything a
datetime cannot hold after the zone shift are "out of range". ``read_date`` never raises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from pipeline.fetch import datewords

UNPARSEABLE = "unparseable"
OUT_OF_RANGE = "out of range"

_ZONE = (
    r"Z|[+-]\d{2}(?::?\d{2})?|(?:GMT|UTC|UT)\s*[+-]\d{1,2}(?::?\d{2})?"
    r"|[A-Za-z]{1,5}(?:/[A-Za-z_]+)?"
)
_YMD = re.compile(
    r"^(?:[A-Za-z]{3,9}\.?,?\s*)?"  # a weekday (Perforce: "Fri, 2006/09/15 …")
    r"(\d{4})\s*[-./年]\s*(0?\d{1,2})\s*[-./月]\s*(\d{1,2})\s*日?"
    r"(?:(?:\s+|T|\s*-\s*)(上午|下午|AM|PM)?\s*(\d{1,2})\s*[:时]\s*(\d{1,2})"
    r"(?:\s*[:分]\s*(\d{1,2})(?:[.,](\d{1,9}))?\s*秒?)?\s*(AM|PM)?"
    rf"\s*({_ZONE})?)?$",
    re.I,
)
_KOREAN = re.compile(
    r"^(\d{4})(?:년\s*|-)(\d{1,2})(?:월\s*|-)(\d{1,2})일?\s+(오전|오후)?\s*"
    r"(\d{1,2}):(\d{1,2}):(\d{1,2})$"
)
_MONTH_WORD = re.compile(r"^(\d{4})-([^\W\d_]+)-(\d{1,2})(T.*)$")
_YEAR_MONTH = re.compile(r"^(\d{4})(?:-(\d{2}))?$")
_BASIC = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})?(Z|[+-]\d{2}:?\d{2})?)?$")
# ISO 8601:2000's two-digit years: 03-12-31, 031231, -03-12, -0312. The ordinal YYDDD form is
# left out: "22013" would read as 13 January 2022.
_TWO_DIGIT = re.compile(r"^(?:(\d{2})-?(\d{2})-?(\d{2})|-(\d{2})-?(\d{2}))$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
_OFFSET = re.compile(r"^(?:GMT|UTC|UT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$", re.I)
_EPOCH = re.compile(r"^\d{9,13}(?:\.\d+)?$")
_BEIJING = re.compile(r"^\(?北京时间\)?\s*|\s*\(?北京时间\)?$")
_RELATIVE = re.compile(r"^(\d+)\s*(秒|分钟|小时|天|周|个月)前$")
_DAY_WORDS = {"今天": 0, "昨天": 1, "前天": 2}
_DAY_WORD = re.compile(r"^(今天|昨天|前天)\s*(?:(\d{1,2}):(\d{2}))?$")
_MONTH_DAY = re.compile(r"^(\d{1,2})[-月/](\d{1,2})日?\s+(\d{1,2}):(\d{2})$")
_ENGLISH_FORMATS = (
    "%A, %B %d, %Y - %H:%M",  # FCA
    "%B %d, %Y",
    "%b %d, %Y",
    "%d %B %Y",
    "%m/%d/%Y",
)
_UNITS = {
    "秒": timedelta(seconds=1),
    "分钟": timedelta(minutes=1),
    "小时": timedelta(hours=1),
    "天": timedelta(days=1),
    "周": timedelta(weeks=1),
    "个月": timedelta(days=30),
}


class _Unparseable(Exception):
    pass


@dataclass(frozen=True, slots=True)
class DateReading:
    """A parsed date (UTC) or None with the reason: ``UNPARSEABLE`` or ``OUT_OF_RANGE``."""

    value: datetime | None
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class _Stamp:
    year: int
    month: int
    day: int
    hour: int = 0
    minute: int = 0
    second: int = 0
    micro: int = 0
    offset: int | None = None  # minutes east of UTC; None: the source's zone


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def from_epoch(value: float, unit: str | None = None) -> datetime | None:
    """Epoch seconds or milliseconds (``unit`` 's'/'ms', or guessed from the magnitude)."""
    if unit == "ms" or (unit is None and value > 1e11):
        value /= 1000.0
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def parse_date(
    raw: object,
    tz: str = "Asia/Shanghai",
    fmt: str | None = None,
    *,
    now: datetime | None = None,
    unit: str | None = None,
    cst: str | None = None,
) -> datetime | None:
    """Parse one raw date value; None when it cannot be understood (see ``read_date``)."""
    return read_date(raw, tz, fmt, now=now, unit=unit, cst=cst).value


def read_date(
    raw: object,
    tz: str = "Asia/Shanghai",
    fmt: str | None = None,
    *,
    now: datetime | None = None,
    unit: str | None = None,
    cst: str | None = None,
) -> DateReading:
    """Parse one raw date value; never raises. ``cst``: the source's ``cst`` option."""
    if raw is None or isinstance(raw, bool):
        return DateReading(None, UNPARSEABLE)
    try:
        if isinstance(raw, int | float):
            value = from_epoch(float(raw), unit) if raw > 0 else None
            return DateReading(value, None if value else OUT_OF_RANGE)
        text = " ".join(str(raw).split())
        if fmt:
            return _build(_strptime(text, fmt), tz)
        stamp = _stamp(text, tz, unit, datewords.cst_offset(cst, tz), now)
    except _Unparseable:
        return DateReading(None, UNPARSEABLE)
    except (OverflowError, ValueError, OSError):
        return DateReading(None, OUT_OF_RANGE)
    if isinstance(stamp, datetime):
        return DateReading(stamp)
    return _build(stamp, tz)


def _strptime(text: str, fmt: str) -> _Stamp:
    try:
        dt = datetime.strptime(text, fmt)
    except ValueError as e:
        raise _Unparseable from e
    delta = dt.utcoffset()
    offset = None if delta is None else int(delta.total_seconds() // 60)
    return _Stamp(dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second, dt.microsecond, offset)


def _stamp(
    text: str, tz: str, unit: str | None, cst: int, now: datetime | None
) -> _Stamp | datetime:
    if not text:
        raise _Unparseable
    beijing = _BEIJING.sub("", text)
    if beijing != text:  # "北京时间 2024年5月20日 10:00": +08:00 whatever the source's zone
        found = _stamp(beijing, tz, unit, cst, now)
        if isinstance(found, _Stamp) and found.offset is None:
            return replace(found, offset=datewords.BEIJING)
        return found
    if _EPOCH.match(text):
        value = from_epoch(float(text), unit)
        if value is None:
            raise OverflowError(text)
        return value
    if m := _MONTH_WORD.match(text):  # Hungarian "2004-július-13T9:15-05:00"
        number = datewords.month(m.group(2))
        if number is None:
            raise _Unparseable
        text = f"{m.group(1)}-{number:02d}-{m.group(3)}{m.group(4)}"
    for form in (_ymd, _korean, _short_iso, _rfc822, _english):
        if (stamp := form(text, cst)) is not None:
            return stamp
    relative = _relative(text, tz, now)
    if relative is None:
        raise _Unparseable
    return relative


def _build(s: _Stamp, tz: str) -> DateReading:
    if s.year <= 1 or s.year >= 9999:  # 0001-01-01 and 9999-12-31: placeholders, not dates
        return DateReading(None, OUT_OF_RANGE)
    try:
        local = datetime(s.year, s.month, s.day, s.hour, s.minute, s.second, s.micro)
    except ValueError:
        return DateReading(None, UNPARSEABLE)
    try:
        if s.offset is None:
            return DateReading(local.replace(tzinfo=zone(tz)).astimezone(UTC))
        fixed = timezone(timedelta(minutes=s.offset))
        return DateReading(local.replace(tzinfo=fixed).astimezone(UTC))
    except (OverflowError, ValueError):
        return DateReading(None, OUT_OF_RANGE)


def _offset(token: str | None, cst: int) -> int | None:
    """Minutes east of UTC for a zone token; None for no zone; raises for an unknown one."""
    if not token:
        return None
    low = token.strip().lower()
    if low.startswith("etc/"):
        low = low[4:]
    if low == "cst":
        return cst
    if low in datewords.ZONES:
        return datewords.ZONES[low]
    m = _OFFSET.match(low)
    if m is None:
        raise _Unparseable
    sign, hours, minutes = m.group(1), int(m.group(2)), int(m.group(3) or 0)
    if hours > 23 or minutes > 59 or (len(m.group(2)) == 1 and not low[0].isalpha()):
        raise _Unparseable
    total = hours * 60 + minutes
    return -total if sign == "-" else total


def _hour(hour: int, marker: str | None) -> int:
    if not marker:
        return hour
    if hour > 12 or hour == 0:
        raise _Unparseable
    pm = marker.upper() in ("PM", "下午", "오후")
    return hour % 12 + (12 if pm else 0)


def _ymd(text: str, cst: int) -> _Stamp | None:
    m = _YMD.match(text)
    if m is None:
        return None
    year, month, day, before, hour, minute, second, frac, after, zone_ = m.groups()
    marker = before or after
    return _Stamp(
        int(year),
        int(month),
        int(day),
        _hour(int(hour or 0), marker) if hour else 0,
        int(minute or 0),
        int(second or 0),
        int((frac or "0")[:6].ljust(6, "0")),
        _offset(zone_, cst),
    )


def _korean(text: str, cst: int) -> _Stamp | None:
    m = _KOREAN.match(text)
    if m is None or ("년" not in text and not m.group(4)):
        return None
    year, month, day, marker, hour, minute, second = m.groups()
    kst = datewords.ZONES["kst"]
    hour_ = _hour(int(hour), marker) if marker else int(hour)
    return _Stamp(int(year), int(month), int(day), hour_, int(minute), int(second), 0, kst)


def _short_iso(text: str, cst: int) -> _Stamp | None:
    if m := _YEAR_MONTH.match(text):
        return _Stamp(int(m.group(1)), int(m.group(2) or 1), 1)
    if m := _BASIC.match(text):
        y, mo, d, h, mi, s, z = m.groups()
        clock = (int(h or 0), int(mi or 0), int(s or 0))
        return _Stamp(int(y), int(mo), int(d), *clock, 0, _offset(z, cst))
    if m := _TWO_DIGIT.match(text):
        yy, mm, dd, yy2, mm2 = m.groups()
        if yy2 is not None:
            return _Stamp(_century(yy2), int(mm2), 1)
        return _Stamp(_century(yy), int(mm), int(dd))
    return None


def _century(two: str) -> int:
    year = int(two)
    return year + (2000 if year < 90 else 1900)


def _rfc822(text: str, cst: int) -> _Stamp | None:
    """RFC 822 and the orders real feeds use: D M Y [T] [Z], M D Y [T] [Z], M D T Y (asctime),
    M D T Z Y (Twitter)."""
    tokens = text.replace(",", " ").split()
    if tokens and datewords.is_day_name(tokens[0]):
        tokens = tokens[1:]
    if len(tokens) < 3:
        return None
    if tokens[0].isdigit() and datewords.month(tokens[1]):
        day, month, rest = tokens[0], tokens[1], tokens[2:]
    elif datewords.month(tokens[0]) and tokens[1].isdigit():
        month, day, rest = tokens[0], tokens[1], tokens[2:]
    else:
        return None
    year: str | None = None
    clock: str | None = None
    zone_: str | None = None
    if rest[0].isdigit():  # Y [T] [Z]
        year, rest = rest[0], rest[1:]
        if rest and ":" in rest[0]:
            clock, rest = rest[0], rest[1:]
        if len(rest) > 1:
            return None  # not this family (FCA's "… 2026 - 15:30" is read further on)
        zone_ = rest[0] if rest else None
    elif ":" in rest[0]:  # asctime: T [Z] Y
        clock, rest = rest[0], rest[1:]
        if len(rest) == 1:
            year = rest[0]
        elif len(rest) == 2:
            zone_, year = rest
        else:
            return None
    else:
        return None
    if not year.isdigit() or len(year) not in (2, 4) or len(day) > 2:
        raise _Unparseable
    hour = minute = second = 0
    if clock is not None:
        t = _TIME.match(clock)
        if t is None:
            raise _Unparseable
        hour, minute, second = int(t.group(1)), int(t.group(2)), int(t.group(3) or 0)
    number = datewords.month(month)
    assert number is not None
    full_year = _century(year) if len(year) == 2 else int(year)
    return _Stamp(full_year, number, int(day), hour, minute, second, 0, _offset(zone_, cst))


def _english(text: str, cst: int) -> _Stamp | None:
    for english in _ENGLISH_FORMATS:
        try:
            dt = datetime.strptime(text, english)
        except ValueError:
            continue
        return _Stamp(dt.year, dt.month, dt.day, dt.hour, dt.minute)
    return None


def _relative(text: str, tz: str, now: datetime | None) -> datetime | None:
    current = (now or datetime.now(UTC)).astimezone(zone(tz))
    if text in ("刚刚", "刚才"):
        return current.astimezone(UTC)
    if m := _RELATIVE.match(text):
        return (current - int(m.group(1)) * _UNITS[m.group(2)]).astimezone(UTC)
    if m := _DAY_WORD.match(text):
        day = current.date() - timedelta(days=_DAY_WORDS[m.group(1)])
        hour, minute = int(m.group(2) or 0), int(m.group(3) or 0)
        if hour > 23 or minute > 59:
            return None
        local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone(tz))
        return local.astimezone(UTC)
    if m := _MONTH_DAY.match(text):  # "07-27 15:30": this year, or last year if in the future
        month, day_, hour, minute = (int(g) for g in m.groups())
        try:
            local = datetime(current.year, month, day_, hour, minute, tzinfo=zone(tz))
        except ValueError:
            return None
        if local > current + timedelta(days=1):
            local = local.replace(year=current.year - 1)
        return local.astimezone(UTC)
    return None
