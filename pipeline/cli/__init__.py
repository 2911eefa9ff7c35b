"""The ``lendwatch`` command. The CLI package is the only place that prints.

Each submodule exports ``COMMANDS``; they are registered here explicitly.
"""

from __future__ import annotations

import logging
import sqlite3
import sys
from pathlib import Path
from typing import Any

import click

from pipeline.cli import classify_cmds, core_cmds, digest_cmds, extract_cmds, ops_cmds, source_cmds
from pipeline.cli.common import EXIT_STORE, fail
from pipeline.config import CONFIG_ENV
from pipeline.errors import StoreError
from pipeline.logs import detach_file_log, install_redaction


class Lendwatch(click.Group):
    """The command group; a database error from any command is exit 3 with the cause and the
    file, never a traceback (a corrupt file, a full disk, a lock held too long)."""

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


for _module in (core_cmds, source_cmds, classify_cmds, digest_cmds, ops_cmds, extract_cmds):
    for _command in _module.COMMANDS:
        cli.add_command(_command)


def main() -> None:
    cli(obj={})
