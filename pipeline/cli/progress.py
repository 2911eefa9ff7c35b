"""On a terminal (rich): a progress display for long commands and tables for `sources` and
`status`; elsewhere (cron, the daemon, CI, a pipe) nothing changes.

``cycle_progress(total)`` yields the callback a fetch cycle tells each source's report to, or
None when stderr is not a terminal (cron, the daemon, CI, a pipe): then the output stays the
log lines alone. On a terminal the display shows sources done / total, new items, flagged and
failed as they happen, below the log lines.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TextIO

from pipeline.models import SourceReport


def on_terminal(stream: TextIO | None = None) -> bool:
    stream = stream or sys.stderr
    return bool(getattr(stream, "isatty", lambda: False)())


@contextmanager
def _bar(
    label: str, total: int, stats: str, stream: TextIO | None
) -> Iterator[Callable[[str], None]]:
    """One rich progress bar on ``stream``; the callback advances it by one with new stats."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[stats]}"),
        TimeElapsedColumn(),
        console=Console(file=stream or sys.stderr),
    ) as progress:
        task = progress.add_task(label, total=total, stats=stats)
        yield lambda text: progress.update(task, advance=1, stats=text)


@contextmanager
def cycle_progress(
    total: int, label: str = "抓取", *, stream: TextIO | None = None
) -> Iterator[Callable[[SourceReport], None] | None]:
    if not on_terminal(stream):
        yield None
        return
    seen = {"new": 0, "flagged": 0, "failed": 0}

    def stats() -> str:
        return f"新条目 {seen['new']} · 标记 {seen['flagged']} · 失败 {seen['failed']}"

    with _bar(label, total, stats(), stream) as advance:

        def told(report: SourceReport) -> None:
            seen["new"] += report.new
            seen["flagged"] += report.flagged
            seen["failed"] += report.status != "ok"
            advance(stats())

        yield told


@contextmanager
def item_progress(
    total: int, label: str = "重新分类", *, stream: TextIO | None = None
) -> Iterator[Callable[[bool], None] | None]:
    """``reclassify``'s display: items done / total and how many changed; None off a
    terminal. The callback is told, per item, whether its verdict changed."""
    if not on_terminal(stream):
        yield None
        return
    changed = [0]
    with _bar(label, total, "变化 0", stream) as advance:

        def told(change: bool) -> None:
            changed[0] += change
            advance(f"变化 {changed[0]}")

        yield told


_STATUS_STYLE = {"ok": "green", "never-fetched": "dim", "disabled": "dim"}


def print_table(header: Sequence[str], rows: Sequence[Sequence[str]], title: str = "") -> bool:
    """``rows`` as an aligned rich table when stdout is a terminal (health columns coloured);
    False, printing nothing, otherwise: the caller prints its plain text."""
    if not on_terminal(sys.stdout):
        return False
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(*header, title=title or None, title_justify="left", show_lines=False)
    health = [k for k, name in enumerate(header) if name.upper() in ("STATUS", "HEALTH")]
    for row in rows:
        cells = [escape(cell) for cell in row]  # a reason is text, never markup
        for k in health:
            word = cells[k].split()[0] if cells[k] else ""
            style = _STATUS_STYLE.get(word, "red" if word else "")
            cells[k] = f"[{style}]{cells[k]}[/]" if style else cells[k]
        table.add_row(*cells)
    Console().print(table, markup=True, highlight=False)
    return True
