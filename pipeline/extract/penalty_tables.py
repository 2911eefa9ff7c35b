"""Penalty tables -> one ``PenaltyRecord`` per party, plus the authority and decision date.

Three layouts are read, their header cells found by text (normalised: no spaces or line
breaks, traditional folded), never by position:

* horizontal, one row per party -- PBOC's 行政处罚信息公示表 (``序号 | 当事人名称 | 行政处罚
  决定书文号 | 违法行为类型 | 行政处罚内容 | 作出行政处罚决定机关名称 | 作出行政处罚决定日期 |
  公示期限 | 备注``) and NFRA's 信息公示表 (``序号 | 当事人名称 | 主要违法违规行为 | 行政处罚内容
  | 作出决定机关``), merged cells (one violation or authority for several rows) expanded;
* vertical, one label per row -- the 行政处罚信息公开表 (``行政处罚决定书文号 | …``,
  ``被处罚当事人姓名或全称`` over ``个人姓名`` / ``单位 名称`` / ``法定代表人…姓名``, ``主要违法
  违规事实（案由）``, ``行政处罚决定``, ``作出处罚决定的机关名称``, ``作出处罚决定的日期``);
* the vertical form as text, each label on its own line followed by its value.

A 法定代表人 (主要负责人) is not a party; an empty party cell (``—``) is skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from pipeline.extract.dates import parse_date
from pipeline.extract.models import PenaltyRecord
from pipeline.extract.money import fines, total
from pipeline.extract.tables import Grid
from pipeline.extract.text import normalized

_EMPTY = {"", "—", "-", "——", "/", "无", "／", "－"}


def _key(label: str) -> str:
    return re.sub(r"[\s:：()（）]", "", normalized(label))


def role(label: str) -> str | None:
    """What a header or label cell names: party, number, violation, decision, authority,
    date, amount, basis, rep (a legal representative), index -- or None."""
    key = _key(label)
    if not key or len(key) > 30:
        return None
    rules = (
        ("rep", ("法定代表人", "负责人")),
        ("basis", ("依据",)),
        ("date", ("日期", "时间")),
        ("authority", ("机关",)),
        ("number", ("文号", "书号")),
        ("amount", ("金额",)),
        ("violation", ("违法", "违规", "案由", "事实")),
        ("decision", ("处罚内容", "处罚决定", "处罚种类", "处理决定", "处罚结果", "处罚措施")),
        ("party", ("当事人", "被处罚", "相对人", "名称", "姓名", "单位", "企业")),
        ("index", ("序号",)),
    )
    for name, words in rules:
        if any(w in key for w in words):
            return name
    return None


def _one_line(cell: str) -> str:
    return "".join(part.strip() for part in cell.split("\n"))


def _yuan(decision: str, amount_cell: str = "", amount_header: str = "") -> Decimal | None:
    found = [a.yuan for a in fines(normalized(decision))]
    if not found and amount_cell:
        digits = re.sub(r"[^\d.]", "", amount_cell)
        if digits and digits != ".":
            scale = Decimal(10_000) if "万" in amount_header else Decimal(1)
            found = [Decimal(digits) * scale]
    return total(found)


@dataclass(frozen=True, slots=True)
class TableReading:
    records: tuple[PenaltyRecord, ...]
    authority: str | None
    decision_date: date | None
    numbers: tuple[str, ...]


def _header_row(grid: Grid) -> tuple[int, list[str | None]] | None:
    for i, row in enumerate(grid[:4]):
        roles = [role(cell) for cell in row]
        named = {r for r in roles if r is not None}
        if "party" in named and named & {"decision", "violation"} and len(named) >= 3:
            return i, roles
    return None


def _column(roles: list[str | None], name: str) -> int | None:
    return roles.index(name) if name in roles else None


def read_horizontal(grid: Grid) -> TableReading | None:
    found = _header_row(grid)
    if found is None:
        return None
    at, roles = found
    header = grid[at]

    def cell(row: tuple[str, ...], name: str) -> str:
        col = _column(roles, name)
        return _one_line(row[col]) if col is not None and col < len(row) else ""

    records: list[PenaltyRecord] = []
    authorities: list[str] = []
    dates: list[date] = []
    numbers: list[str] = []
    header_keys = {_key(c) for c in header}
    for row in grid[at + 1 :]:
        party = cell(row, "party")
        if party in _EMPTY or _key(party) in header_keys:
            continue
        decision = cell(row, "decision")
        amount_col = _column(roles, "amount")
        amount = _yuan(
            decision, cell(row, "amount"), header[amount_col] if amount_col is not None else ""
        )
        records.append(PenaltyRecord(party, cell(row, "violation"), decision, amount))
        if cell(row, "authority"):
            authorities.append(cell(row, "authority"))
        day = parse_date(normalized(cell(row, "date")))
        if day is not None:
            dates.append(day)
        if cell(row, "number"):
            numbers.append(cell(row, "number"))
    if not records:
        return None
    return TableReading(
        tuple(records),
        authorities[0] if authorities else None,
        dates[0] if dates else None,
        tuple(numbers),
    )


def _dedupe(cells: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for c in cells:
        if not out or out[-1] != c:
            out.append(c)
    return out


def _read_pairs(pairs: list[tuple[str, str]]) -> TableReading | None:
    """Label/value pairs of a vertical table -> one reading (one record per named party)."""
    fields: dict[str, list[str]] = {}
    for label, value in pairs:
        name = role(label)
        if name is None or name in ("rep", "basis", "index"):
            continue
        value = value.strip()
        if value in _EMPTY:
            continue
        fields.setdefault(name, []).append(value)
    parties = [_one_line(p) for p in fields.get("party", [])]
    if not parties or not ({"decision", "violation"} & fields.keys()):
        return None
    violation = _one_line("".join(fields.get("violation", [])))
    decision = _one_line("".join(fields.get("decision", [])))
    amount = _yuan(decision)
    records = [PenaltyRecord(parties[0], violation, decision, amount)]
    # several parties and one decision: the money stays on the first record, not repeated
    records += [PenaltyRecord(p, violation, decision, None) for p in parties[1:]]
    authority = _one_line(fields["authority"][0]) if "authority" in fields else None
    day = parse_date(normalized(fields["date"][0])) if "date" in fields else None
    numbers = tuple(_one_line(n) for n in fields.get("number", []))
    return TableReading(tuple(records), authority, day, numbers)


def read_vertical(grid: Grid) -> TableReading | None:
    pairs: list[tuple[str, str]] = []
    for row in grid:
        cells = _dedupe(row)
        if len(cells) < 2:
            continue
        pairs.append(("/".join(cells[:-1]), cells[-1]))
    return _read_pairs(pairs)


_LABELS = {
    _key(x)
    for x in (
        "行政处罚决定书文号",
        "处罚决定书文号",
        "行政处罚决定文书号",
        "行政处罚决定书号",
        "行政处罚文书号",
        "行政处罚决定文号",
        "被处罚当事人姓名或全称",
        "被处罚当事人姓名或名称",
        "被处罚当事人",
        "被处罚人",
        "被处罚单位",
        "单位名称",
        "被处罚机构情况",
        "被处罚个人",
        "个人姓名",
        "单位",
        "名称",
        "姓名",
        "法定代表人（主要负责人）姓名",
        "法定代表人姓名",
        "主要负责人姓名",
        "法定代表人",
        "主要违法违规事实（案由）",
        "主要违法违规事实",
        "主要违法事实（案由）",
        "案由",
        "主要违法事实",
        "违法事实",
        "行政处罚依据",
        "处罚依据",
        "行政处罚决定",
        "行政处罚种类及金额",
        "行政处理决定",
        "行政处罚种类",
        "行政处罚内容",
        "作出处罚决定的机关名称",
        "作出行政处罚的机关名称",
        "作出行政处罚决定的机关名称",
        "做出处罚决定的机关名称",
        "作出处罚的机关",
        "作出处罚决定机关名称",
        "作出处罚决定的日期",
        "作出行政处罚决定的日期",
        "做出处罚决定的日期",
        "出行政处罚决定的日期",
        "作出处罚的日期",
    )
}


def read_vertical_text(text: str) -> TableReading | None:
    """The vertical form as lines: known label lines, each followed by its value lines."""
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    labels = [_key(line) in _LABELS for line in lines]
    if sum(labels) < 4:
        return None
    pairs: list[tuple[str, str]] = []
    path: list[str] = []
    value: list[str] = []
    for line, is_label in zip(lines, labels, strict=True):
        if is_label:
            if value:
                pairs.append(("/".join(path), "".join(value)))
                path, value = [], []
            path.append(line)
        elif path:
            value.append(line)
    if path and value:
        pairs.append(("/".join(path), "".join(value)))
    return _read_pairs(pairs)
