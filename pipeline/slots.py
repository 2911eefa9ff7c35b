"""When the daemon's jobs run: fetch intervals and job ids, the digest's daily slots.

Pure helpers (and ``last_digest``, one read of the store), kept apart from ``pipeline.jobs`` so
that ``lendwatch status`` computes the next runs without importing the fetcher or the digest.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pipeline.config import Config
from pipeline.models import Source
from pipeline.store import DIGEST_LAST_SLOT, Store

MAX_JITTER = 120.0


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


def last_digest(store: Store) -> datetime | None:
    """When a digest was last produced: the daemon's record, or the newest digest delivery.

    Creation time, not send time: a stale digest delivered late by a retry must not count as
    today's digest.
    """
    times = [store.get_time(DIGEST_LAST_SLOT), store.last_digest_created()]
    known = [t for t in times if t is not None]
    return max(known) if known else None


def missed_digest(store: Store, config: Config, now: datetime) -> datetime | None:
    """The digest slot missed while the daemon was down, if any.

    With no digest on record at all (a fresh install) nothing counts as missed: the first digest
    goes out at its regular time.
    """
    last = last_digest(store)
    slot = latest_slot(config.digest.at, config.settings.tz, now)
    if last is None or last >= slot:
        return None
    return slot
