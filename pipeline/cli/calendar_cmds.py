"""``lendwatch calendar``: the dates ahead as an RFC 5545 (.ics) file or on stdout.

``icalendar`` is imported by this command and the daemon only (``tests/test_lazy_imports.py``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from pipeline.cli.common import EXIT_FAILURE, database, fail, load


@click.command("calendar")
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write the calendar to this .ics file (atomically); default: stdout.",
)
@click.pass_context
def calendar_cmd(ctx: click.Context, out: Path | None) -> None:
    """Write the flagged items' deadlines and effective dates as an .ics calendar.

    One all-day event per comment deadline, effective date and transition end, with the
    title, issuer, 文号 and link. UIDs are stable: importing the file again updates the events,
    never duplicates them. The daemon keeps <data_dir>/lendwatch.ics current for a calendar
    app to subscribe to.
    """
    from pipeline.ics import calendar_of, write_atomic

    config = load(ctx)
    with database(config) as store:
        data = calendar_of(store, config)
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    try:
        write_atomic(out, data)
    except OSError as e:
        fail(f"cannot write {out}: {e.strerror or e}", EXIT_FAILURE)
    click.echo(f"wrote {out}")


COMMANDS: list[click.Command] = [calendar_cmd]
