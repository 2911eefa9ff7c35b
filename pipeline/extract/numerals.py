"""Chinese numerals as official texts write them: digit by digit in years (二〇二六, 一九八四,
with 〇, ○ or 零 for zero), positional in months, days, counts and amounts (十, 十一, 二十一,
三十一, 一百五十, 两千).
"""

from __future__ import annotations

import re

_DIGITS = {
    "〇": 0,
    "○": 0,
    "零": 0,
    "o": 0,  # a letter o typed for 〇 (seen after folding, which lower-cases)
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_UNITS = {"十": 10, "百": 100, "千": 1000}

# Character classes for regular expressions built elsewhere.
DIGIT_CHARS = "〇○零一二两三四五六七八九"
NUMBER_CHARS = DIGIT_CHARS + "十百千"
YEAR_DIGIT_CHARS = "〇○零o一二三四五六七八九"

_ASCII = re.compile(r"\d+")


def digits_value(text: str) -> int | None:
    """A number written digit by digit (``二〇二六`` -> 2026); None if any character is not one."""
    if not text:
        return None
    value = 0
    for ch in text:
        digit = _DIGITS.get(ch)
        if digit is None:
            return None
        value = value * 10 + digit
    return value


def positional_value(text: str) -> int | None:
    """A positional Chinese number below 10,000 (``十`` 10, ``二十一`` 21, ``一百五十`` 150,
    ``一百零五`` 105); None if ``text`` is not one."""
    if not text:
        return None
    total = 0
    pending: int | None = None
    last_unit = 10_000
    for ch in text:
        if ch in _UNITS:
            unit = _UNITS[ch]
            if unit >= last_unit:
                return None
            total += (1 if pending is None else pending) * unit
            pending = None
            last_unit = unit
        elif ch in _DIGITS:
            if pending is not None and pending != 0:
                return None  # two digits in a row: not positional (``二〇``)
            pending = _DIGITS[ch]
        else:
            return None
    if pending is not None:
        total += pending
    return total


def number_value(text: str) -> int | None:
    """ASCII digits (full-width already folded), or a Chinese number of either kind."""
    text = text.strip()
    if _ASCII.fullmatch(text):
        return int(text)
    if any(ch in _UNITS for ch in text):
        return positional_value(text)
    if len(text) == 1:
        return _DIGITS.get(text)
    return digits_value(text)
