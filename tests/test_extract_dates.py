"""Chinese numerals and dates as official texts write them."""

from __future__ import annotations

from datetime import date

import pytest

from pipeline.extract.dates import (
    DateHit,
    add_months,
    find_dates,
    parse_date,
    period_end,
    resolve,
)
from pipeline.extract.numerals import digits_value, number_value, positional_value
from pipeline.extract.text import prepare


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("十", 10),
        ("十一", 11),
        ("二十", 20),
        ("二十一", 21),
        ("三十一", 31),
        ("三十七", 37),
        ("一百五十", 150),
        ("一百零五", 105),
        ("两千", 2000),
        ("两", 2),
        ("18", 18),
    ],
)
def test_number_value(text: str, value: int) -> None:
    assert number_value(text) == value


def test_digit_by_digit_years() -> None:
    assert digits_value("二〇二六") == 2026
    assert digits_value("二○○二") == 2002  # ○ (U+25CB) as the 2002 decree writes it
    assert digits_value("一九八四") == 1984
    assert digits_value("二零二五") == 2025
    assert digits_value("二十") is None
    assert positional_value("二〇") is None  # two digits in a row are not positional


def _dates(text: str) -> list[tuple[int | None, int, int]]:
    return [(h.year, h.month, h.day) for h in find_dates(prepare(text).norm)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026年12月15日", (2026, 12, 15)),
        ("2026-12-15", (2026, 12, 15)),
        ("2026.12.15", (2026, 12, 15)),
        ("2026/12/15", (2026, 12, 15)),
        ("２０２６年１２月１５日", (2026, 12, 15)),  # full-width digits
        ("2018年11月 12 日", (2018, 11, 12)),  # spaces from PDF text
        ("自 2019 年 8 月 1 日起", (2019, 8, 1)),
        ("2025年8月 20日", (2025, 8, 20)),
        ("二〇二六年十二月十五日", (2026, 12, 15)),
        ("二○○二年二月十日", (2002, 2, 10)),
        ("一九九九年四月一日", (1999, 4, 1)),
        ("二〇二五年十月三十一日", (2025, 10, 31)),
        ("二〇二五年一月二十一日", (2025, 1, 21)),
        ("意見反饋截止時間為2024年4月23日", (2024, 4, 23)),  # traditional script
        ("请于11月23日前", (None, 11, 23)),
        ("十二月一日至十二月三十一日", (None, 12, 1)),
    ],
)
def test_find_dates(text: str, expected: tuple[int | None, int, int]) -> None:
    assert _dates(text)[0] == expected


def test_not_dates() -> None:
    assert _dates("2月30日") == []
    assert _dates("没收违法所得1.621747万元") == []
    assert _dates("截至2024年末") == []
    assert _dates("第 2026 号") == []


def test_range_gives_both_ends() -> None:
    assert _dates("公告時間:2020年6月10日至2020年6月23日") == [(2020, 6, 10), (2020, 6, 23)]


def test_resolve_year_less_dates() -> None:
    hit = DateHit(0, 6, None, 11, 23)
    assert resolve(hit, date(2018, 11, 12)) == date(2018, 11, 23)
    # a January deadline written in a December notice is next January
    assert resolve(DateHit(0, 6, None, 1, 10), date(2025, 12, 20)) == date(2026, 1, 10)
    assert resolve(hit, None) is None
    assert resolve(DateHit(0, 6, 2020, 1, 25), None) == date(2020, 1, 25)


def test_period_end_and_add_months() -> None:
    assert period_end("2020年底，对提前完成") == (0, 6, date(2020, 12, 31))
    assert period_end("2024年6月末") == (0, 8, date(2024, 6, 30))
    assert period_end("其支付业务许可证") is None
    assert add_months(date(2021, 3, 1), 6) == date(2021, 9, 1)
    assert add_months(date(2021, 8, 31), 6) == date(2022, 2, 28)  # no 31st: the month's end
    assert add_months(date(2025, 6, 15), 24) == date(2027, 6, 15)


def test_parse_date_in_a_cell() -> None:
    assert parse_date(prepare("2025年8月 20日").norm) == date(2025, 8, 20)
    assert parse_date("五年") is None


@pytest.mark.parametrize(
    ("text", "norm"),
    [
        ("施行日期：2026年1月1日\n過渡期—2027年", "施行日期：2026年1月1日\n过渡期-2027年"),
        ("Ａ－Ｂ\n\n１２", "a-b\n\n12"),
        ("12月1日–12月31日", "12月1日-12月31日"),
        ("没有需要还原的", "没有需要还原的"),
    ],
)
def test_prepare_keeps_lines_and_dashes_and_offsets(text: str, norm: str) -> None:
    # fold blanks newlines and dashes; prepare puts them back where they were
    prepared = prepare(text)
    assert prepared.norm == norm
    assert len(prepared.norm) == len(prepared.raw)
