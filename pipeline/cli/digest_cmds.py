"""The email commands: digest (send, --dry-run, --preview) and deliveries (the outbox)."""

from __future__ import annotations

from contextlib import ExitStack
from typing import TYPE_CHECKING

import click

from pipeline.cli.common import (
    EXIT_FAILURE,
    EXIT_STORE,
    database,
    deliver,
    exclusive,
    fail,
    failures_of,
    load,
    report_failures,
)
from pipeline.cli.display import safe, safe_lines
from pipeline.config import Config
from pipeline.errors import StoreError

if TYPE_CHECKING:  # the digest (jinja2, numpy) is imported when something is sent
    from pipeline.digest import DeliveryReport
    from pipeline.store import Store


@click.command()
@click.option(
    "--dry-run",
    is_flag=True,
    help="Write the digest as .eml and .html to the outbox; send and mark nothing.",
)
@click.option(
    "--preview", is_flag=True, help="Like --dry-run, and print only the HTML preview's path."
)
@click.pass_context
def digest(ctx: click.Context, dry_run: bool, preview: bool) -> None:
    """Send the digest of everything flagged and not yet delivered.

    Without an [email] table the digest is written to <data_dir>/outbox/ (.eml and .html).
    Exit status: 0 delivered (or nothing to report); 1 a delivery failed (kept and retried);
    2 configuration error; 3 database error; 4 another lendwatch process (the daemon) holds the
    data directory.
    """
    from pipeline.digest import send_digest, send_reminders

    config = load(ctx)
    dry = dry_run or preview

    def digest_then_reminders(store: Store) -> DeliveryReport:
        report = send_digest(store, config, dry_run=dry)
        if dry:
            return report
        reminded = send_reminders(store, config)
        if not reminded.nothing_to_report:
            click.echo(safe_lines(reminded.summary()))
        return report.merge(failures_of(reminded))

    with ExitStack() as stack:
        if not dry:  # two senders at once could mail the same items twice
            stack.enter_context(exclusive(config))
        report = deliver(config, digest_then_reminders)
    if preview:
        if report.preview is None:
            fail("no preview was written", EXIT_FAILURE)
        click.echo(str(report.preview))
        return
    click.echo(safe_lines(report.summary()))
    report_failures(report)


@click.command()
@click.option("--retry", is_flag=True, help="Retry pending and failed deliveries now.")
@click.option("--limit", default=20, show_default=True, help="How many records to list.")
@click.pass_context
def deliveries(ctx: click.Context, retry: bool, limit: int) -> None:
    """List the delivery records (pending, sent, failed with the error)."""
    config = load(ctx)
    with ExitStack() as stack:
        if retry:
            stack.enter_context(exclusive(config))
        _list_deliveries(config, retry, limit)


def _list_deliveries(config: Config, retry: bool, limit: int) -> None:
    store = database(config)
    report: DeliveryReport | None = None
    try:
        if retry:
            from pipeline.digest import retry_pending

            report = retry_pending(store, config)
            click.echo(safe_lines(report.summary()))
        records = store.list_deliveries(limit=limit)
    except StoreError as e:
        fail(str(e), EXIT_STORE)
    finally:
        store.close()
    tz = config.settings.tz
    if not records:
        click.echo("No deliveries recorded yet.")
    for d in records:
        when = (d.sent_at or d.last_attempt or d.created_at).astimezone(tz)
        line = f"{d.id:>5}  {d.kind:<8} {d.channel:<6} {d.status:<7} {when:%Y-%m-%d %H:%M}"
        line += f"  {safe(d.target)}  {safe(d.subject)}"
        click.echo(line)
        if d.status != "sent" and d.last_error:
            nxt = d.next_attempt.astimezone(tz)
            error = safe(d.last_error)
            click.echo(f"       {error} (attempts {d.attempts}, next {nxt:%Y-%m-%d %H:%M})")
        elif d.path:
            click.echo(f"       {safe(d.path)}")
    if report is not None:
        report_failures(report)


COMMANDS: list[click.Command] = [digest, deliveries]
