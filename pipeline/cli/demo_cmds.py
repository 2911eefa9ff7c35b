"""The ``demo`` command: the pipeline on recorded page structures, offline (``pipeline.demo``)."""

from __future__ import annotations

from pathlib import Path

import click

from pipeline.cli.common import EXIT_CONFIG


@click.command("demo")
@click.option(
    "--dir",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the demo's configuration, database and outbox (default: a new temporary"
    " folder; an existing one must be empty or a previous demo).",
)
def demo(folder: Path | None) -> None:
    """See it work offline: two days of six sources from recorded pages, into a folder."""
    from pipeline.cli.progress import cycle_progress
    from pipeline.demo import DemoError, run

    try:
        done = run(folder, say=click.echo, progress=cycle_progress)
    except DemoError as e:
        click.echo(f"lendwatch demo: {e}", err=True)
        raise SystemExit(EXIT_CONFIG) from e
    config = done.config
    click.echo(f"demo folder: {done.dir}")
    for path in done.digests:
        click.echo(f"digest: {path} (and {path.with_suffix('.eml').name})")
    click.echo("next, try:")
    click.echo(f"  lendwatch --config {config} serve")
    click.echo(f"  lendwatch --config {config} search 助贷")
    click.echo(f"  lendwatch --config {config} status")
    click.echo(f"  lendwatch --config {config} export --flagged")


COMMANDS: list[click.Command] = [demo]
