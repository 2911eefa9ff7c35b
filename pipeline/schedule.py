"""The daemon: APScheduler 3 wiring of the cycle, the digest, retries and retention to triggers.

This is the only module that imports apscheduler. What each job *does* is a plain function here
(``fetch_job``, ``digest_job``, ``retry_job``, ``prune_job``) taking a config and an open database,
so it can be tested without a scheduler; ``Daemon`` only wires them to triggers:

- ``startup``  once, at start: fetch every enabled source concurrently, send alerts, retry pending
  deliveries, send a digest missed while the daemon was down (once), prune raw bodies;
- ``fetch-<N>s`` one job per distinct ``every`` (sources sharing an interval are fetched together,
  concurrently), ``IntervalTrigger`` with jitter, then alerts;
- ``digest``   ``CronTrigger`` at ``[digest] at`` in ``settings.timezone``;
- ``retry``    pending deliveries every ``RETRY_EVERY`` seconds;
- ``prune``    raw-body retention, daily.

Every job has ``coalesce=True, max_instances=1`` and a misfire grace time. Jobs run one at a time
on a single executor thread and each run opens its own database connection, so no connection is
ever shared between threads and two jobs never race on the same rows (an alert cannot be sent
twice by two overlapping cycles). A job's failure is logged as one line and the daemon goes on.

Shutdown (``stop`` set, e.g. by SIGTERM): no new job starts; the running one is given ``grace``
seconds to finish. Every write is a transaction, so one cut short is rolled back by SQLite.
"""

from __future__ import annotations

import functools
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlite_utils
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from pipeline import digest
from pipeline.config import Config
from pipeline.errors import DeliveryError, LendwatchError
from pipeline.models import RunReport, Source
from pipeline.run import run_cycle
from pipeline.store import open_db
from pipeline.store.items import prune_bodies
from pipeline.store.meta import (
    DAEMON_PID,
    DAEMON_STARTED,
    DIGEST_LAST_SLOT,
    PRUNE_LAST,
    get_time,
    last_digest_created,
    set_meta,
    set_time,
)
from pipeline.store.schema import utcnow

log = logging.getLogger(__name__)

RETRY_EVERY = 600  # seconds between retries of pending deliveries
PRUNE_EVERY = 86_400
DIGEST_GRACE = 6 * 3600  # a digest may still go out this late (suspended machine, long job)
SHUTDOWN_GRACE = 60.0
MAX_JITTER = 120.0
NEXT_RUN_PREFIX = "next."  # meta key prefix: the daemon's next run time per job


# ---------------------------------------------------------------------------------------------
# Pure helpers


def jitter_for(every_seconds: int) -> float:
    """A tenth of the interval, at most two minutes: spreads load without drifting much."""
    return min(every_seconds / 10, MAX_JITTER)


def group_by_interval(sources: Sequence[Source]) -> dict[int, tuple[Source, ...]]:
    groups: dict[int, list[Source]] = {}
    for source in sources:
        if source.enabled:
            groups.setdefault(source.every_seconds, []).append(source)
    return {every: tuple(group) for every, group in sorted(groups.items())}


def fetch_job_id(every_seconds: int) -> str:
    return f"fetch-{every_seconds}s"


def digest_time(at: str) -> time:
    hour, minute = at.split(":")
    return time(int(hour), int(minute))


def latest_slot(at: str, tz: ZoneInfo, now: datetime) -> datetime:
    """The most recent scheduled digest time at or before ``now`` (UTC)."""
    local = now.astimezone(tz)
    slot = datetime.combine(local.date(), digest_time(at), tzinfo=tz)
    if slot > local:
        slot = datetime.combine(local.date() - timedelta(days=1), digest_time(at), tzinfo=tz)
    return slot.astimezone(UTC)


def next_slot(at: str, tz: ZoneInfo, now: datetime) -> datetime:
    """The next scheduled digest time strictly after ``now`` (UTC)."""
    local = now.astimezone(tz)
    slot = datetime.combine(local.date(), digest_time(at), tzinfo=tz)
    if slot <= local:
        slot = datetime.combine(local.date() + timedelta(days=1), digest_time(at), tzinfo=tz)
    return slot.astimezone(UTC)


def last_digest(db: sqlite_utils.Database) -> datetime | None:
    """When a digest was last produced: the daemon's record, or the newest digest delivery.

    Creation time, not send time: a stale digest delivered late by a retry must not count as
    today's digest.
    """
    times = [get_time(db, DIGEST_LAST_SLOT), last_digest_created(db)]
    known = [t for t in times if t is not None]
    return max(known) if known else None


