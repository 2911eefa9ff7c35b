"""Words in dates: month and day names, zone abbreviations, the meaning of ``CST``.

The zone table follows RFC 822 and feedparser's additions (``AT``/``ET``/``CT``/``MT``/``PT``,
``MET``/``MEST``, the military letters ``A``/``N``/``M``/``Y`` with RFC 822's signs); the Greek
and Hungarian month names are feedparser's date-parser vectors (feedparser, BSD-2-Clause,
``feedparser/datetimes/``), re-expressed as tables. ``CST`` is China Standard Time (+08:00) in
sources whose zone is a China zone, else US Central (-06:00); a source's ``cst`` option decides
when that guess is wrong. An abbreviation not listed here is unknown: the date is unparseable,
never read in some other zone.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

# minutes east of UTC
ZONES: Mapping[str, int] = MappingProxyType(
    {
        "ut": 0,
        "utc": 0,
        "gmt": 0,
        "z": 0,
        "adt": -3 * 60,
        "ast": -4 * 60,
        "at": -4 * 60,
        "edt": -4 * 60,
        "est": -5 * 60,
        "et": -5 * 60,
        "cdt": -5 * 60,
        "ct": -6 * 60,
        "mdt": -6 * 60,
        "mst": -7 * 60,
        "mt": -7 * 60,
        "pdt": -7 * 60,
        "pst": -8 * 60,
        "pt": -8 * 60,
        "met": 60,
        "mest": 2 * 60,
        "cet": 60,
        "cest": 2 * 60,
        "bst": 60,
        "hkt": 8 * 60,
        "sgt": 8 * 60,
        "jst": 9 * 60,
        "kst": 9 * 60,
        # RFC 822's military letters, with its (admittedly inverted) signs, as feedparser reads them
        "a": -60,
        "n": 60,
        "m": -12 * 60,
        "y": 12 * 60,
    }
)
CST_CHOICES: Mapping[str, int] = MappingProxyType({"china": 8 * 60, "us": -6 * 60})
CHINA_ZONES = frozenset(
    {
        "Asia/Shanghai",
        "Asia/Chongqing",
        "Asia/Chungking",
        "Asia/Harbin",
        "Asia/Urumqi",
        "Asia/Hong_Kong",
        "Asia/Macau",
        "Asia/Taipei",
        "PRC",
        "ROC",
        "Hongkong",
    }
)
BEIJING = 8 * 60


def cst_offset(choice: str | None, tz: str) -> int:
    """What ``CST`` means for a source: its ``cst`` option, else guessed from its time zone."""
    if choice is not None and choice in CST_CHOICES:
        return CST_CHOICES[choice]
    return CST_CHOICES["china" if tz in CHINA_ZONES else "us"]


MONTHS: Mapping[str, int] = MappingProxyType(
    {
        **{
            name: n
            for n, name in enumerate(
                (
                    "jan",
                    "feb",
                    "mar",
                    "apr",
                    "may",
                    "jun",
                    "jul",
                    "aug",
                    "sep",
                    "oct",
                    "nov",
                    "dec",
                ),
                start=1,
            )
        },
        "sept": 9,
        # Greek (feedparser's vectors)
        "ιαν": 1,
        "φεβ": 2,
        "μάώ": 3,
        "μαώ": 3,
        "μαρ": 3,
        "απρ": 4,
        "μάι": 5,
        "μαϊ": 5,
        "μαι": 5,
        "ιούν": 6,
        "ιον": 6,
        "ιούλ": 7,
        "ιολ": 7,
        "αύγ": 8,
        "αυγ": 8,
        "σεπ": 9,
        "οκτ": 10,
        "νοέ": 11,
        "νοε": 11,
        "δεκ": 12,
        # Hungarian
        "január": 1,
        "február": 2,
        "februári": 2,
        "március": 3,
        "április": 4,
        "május": 5,
        "máujus": 5,
        "június": 6,
        "július": 7,
        "augusztus": 8,
        "szeptember": 9,
        "október": 10,
        "november": 11,
        "december": 12,
    }
)
_ENGLISH_FULL = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
]
DAY_NAMES = frozenset(
    {"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
    | {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
    | {"tues", "thur", "thurs"}
    | {"κυρ", "δευ", "τρι", "τετ", "πεμ", "παρ", "σαβ"}
)


def month(word: str) -> int | None:
    """The month a name stands for: ``Jan``, ``January``, ``Jan.``, Greek or Hungarian names."""
    low = word.lower().rstrip(".")
    if low in MONTHS:
        return MONTHS[low]
    for n, full in enumerate(_ENGLISH_FULL, start=1):
        if len(low) >= 3 and full.startswith(low):
            return n
    return None


def is_day_name(word: str) -> bool:
    return word.lower().rstrip(".,") in DAY_NAMES
