"""The cycle commands: run, fetch, export (check-config is in ``config_cmds``)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import click

from pipeline.cli.common import (
    EXIT_STORE,
    database,
    deliver,
    exclusive,
    fail,
    failures_of,
    load,
    load_rules,
    report_failures,
)
from pipeline.cli.display import json_line, safe, safe_lines
from pipeline.cli.progress import cycle_progress
from pipeline.config import Config
from pipeline.errors import StoreError
from pipeline.models import RunReport

if TYPE_CHECKING:  # the fetcher and the digest are imported by run and fetch only, not export
    from pipeline.digest import DeliveryReport
    from pipeline.store import Store


def _cycle(config: Config, *, alerts: bool) -> tuple[RunReport, DeliveryReport | None]:
    """One fetch cycle (and the immediate alerts); a source's failure, whatever it raised, is
    reported against that source (``fetch_cycle``) and the rest goes on."""
    from pipeline.digest import send_alerts
    from pipeline.jobs import fetch_cycle

    classifier = load_rules(
        config.settings.rules, config.settings.cache_dir
    )  # before any fetch: broken rules exit 2
    store = database(config)
    delivered: DeliveryReport | None = None
    enabled = sum(1 for s in config.sources if s.enabled)
    try:
        with cycle_progress(enabled) as on_report:
            report = fetch_cycle(config, store, classifier=classifier, on_report=on_report)
        if alerts:
            delivered = send_alerts(store, config)
    except StoreError as e:
        fail(str(e), EXIT_STORE)
    finally:
        store.close()
    return report, delivered


def _summary(report: RunReport) -> str:
    failed = report.failed
    line = (
        f"{len(report.sources)} sources, {report.new_items} new items, "
        f"{report.flagged_items} flagged, {len(failed)} failed"
    )
    if failed:
        line += "\n" + "\n".join(f"  {s.source_id}: {s.status}: {safe(s.reason)}" for s in failed)
    return line


@click.command()
@click.pass_context
def fetch(ctx: click.Context) -> None:
    """Fetch every source once, store and classify new items, send immediate alerts.

    Exit status: 0 when the cycle completed (failed sources are reported, not fatal); 1 when an
    alert could not be delivered (it stays pending and is retried); 2 configuration error;
    3 database error; 4 another lendwatch process holds the data directory.
    """
    config = load(ctx)
    with exclusive(config):
        report, alerts = _cycle(config, alerts=True)
    click.echo(_summary(report))
    if alerts is not None and (alerts.sent or alerts.written or alerts.failed):
        click.echo(safe_lines(alerts.summary()))
    if alerts is not None:
        report_failures(alerts)


@click.command()
@click.pass_context
def run(ctx: click.Context) -> None:
    """One full cycle (cron-friendly): fetch, store, classify, then send the digest.

    No separate alert mail repeats the digest: it goes out in the same cycle and leads with the
    high-severity items. Source-health changes (a source turned broken or recovered) still reach
    the operator once each, as an alert.

    Exit status: 0 when the cycle completed (failed sources are reported, not fatal);
    1 when the digest could not be delivered (it stays pending and is retried);
    2 on a configuration error; 3 when the database cannot be used; 4 when another lendwatch
    process (the daemon) holds the data directory.
    """
    config = load(ctx)
    with exclusive(config):
        _run(config)


def _run(config: Config) -> None:
    from pipeline.digest import send_alerts, send_digest, send_reminders

    report, _ = _cycle(config, alerts=False)
    click.echo(_summary(report))

    def digest_then_health(store: Store) -> DeliveryReport:
        delivery = send_digest(store, config)
        if delivery.ok:  # items are digested now: this only tells of source-health changes
            delivery = delivery.merge(send_alerts(store, config))
        reminded = send_reminders(store, config)
        if not reminded.nothing_to_report:
            click.echo(safe_lines(reminded.summary()))
        return delivery.merge(failures_of(reminded))

    delivery = deliver(config, digest_then_health)
    click.echo(safe_lines(delivery.summary()))
    report_failures(delivery)


@click.command("export")
@click.option("--flagged", is_flag=True, help="Only flagged items.")
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
    help="Items published (or first seen, when undated) on or after this date, read in"
    " [settings] timezone.",
)
@click.option("--source", "source_id", metavar="ID", help="Only the items of this source.")
@click.option(
    "--backlog",
    is_flag=True,
    help="Only items stored as backlog (a first fetch, a comeback, scrolled in): indexed, not"
    " sent one by one.",
)
@click.pass_context
def export_(
    ctx: click.Context, flagged: bool, since: datetime | None, source_id: str | None, backlog: bool
) -> None:
    """Print stored items as JSON lines."""
    config = load(ctx)
    with database(config) as store:
        since_utc = since.replace(tzinfo=config.settings.tz) if since is not None else None
        for item in store.iter_items(
            flagged_only=flagged, since=since_utc, source_id=source_id, backlog_only=backlog
        ):
            click.echo(json_line(item.to_export()))


COMMANDS: list[click.Command] = [run, fetch, export_]