def missed_digest(db: sqlite_utils.Database, config: Config, now: datetime) -> datetime | None:
    """The digest slot missed while the daemon was down, if any.

    With no digest on record at all (a fresh install) nothing counts as missed: the first digest
    goes out at its regular time.
    """
    last = last_digest(db)
    slot = latest_slot(config.digest.at, config.settings.tz, now)
    if last is None or last >= slot:
        return None
    return slot


# ---------------------------------------------------------------------------------------------
# Job bodies: plain functions on an open database


def fetch_job(
    config: Config, db: sqlite_utils.Database, sources: Sequence[Source] | None = None
) -> RunReport:
    """One cycle over ``sources`` (default: all), then immediate alerts."""
    report = run_cycle(config, db, sources=sources)
    failed = len(report.failed)
    log.info(
        "cycle: %d sources, %d new, %d flagged, %d failed",
        len(report.sources),
        report.new_items,
        report.flagged_items,
        failed,
    )
    try:
        alerts = digest.send_alerts(db, config)
    except DeliveryError as e:
        log.error("alerts not sent (kept pending, retried): %s", e)
    else:
        if alerts.sent or alerts.written or alerts.failed:
            level = logging.WARNING if alerts.failed else logging.INFO
            log.log(level, "%s", alerts.summary())
    return report


def digest_job(
    config: Config, db: sqlite_utils.Database, now: datetime | None = None, *, catch_up: bool
) -> bool:
    """Send the digest for the current slot unless it was handled already; True when sent.

    ``catch_up`` (at start) sends only a *missed* digest: one whose slot passed while the daemon
    was down. The slot is recorded once the digest was produced, even if delivery failed: the
    message then stays pending and the retry job delivers it, so it is never produced twice.
    """
    now = now or utcnow()
    if catch_up:
        slot = missed_digest(db, config, now)
        if slot is None:
            return False
        log.info("digest of %s was missed while the daemon was down: sending it now", slot)
    else:
        slot = latest_slot(config.digest.at, config.settings.tz, now)
        last = last_digest(db)
        if last is not None and last >= slot:
            log.info("digest of %s was sent already", slot)
            return False
    try:
        result = digest.send_digest(db, config, now=now)
        log.log(logging.WARNING if result.failed else logging.INFO, "%s", result.summary())
    except DeliveryError as e:
        log.error("digest not delivered (kept pending, retried): %s", e)
    set_time(db, DIGEST_LAST_SLOT, slot)
    return True


def retry_job(config: Config, db: sqlite_utils.Database) -> None:
    result = digest.retry_pending(db, config)
    if result.failed or result.sent or result.written or result.notified:
        level = logging.WARNING if result.failed else logging.INFO
        log.log(level, "pending deliveries: %s", result.summary())


def prune_job(config: Config, db: sqlite_utils.Database) -> int:
    pruned = prune_bodies(db, config.settings.retention_days)
    set_time(db, PRUNE_LAST, utcnow())
    if pruned:
        log.info(
            "retention: dropped raw bodies of %d items older than %d days",
            pruned,
            config.settings.retention_days,
        )
    return pruned


def startup_job(config: Config, db: sqlite_utils.Database) -> None:
    """At start: fetch everything, alerts, pending deliveries, a missed digest, retention.

    The steps are independent: one failing (say, a broken rules file stops the fetch) is logged
    and the others still run.
    """
    steps: tuple[tuple[str, Callable[[], object]], ...] = (
        ("fetch", lambda: fetch_job(config, db)),
        ("retry", lambda: retry_job(config, db)),
        ("missed digest", lambda: digest_job(config, db, catch_up=True)),
        ("retention", lambda: prune_job(config, db)),
    )
    for name, step in steps:
        try:
            step()
        except (LendwatchError, sqlite3.Error) as e:
            log.error("start-up %s failed: %s", name, e)


# ---------------------------------------------------------------------------------------------
# The scheduler


