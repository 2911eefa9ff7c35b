"""What the daemon's jobs do, as plain functions on a config and an open store.

``pipeline.schedule`` wires these to APScheduler triggers; here there is no scheduler, so each
job can be tested (and reasoned about) on its own:

- ``fetch_cycle`` one cycle behind a boundary no exception crosses (but the database's);
- ``fetch_job``  one cycle over some sources, then immediate alerts;
- ``digest_job`` the digest of the current slot, or at start only a slot missed while down,
  then the reminders due (``reminder_job``) and the calendar file (``calendar_job``);
- ``retry_job``  pending deliveries whose backoff elapsed;
- ``prune_job``  raw-body retention;
- ``startup_job`` all of the above once, each step independent of the others.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime

from pipeline import digest
from pipeline.classify import Classifier
from pipeline.config import Config
from pipeline.db import utcnow
from pipeline.errors import ConfigError, DeliveryError, StoreError
from pipeline.models import RunReport, Source, SourceReport, SourceResult
from pipeline.run import run_cycle
from pipeline.slots import (  # re-exported: the daemon's helpers, importable from here too
    MAX_JITTER,
    digest_time,
    fetch_job_id,
    group_by_interval,
    jitter_for,
    last_digest,
    latest_slot,
    missed_digest,
    next_slot,
)
from pipeline.store import DIGEST_LAST_SLOT, PRUNE_LAST, Store

__all__ = [
    "MAX_JITTER",
    "digest_time",
    "fetch_job_id",
    "group_by_interval",
    "jitter_for",
    "last_digest",
    "latest_slot",
    "missed_digest",
    "next_slot",
]

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# Job bodies: plain functions on an open store

REASON_MAX = 200


def fetch_cycle(
    config: Config,
    store: Store,
    *,
    sources: Sequence[Source] | None = None,
    classifier: Classifier | None = None,
    on_report: Callable[[SourceReport], None] | None = None,
) -> RunReport:
    """``run_cycle``, behind a boundary no exception class crosses but the database's.

    The cycle handles each source's failures itself; should anything escape it all the same (a
    bug: a ``RecursionError`` from one hostile page), it is logged with its traceback, what the
    cycle stored stays stored, and each source it did not record is recorded as failed with
    the error as the reason, so alerts and the digest still go out for the rest. Database
    errors (``StoreError``, ``sqlite3.Error``) and broken rules (``ConfigError``) still raise:
    nothing can be recorded then.
    """
    chosen = [s for s in (sources if sources is not None else config.sources) if s.enabled]
    mark = store.fetch_log_mark()
    started = utcnow()
    try:
        return run_cycle(config, store, sources=sources, classifier=classifier, on_report=on_report)
    except (StoreError, sqlite3.Error, ConfigError):
        raise
    except Exception as e:
        log.exception("fetch cycle stopped by an unexpected error; the sources it left are failed")
        reason = f"internal error: {type(e).__name__}: {e}"[:REASON_MAX]
        return _recorded_cycle(store, chosen, mark, started, reason)


def _recorded_cycle(
    store: Store, chosen: Sequence[Source], mark: int, started: datetime, reason: str
) -> RunReport:
    """The report of a cycle cut short: what it recorded, and an error for each source left."""
    done = {r.source_id: r for r in store.fetch_reports(mark)}
    reports: list[SourceReport] = []
    for source in chosen:
        report = done.get(source.id)
        if report is None:
            report = SourceReport(source.id, "error", reason, 0, 0, 0, 0, False, 0.0)
            store.record_result(SourceResult(source.id, "error", reason), report)
            log.warning("%s: error: %s", source.id, reason)
        reports.append(report)
    return RunReport(started_at=started, finished_at=utcnow(), sources=tuple(reports))


def fetch_job(config: Config, store: Store, sources: Sequence[Source] | None = None) -> RunReport:
    """One cycle over ``sources`` (default: all), the calendar file, then immediate alerts."""
    report = fetch_cycle(config, store, sources=sources)
    calendar_job(config, store)
    failed = len(report.failed)
    log.info(
        "cycle: %d sources, %d new, %d flagged, %d failed",
        len(report.sources),
        report.new_items,
        report.flagged_items,
        failed,
    )
    try:
        alerts = digest.send_alerts(store, config)
    except (StoreError, sqlite3.Error):
        raise
    except DeliveryError as e:
        log.error("alerts not sent (kept pending, retried): %s", e)
        return report
    except Exception:
        log.exception("alerts failed unexpectedly (the items stay pending, tried next cycle)")
        return report
    else:
        if alerts.sent or alerts.written or alerts.failed:
            level = logging.WARNING if alerts.failed else logging.INFO
            log.log(level, "%s", alerts.summary())
    return report


def digest_job(
    config: Config, store: Store, now: datetime | None = None, *, catch_up: bool
) -> bool:
    """Send the digest for the current slot unless it was handled already; True when sent.

    ``catch_up`` (at start) sends only a *missed* digest: one whose slot passed while the daemon
    was down. The slot is recorded once the digest was produced, even if delivery failed: the
    message then stays pending and the retry job delivers it, so it is never produced twice.
    """
    now = now or utcnow()
    if catch_up:
        slot = missed_digest(store, config, now)
        if slot is None:
            return False
        log.info("digest of %s was missed while the daemon was down: sending it now", slot)
    else:
        slot = latest_slot(config.digest.at, config.settings.tz, now)
        last = last_digest(store)
        if last is not None and last >= slot:
            log.info("digest of %s was sent already", slot)
            return False
    try:
        result = digest.send_digest(store, config, now=now)
        log.log(logging.WARNING if result.failed else logging.INFO, "%s", result.summary())
    except DeliveryError as e:
        log.error("digest not delivered (kept pending, retried): %s", e)
    store.set_time(DIGEST_LAST_SLOT, slot)
    reminder_job(config, store, now)
    calendar_job(config, store)
    return True


def reminder_job(config: Config, store: Store, now: datetime | None = None) -> None:
    """The reminders due (``[digest] remind_days``), after the digest; each date once."""
    try:
        result = digest.send_reminders(store, config, now=now)
    except DeliveryError as e:
        log.error("reminders not delivered (kept pending, retried): %s", e)
        return
    if not result.nothing_to_report:
        log.log(logging.WARNING if result.failed else logging.INFO, "%s", result.summary())


def calendar_job(config: Config, store: Store) -> None:
    """Rewrite ``<data_dir>/lendwatch.ics`` (after each cycle and digest). A file that cannot
    be written is logged; the daemon goes on."""
    from pipeline.ics import keep_calendar  # icalendar: the daemon and `lendwatch calendar` only

    try:
        keep_calendar(store, config)
    except OSError as e:
        log.error("calendar not written: %s", e)


def retry_job(config: Config, store: Store) -> None:
    result = digest.retry_pending(store, config)
    if result.failed or result.sent or result.written or result.notified:
        level = logging.WARNING if result.failed else logging.INFO
        log.log(level, "pending deliveries: %s", result.summary())


def prune_job(config: Config, store: Store) -> int:
    pruned = store.prune_bodies(config.settings.retention_days)
    store.set_time(PRUNE_LAST, utcnow())
    if pruned:
        log.info(
            "retention: dropped raw bodies of %d items older than %d days",
            pruned,
            config.settings.retention_days,
        )
    return pruned


def startup_job(config: Config, store: Store) -> None:
    """At start: fetch everything, alerts, pending deliveries, a missed digest, retention.

    The steps are independent: one failing, whatever the exception (a broken rules file stops
    the fetch, a bug raises ``RecursionError``), is logged with its traceback and the others
    still run.
    """
    steps: tuple[tuple[str, Callable[[], object]], ...] = (
        ("fetch", lambda: fetch_job(config, store)),
        ("retry", lambda: retry_job(config, store)),
        ("missed digest", lambda: digest_job(config, store, catch_up=True)),
        ("retention", lambda: prune_job(config, store)),
    )
    for name, step in steps:
        try:
            step()
        except (ConfigError, StoreError, DeliveryError, sqlite3.Error) as e:
            log.error("start-up %s failed: %s", name, e)  # the message says it all
        except Exception:
            log.exception("start-up %s failed unexpectedly", name)
