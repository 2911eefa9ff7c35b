"""Tables as grids of cell texts: HTML tables with merged cells expanded, and tables that
survived as text (one row per line, cells separated by ``|``; or a vertical form, each label on
its own line followed by its value).

A grid is a tuple of rows, each a tuple of cell strings; a cell spanning rows or columns
(``rowspan``/``colspan``) repeats its text in every position it covers, so row ``i`` column
``j`` is always what a reader sees there. Cell text keeps one line per paragraph or ``<br>``.
"""

from __future__ import annotations

from bs4 import BeautifulSoup, Tag

from pipeline.extract.text import element_text

Grid = tuple[tuple[str, ...], ...]

_MAX_SPAN = 200  # a bigger rowspan/colspan is a broken attribute, not a table


def _span(cell: Tag, name: str) -> int:
    value = cell.get(name)
    if not isinstance(value, str):
        return 1
    digits = "".join(ch for ch in value if ch.isdigit())
    return min(max(int(digits), 1), _MAX_SPAN) if digits else 1


def _cell_text(cell: Tag) -> str:
    return element_text(cell).replace(" | ", " ").strip()


def table_grid(table: Tag) -> Grid:
    """The expanded grid of one ``<table>`` (rows of nested tables are not included)."""
    pending: dict[tuple[int, int], str] = {}
    rows: list[list[str]] = []
    for r, tr in enumerate(
        row for row in table.find_all("tr") if row.find_parent("table") is table
    ):
        row: list[str] = []
        c = 0
        for cell in tr.find_all(["td", "th"], recursive=False):
            while (r, c) in pending:
                row.append(pending.pop((r, c)))
                c += 1
            text = _cell_text(cell)
            rowspan, colspan = _span(cell, "rowspan"), _span(cell, "colspan")
            for dc in range(colspan):
                row.append(text)
                for dr in range(1, rowspan):
                    pending[(r + dr, c + dc)] = text
            c += colspan
        while (r, c) in pending:
            row.append(pending.pop((r, c)))
            c += 1
        rows.append(row)
    width = max((len(row) for row in rows), default=0)
    return tuple(tuple(row + [""] * (width - len(row))) for row in rows if any(row))


def html_grids(soup: BeautifulSoup) -> list[Grid]:
    """The grids of every innermost table (layout tables around a data table are skipped)."""
    grids: list[Grid] = []
    for table in soup.find_all("table"):
        if table.find("table") is not None:
            continue
        grid = table_grid(table)
        if grid:
            grids.append(grid)
    return grids


def text_grids(text: str) -> list[Grid]:
    """Blocks of consecutive lines with at least two ``|`` separators, as grids."""
    grids: list[Grid] = []
    block: list[tuple[str, ...]] = []
    for line in [*text.split("\n"), ""]:
        if line.count("|") >= 2:
            block.append(tuple(cell.strip() for cell in line.split("|")))
            continue
        if len(block) >= 2:
            width = max(len(row) for row in block)
            grids.append(tuple(row + ("",) * (width - len(row)) for row in block))
        block = []
    return grids