class Daemon:
    """``Daemon(config).run(stop)`` blocks until ``stop`` is set; returns True on a clean stop."""

    def __init__(
        self,
        config: Config,
        *,
        retry_every: int = RETRY_EVERY,
        grace: float = SHUTDOWN_GRACE,
    ) -> None:
        self.config = config
        self.retry_every = retry_every
        self.grace = grace
        self._stopping = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._busy_lock = threading.Lock()
        self._scheduler: BackgroundScheduler | None = None

    # -- job plumbing --------------------------------------------------------------------------

    @contextmanager
    def _database(self) -> Iterator[sqlite_utils.Database]:
        db = open_db(self.config.settings.db_path)
        try:
            yield db
        finally:
            db.close()

    def _guarded(self, job_id: str, body: Callable[[sqlite_utils.Database], object]) -> None:
        """Run one job body on its own connection; never let an error escape to the scheduler."""
        with self._busy_lock:
            if self._stopping.is_set():
                return
            self._idle.clear()
        try:
            with self._database() as db:
                body(db)
                self._record_next(db, job_id)
        except LendwatchError as e:
            log.error("job %s failed: %s", job_id, e)
        except sqlite3.Error as e:
            log.error("job %s failed: database %s: %s", job_id, self.config.settings.db_path, e)
        except Exception:
            log.exception("job %s failed unexpectedly", job_id)
        finally:
            with self._busy_lock:
                self._idle.set()

    def _record_next(self, db: sqlite_utils.Database, job_id: str) -> None:
        scheduler = self._scheduler
        job = scheduler.get_job(job_id) if scheduler is not None else None
        if job is not None and job.next_run_time is not None:
            set_time(db, NEXT_RUN_PREFIX + job_id, job.next_run_time)

    def _job(
        self, job_id: str, body: Callable[[sqlite_utils.Database], object]
    ) -> Callable[[], None]:
        def run() -> None:
            self._guarded(job_id, body)

        run.__name__ = job_id
        return run

    # -- wiring --------------------------------------------------------------------------------

    def _add_jobs(self, scheduler: BackgroundScheduler, now: datetime) -> None:
        config = self.config
        tz = config.settings.tz
        scheduler.add_job(
            self._job("startup", lambda db: startup_job(config, db)),
            DateTrigger(run_date=now, timezone=tz),
            id="startup",
            misfire_grace_time=None,
        )
        for every, group in group_by_interval(config.sources).items():
            job_id = fetch_job_id(every)
            scheduler.add_job(
                self._job(job_id, functools.partial(fetch_job, config, sources=group)),
                IntervalTrigger(seconds=every, jitter=jitter_for(every), timezone=tz),
                id=job_id,
                misfire_grace_time=max(every, 1),
            )
        at = digest_time(config.digest.at)
        scheduler.add_job(
            self._job("digest", lambda db: digest_job(config, db, catch_up=False)),
            CronTrigger(hour=at.hour, minute=at.minute, timezone=tz),
            id="digest",
            misfire_grace_time=DIGEST_GRACE,
        )
        scheduler.add_job(
            self._job("retry", lambda db: retry_job(config, db)),
            IntervalTrigger(seconds=self.retry_every, timezone=tz),
            id="retry",
            misfire_grace_time=self.retry_every,
        )
        scheduler.add_job(
            self._job("prune", lambda db: prune_job(config, db)),
            IntervalTrigger(seconds=PRUNE_EVERY, timezone=tz),
            id="prune",
            misfire_grace_time=PRUNE_EVERY,
        )

    def _record_start(self, scheduler: BackgroundScheduler, now: datetime) -> None:
        with self._database() as db:
            set_time(db, DAEMON_STARTED, now)
            set_meta(db, DAEMON_PID, str(os.getpid()))
            for job in scheduler.get_jobs():
                if job.next_run_time is not None:
                    set_time(db, NEXT_RUN_PREFIX + job.id, job.next_run_time)

    def run(self, stop: threading.Event) -> bool:
        config = self.config
        now = utcnow()
        scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(max_workers=1)},
            job_defaults={"coalesce": True, "max_instances": 1},
            timezone=config.settings.tz,
        )
        self._scheduler = scheduler
        self._add_jobs(scheduler, now)
        scheduler.start(paused=True)  # next run times are computed; nothing runs yet
        try:
            self._record_start(scheduler, now)
        except BaseException:
            scheduler.shutdown(wait=False)
            raise
        groups = group_by_interval(config.sources)
        log.info(
            "daemon started: %d sources in %d interval groups (%s), digest daily at %s %s",
            sum(len(g) for g in groups.values()),
            len(groups),
            ", ".join(f"{len(g)} every {every}s" for every, g in groups.items()) or "none",
            config.digest.at,
            config.settings.timezone,
        )
        scheduler.resume()
        try:
            while not stop.wait(60.0):
                pass
        finally:
            log.info("stopping: no new jobs; waiting for the running one to finish")
            with self._busy_lock:
                self._stopping.set()
            scheduler.shutdown(wait=False)
            clean = self._idle.wait(self.grace)
            if clean:
                log.info("daemon stopped")
            else:
                log.warning(
                    "a job was still running after %.0fs; exiting without it"
                    " (its uncommitted writes are rolled back)",
                    self.grace,
                )
        return clean
