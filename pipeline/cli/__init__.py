"""The ``lendwatch`` command. The CLI package is the only place that prints.

Commands are registered lazily in ``COMMANDS``: name -> where the command lives and its one-line
help. A command's module (and whatever heavy library it needs: bs4, httpx, jinja2, numpy ...) is
imported only when that command runs, so ``lendwatch --help`` lists every command without
importing any, and ``lendwatch status`` never pays for the fetcher. ``tests/test_lazy_imports.py``
holds which heavy modules each command may import, and that each help line here is the command's
own short help.
"""

from __future__ import annotations

import importlib
import logging
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from pipeline.cli.common import EXIT_STORE, fail
from pipeline.config import CONFIG_ENV
from pipeline.errors import StoreError
from pipeline.logs import detach_file_log, install_redaction


@dataclass(frozen=True, slots=True)
class Entry:
    """Where a command lives (module, attribute) and its short help for ``--help``."""

    module: str
    attribute: str
    summary: str


def _entry(module: str, attribute: str, summary: str) -> Entry:
    return Entry(f"pipeline.cli.{module}", attribute, summary)


COMMANDS: dict[str, Entry] = {
    "backup": _entry(
        "ops_cmds",
        "backup_",
        "Copy the database to PATH while lendwatch runs (SQLite online backup).",
    ),
    "calendar": _entry(
        "calendar_cmds",
        "calendar_cmd",
        "Write the flagged items' deadlines and effective dates as an .ics calendar.",
    ),
    "check-config": _entry(
        "config_cmds", "check_config", "Validate the configuration and print the resolved settings."
    ),
    "classify": _entry(
        "classify_cmds",
        "classify",
        "Classify JSON lines from stdin; write one JSON verdict line per input line.",
    ),
    "daemon": _entry(
        "daemon_cmds",
        "daemon",
        "Run the scheduler: every source on its `every`, the digest daily at [digest] at.",
    ),
    "demo": _entry(
        "demo_cmds",
        "demo",
        "See it work offline: two days of six sources from recorded pages, into a folder.",
    ),
    "deliveries": _entry(
        "digest_cmds",
        "deliveries",
        "List the delivery records (pending, sent, failed with the error).",
    ),
    "digest": _entry(
        "digest_cmds", "digest", "Send the digest of everything flagged and not yet delivered."
    ),
    "eval": _entry(
        "classify_cmds",
        "eval_cmd",
        "Measure the rules on labelled JSON lines (title, summary, label 0/1/2).",
    ),
    "explain": _entry(
        "classify_cmds",
        "explain",
        "Show why a stored item was or was not flagged (ITEM_ID or a unique prefix).",
    ),
    "export": _entry("core_cmds", "export_", "Print stored items as JSON lines."),
    "extract": _entry(
        "extract_cmds",
        "extract_cmd",
        "Lifecycle and enforcement facts of JSON lines on stdin, one JSON line out per item.",
    ),
    "fetch": _entry(
        "core_cmds",
        "fetch",
        "Fetch every source once, store and classify new items, send immediate alerts.",
    ),
    "prune": _entry(
        "ops_cmds",
        "prune",
        "Drop the raw bodies of items first seen more than N days ago (titles stay).",
    ),
    "reclassify": _entry(
        "classify_cmds",
        "reclassify",
        "Re-run the current rules over stored items; store the verdicts and report changes.",
    ),
    "run": _entry(
        "core_cmds",
        "run",
        "One full cycle (cron-friendly): fetch, store, classify, then send the digest.",
    ),
    "search": _entry(
        "ops_cmds",
        "search_",
        "Full-text search of titles and bodies (Chinese works: `lendwatch search 借呗`).",
    ),
    "serve": _entry(
        "serve_cmds",
        "serve",
        "Browse everything stored in Datasette, read-only (loopback unless --host).",
    ),
    "sources": _entry(
        "source_cmds",
        "sources",
        "List the configured sources with their health (ok, blocked, layout-changed, error).",
    ),
    "status": _entry(
        "ops_cmds",
        "status",
        "Daemon, last and next run and health per source, pending deliveries, database size.",
    ),
    "test-source": _entry(
        "source_cmds",
        "test_source",
        "Fetch and parse one source and print what was found; nothing is stored.",
    ),
}


def load_command(name: str) -> click.Command:
    """Import the module of command ``name`` and return the command."""
    entry = COMMANDS[name]
    command = getattr(importlib.import_module(entry.module), entry.attribute)
    if not isinstance(command, click.Command):  # a registry typo, caught by the tests
        raise TypeError(f"{entry.module}.{entry.attribute} is not a click command")
    return command


class Lendwatch(click.Group):
    """The command group, lazy (see the module docstring); a database error from any command is
    exit 3 with the cause and the file, never a traceback (a corrupt file, a full disk, a lock
    held too long)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        if cmd_name not in COMMANDS:
            return None
        return load_command(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from the registry's help lines: nothing is imported."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(n) for n in names)
        rows = []
        for name in names:
            # a bare command carrying the registry's line shortens it exactly as click would
            shown = self.commands.get(name) or click.Command(name, help=COMMANDS[name].summary)
            rows.append((name, shown.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except StoreError as e:
            fail(str(e), EXIT_STORE)
        except sqlite3.Error as e:
            path = (ctx.obj or {}).get("db_path", "")
            logging.getLogger(__name__).debug("database error", exc_info=True)
            fail(f"database {path}: {e}", EXIT_STORE)


@click.group(cls=Lendwatch, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default="sources.toml",
    envvar=CONFIG_ENV,
    show_default=True,
    help="Sources file (env LENDWATCH_CONFIG). Paths in it are relative to its folder.",
)
@click.option("-v", "--verbose", count=True, help="-v for HTTP detail, -vv for debug.")
@click.pass_context
def cli(ctx: click.Context, config_path: Path, verbose: int) -> None:
    """lendwatch: watch regulators and fintech news for changes to online lending."""
    ctx.ensure_object(dict)
    ctx.obj["config_path"] = config_path
    ctx.obj["verbose"] = verbose
    level = logging.DEBUG if verbose >= 2 else logging.INFO
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # -v: HTTP detail (each request, each retry); without it one line per source per cycle
    http_level = logging.WARNING if verbose < 1 else logging.NOTSET
    for name in ("httpx", "httpcore", "pipeline.fetch.http"):
        logging.getLogger(name).setLevel(http_level)
    logging.getLogger("apscheduler").setLevel(logging.WARNING if verbose < 2 else logging.DEBUG)
    install_redaction()
    ctx.call_on_close(detach_file_log)


def main() -> None:
    cli(obj={})
