"""Publish dates as sources write them -> tz-aware UTC datetimes, or None.

Naive values are in the source's own time zone. Handles ISO 8601, RFC 822, ``YYYY-MM-DD``,
``YYYY.MM.DD``, ``YYYY/MM/DD``, ``YYYY年M月D日 HH:mm``, gov.cn's ``YYYY-MM-DD-HH:mm:ss``, FCA's
``Monday, July 27, 2026 - 15:30``, epoch seconds / milliseconds and relative Chinese dates
(``刚刚``, ``5分钟前``, ``1小时前``, ``3天前``, ``今天 10:00``, ``昨天``, ``前天 08:30``).
An unparseable value is None: the fetch time is never passed off as the publish time.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

_YMD = re.compile(
    r"^(\d{4})\s*[-./年]\s*(\d{1,2})\s*[-./月]\s*(\d{1,2})\s*日?"
    r"(?:[\sT-]+(\d{1,2})[:时](\d{1,2})(?:[:分](\d{1,2})(?:\.(\d{1,6}))?)?秒?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?$"
)
_RFC822 = re.compile(r"^(?:[A-Za-z]{3},\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{2,4}\s+\d")
_UNKNOWN_ZONE = re.compile(r"\s-0000$")
_EPOCH = re.compile(r"^\d{9,13}(?:\.\d+)?$")
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


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _aware(dt: datetime, tz: str) -> datetime:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=zone(tz))
    return dt.astimezone(UTC)


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
) -> datetime | None:
    """Parse one raw date value; None when it cannot be understood."""
    if raw is None or isinstance(raw, bool):
        return None
    if isinstance(raw, int | float):
        return from_epoch(float(raw), unit) if raw > 0 else None
    text = " ".join(str(raw).split())
    if not text:
        return None
    if fmt:
        try:
            return _aware(datetime.strptime(text, fmt), tz)
        except ValueError:
            return None
    if _EPOCH.match(text):
        return from_epoch(float(text), unit)
    if m := _YMD.match(text):
        return _from_ymd(m, tz)
    if _RFC822.match(text):
        try:
            dt = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            pass
        else:
            # "-0000" is UTC with no word on the local zone (RFC 2822 3.3), but the stdlib
            # returns it naive, like a date without a zone: it is not the source's local time.
            if dt.tzinfo is None and _UNKNOWN_ZONE.search(text):
                return dt.replace(tzinfo=UTC)
            return _aware(dt, tz)
    try:
        return _aware(datetime.fromisoformat(text), tz)
    except ValueError:
        pass
    for english in _ENGLISH_FORMATS:
        try:
            return _aware(datetime.strptime(text, english), tz)
        except ValueError:
            continue
    return _relative(text, tz, now)


def _from_ymd(m: re.Match[str], tz: str) -> datetime | None:
    year, month, day, hour, minute, second, frac, offset = m.groups()
    try:
        dt = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((frac or "0").ljust(6, "0")),
        )
    except ValueError:
        return None
    if offset:
        if offset == "Z":
            return dt.replace(tzinfo=UTC)
        sign = 1 if offset[0] == "+" else -1
        digits = offset[1:].replace(":", "")
        delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        return (dt - sign * delta).replace(tzinfo=UTC)
    return _aware(dt, tz)


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
