"""The daemon: APScheduler 3 wiring of the cycle, the digest, retries and retention to triggers.

This is the only module that imports apscheduler, and it only wires jobs to triggers. What each
job *does* is a plain function in ``pipeline.jobs`` taking a config and an open store:

- ``startup``  once, at start: fetch every enabled source concurrently, send alerts, retry pending
  deliveries, send a digest missed while the daemon was down (once), prune raw bodies;
- ``fetch-<N>s`` one job per distinct ``every`` (sources sharing an interval are fetched together,
  concurrently), ``IntervalTrigger`` with jitter, then alerts;
- ``digest``   ``CronTrigger`` at ``[digest] at`` in ``settings.timezone``;
- ``retry``    pending deliveries every ``RETRY_EVERY`` seconds;
- ``prune``    raw-body retention, daily.

Every job has ``coalesce=True, max_instances=1`` and a misfire grace time. Jobs run one at a time
on a single executor thread and each run opens its own ``Store`` (its own connection), so no
connection is ever shared between threads and two jobs never race on the same rows (an alert
cannot be sent twice by two overlapping cycles). A job's failure is logged as one line and the
daemon goes on.

Shutdown (``stop`` set, e.g. by SIGTERM): no new job starts; the running one is given ``grace``
seconds to finish. Every write is a transaction, so one cut short is rolled back by SQLite.
"""

from __future__ import annotations

import functools
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from pipeline.config import Config
from pipeline.db import utcnow
from pipeline.errors import LendwatchError
from pipeline.jobs import (
    digest_job,
    digest_time,
    fetch_job,
    fetch_job_id,
    group_by_interval,
    jitter_for,
    prune_job,
    retry_job,
    startup_job,
)
from pipeline.store import DAEMON_PID, DAEMON_STARTED, NEXT_RUN_PREFIX, Store

log = logging.getLogger(__name__)

RETRY_EVERY = 600  # seconds between retries of pending deliveries
PRUNE_EVERY = 86_400
DIGEST_GRACE = 6 * 3600  # a digest may still go out this late (suspended machine, long job)
SHUTDOWN_GRACE = 60.0


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
    def _store(self) -> Iterator[Store]:
        with Store.open(self.config.settings.db_path) as store:
            yield store

    def _guarded(self, job_id: str, body: Callable[[Store], object]) -> None:
        """Run one job body on its own connection; never let an error escape to the scheduler."""
        with self._busy_lock:
            if self._stopping.is_set():
                return
            self._idle.clear()
        try:
            with self._store() as store:
                body(store)
                self._record_next(store, job_id)
        except LendwatchError as e:
            log.error("job %s failed: %s", job_id, e)
        except sqlite3.Error as e:
            log.error("job %s failed: database %s: %s", job_id, self.config.settings.db_path, e)
        except Exception:
            log.exception("job %s failed unexpectedly", job_id)
        finally:
            with self._busy_lock:
                self._idle.set()

    def _record_next(self, store: Store, job_id: str) -> None:
        scheduler = self._scheduler
        job = scheduler.get_job(job_id) if scheduler is not None else None
        if job is not None and job.next_run_time is not None:
            store.set_time(NEXT_RUN_PREFIX + job_id, job.next_run_time)

    def _job(self, job_id: str, body: Callable[[Store], object]) -> Callable[[], None]:
        def run() -> None:
            self._guarded(job_id, body)

        run.__name__ = job_id
        return run

    # -- wiring --------------------------------------------------------------------------------

    def _add_jobs(self, scheduler: BackgroundScheduler, now: datetime) -> None:
        config = self.config
        tz = config.settings.tz
        scheduler.add_job(
            self._job("startup", lambda store: startup_job(config, store)),
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
            self._job("digest", lambda store: digest_job(config, store, catch_up=False)),
            CronTrigger(hour=at.hour, minute=at.minute, timezone=tz),
            id="digest",
            misfire_grace_time=DIGEST_GRACE,
        )
        scheduler.add_job(
            self._job("retry", lambda store: retry_job(config, store)),
            IntervalTrigger(seconds=self.retry_every, timezone=tz),
            id="retry",
            misfire_grace_time=self.retry_every,
        )
        scheduler.add_job(
            self._job("prune", lambda store: prune_job(config, store)),
            IntervalTrigger(seconds=PRUNE_EVERY, timezone=tz),
            id="prune",
            misfire_grace_time=PRUNE_EVERY,
        )

    def _record_start(self, scheduler: BackgroundScheduler, now: datetime) -> None:
        with self._store() as store:
            store.set_time(DAEMON_STARTED, now)
            store.set_meta(DAEMON_PID, str(os.getpid()))
            for job in scheduler.get_jobs():
                if job.next_run_time is not None:
                    store.set_time(NEXT_RUN_PREFIX + job.id, job.next_run_time)

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
            # short waits: a signal may be delivered to another thread (numpy's, the job's), and
            # then only wakes this one when its wait times out
            while not stop.wait(1.0):
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
