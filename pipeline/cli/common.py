"""Helpers shared by the CLI modules: load the configuration, open the database, exit codes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from pipeline.cli.display import safe
from pipeline.config import Config, load_config
from pipeline.errors import ConfigError, DeliveryError, LockError, StoreError
from pipeline.lock import DataDirLock
from pipeline.logs import attach_file_log

if TYPE_CHECKING:  # imported where used: each command pays only for what it needs
    from pipeline.classify import Classifier
    from pipeline.digest import DeliveryReport
    from pipeline.store import Store

EXIT_FAILURE = 1  # e.g. a delivery failed; nothing is lost, the next run retries
EXIT_CONFIG = 2
EXIT_STORE = 3
EXIT_LOCKED = 4  # another daemon holds the data directory


def fail(message: str, code: int) -> NoReturn:
    click.echo(f"lendwatch: {message}", err=True)
    raise SystemExit(code)


def load(ctx: click.Context) -> Config:
    """Load the configuration named by --config; on error print every problem and exit 2.

    Logging then goes to ``<data_dir>/lendwatch.log`` too (rotating, secrets redacted).
    """
    try:
        config = load_config(ctx.obj["config_path"])
    except ConfigError as e:
        click.echo("lendwatch: invalid configuration:", err=True)
        for problem in e.problems:
            click.echo(f"  - {problem}", err=True)
        raise SystemExit(EXIT_CONFIG) from e
    ctx.obj["db_path"] = config.settings.db_path  # named by the database error handler
    attach_file_log(config.settings.data_dir)  # created on the first record only
    return config


@contextmanager
def exclusive(config: Config) -> Iterator[None]:
    """Hold the data directory (as the daemon does) or exit 4 naming the holder."""
    lock = DataDirLock(config.settings.data_dir)
    try:
        lock.acquire()
    except LockError as e:
        fail(str(e), EXIT_LOCKED)
    except StoreError as e:
        fail(str(e), EXIT_STORE)
    try:
        yield
    finally:
        lock.release()


def load_rules(path: Path, cache_dir: Path | None = None) -> Classifier:
    """Load the classifier rules (through the compiled-rules cache in ``cache_dir``, when
    given); on error print every problem and exit 2."""
    from pipeline.classify import Classifier

    try:
        return Classifier.from_file(path, cache_dir)
    except ConfigError as e:
        click.echo("lendwatch: invalid rules:", err=True)
        for problem in e.problems:
            click.echo(f"  - {problem}", err=True)
        raise SystemExit(EXIT_CONFIG) from e


def deliver(config: Config, send: Callable[[Store], DeliveryReport]) -> DeliveryReport:
    """Run one delivery step on a fresh connection; map its errors to exit codes."""
    store = database(config)
    try:
        return send(store)
    except DeliveryError as e:
        fail(f"{e} (nothing marked delivered; retried on the next run)", EXIT_FAILURE)
    except StoreError as e:
        fail(str(e), EXIT_STORE)
    finally:
        store.close()


def failures_of(report: DeliveryReport) -> DeliveryReport:
    """Only the failures of ``report`` (to merge into another step's report)."""
    return replace(
        report,
        sent=0,
        written=0,
        notified=0,
        stories=0,
        items=0,
        events=0,
        paths=(),
        nothing_to_report=True,
    )


def report_failures(report: DeliveryReport) -> None:
    """Print each delivery error; exit 1 when a message was not delivered."""
    for error in report.errors:
        click.echo(f"lendwatch: {safe(error)}", err=True)
    if report.failed:
        fail(
            f"{report.failed} message(s) not delivered; the items stay pending and are retried"
            " on the next run",
            EXIT_FAILURE,
        )


def database(config: Config) -> Store:
    """Open the store (migrating it); exit 3 when it cannot be used."""
    from pipeline.store import Store

    try:
        return Store.open(config.settings.db_path)
    except StoreError as e:
        fail(str(e), EXIT_STORE)
