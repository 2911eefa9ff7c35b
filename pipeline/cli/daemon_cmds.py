"""The ``daemon`` command: the scheduler (the one command that imports apscheduler)."""

from __future__ import annotations

import logging
import os
import signal
import threading
from types import FrameType

import click

from pipeline.cli.common import EXIT_STORE, database, exclusive, fail, load, load_rules
from pipeline.config import Config
from pipeline.errors import StoreError
from pipeline.schedule import SHUTDOWN_GRACE, Daemon

log = logging.getLogger(__name__)


@click.command()
@click.option(
    "--grace",
    type=click.FloatRange(min=0),
    default=SHUTDOWN_GRACE,
    show_default=True,
    help="Seconds a running job may take to finish after SIGTERM/SIGINT.",
)
@click.pass_context
def daemon(ctx: click.Context, grace: float) -> None:
    """Run the scheduler: every source on its `every`, the digest daily at [digest] at.

    Fetches every source at start and sends a digest missed while it was down. Stops cleanly on
    SIGTERM or SIGINT (exit 0). Exit status: 2 configuration error, 3 database unusable,
    4 another daemon holds the data directory.
    """
    config = load(ctx)
    load_rules(config.settings.rules, config.settings.cache_dir)  # refuse broken rules
    with exclusive(config):
        clean = _serve(config, grace)
    if not clean:  # a job thread is stuck in I/O: do not wait for it at interpreter exit
        logging.shutdown()
        os._exit(0)


def _serve(config: Config, grace: float) -> bool:
    """Run the scheduler until a signal; False when a job was still stuck at the end."""
    database(config).close()  # migrate once, up front; exit 3 if unusable
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("received %s", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        return Daemon(config, grace=grace).run(stop)
    except StoreError as e:
        fail(str(e), EXIT_STORE)


COMMANDS: list[click.Command] = [daemon]
