"""What goes into a message: flagged items not yet delivered, per-reader filters, stories.

A *target* is one destination: a mail recipient (channel ``smtp``), the outbox folder when no
``[email]`` is configured (channel ``outbox``), or a chat webhook (channel ``notify``). Each
target gets only the stories that pass its topic and minimum-severity filters and that no
earlier delivery of the same kind to it already carries.

Backlog is never mailed item by item (``pipeline.news``: the first fetch of a source, a source
back after a long failure, items that scrolled in below everything seen on their list): the
store leaves it out of the candidates, and the digest counts it once per source
(``plan_backlog``).

The digest window is everything flagged, not yet digested, not backlog, and first seen up to
``now``. Immediate alerts consider items first seen in the last ``ALERT_LOOKBACK``, not yet in a
sent digest and not backlog; a story already alerted in the last ``ALERT_MEMORY`` is never
alerted again, whichever source reprints it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from pipeline.config import Config
from pipeline.digest.cluster import Story, cluster
from pipeline.models import SEVERITY_RANK
from pipeline.store import BacklogCount, Store, StoredItem

ALERT_LOOKBACK = timedelta(days=2)
ALERT_MEMORY = timedelta(days=14)


@dataclass(frozen=True, slots=True)
class Target:
    key: str  # stored as deliveries.target
    channel: str  # "smtp" | "outbox" | "notify"
    address: str  # mail address, outbox folder, or apprise URL
    topics: tuple[str, ...] = ()
    min_severity: str = "low"
    name: str = ""


@dataclass(frozen=True, slots=True)
class Plan:
    """The stories one target receives in one message."""

    target: Target
    stories: tuple[Story, ...]
    carried_over: int = 0  # stories left for the next digest (max_items)


def rank(severity: str | None) -> int:
    return SEVERITY_RANK.get(severity or "low", 1)


def mail_targets(config: Config) -> tuple[Target, ...]:
    if config.email is None:
        return (Target("outbox", "outbox", str(config.settings.outbox_dir)),)
    return tuple(
        Target(r.address, "smtp", r.address, tuple(r.topics), r.min_severity)
        for r in config.email.recipients
    )


def notify_targets(config: Config) -> tuple[Target, ...]:
    out = []
    for n in config.notify:
        digest = hashlib.sha1(n.url.encode("utf-8")).hexdigest()[:10]
        label = n.name or n.url.split(":", 1)[0]
        out.append(Target(f"notify:{label}:{digest}", "notify", n.url, (), n.min_severity, label))
    return tuple(out)


def story_severity(story: Story) -> str:
    return max((i.severity or "low" for i in story.items), key=rank)


def story_topics(story: Story) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for item in story.items:
        for topic in item.topics:
            seen.setdefault(topic, None)
    return tuple(seen)


def wants(target: Target, story: Story) -> bool:
    if rank(story_severity(story)) < rank(target.min_severity):
        return False
    return not target.topics or bool(set(target.topics) & set(story_topics(story)))


def order(stories: Sequence[Story]) -> list[Story]:
    """High severity first, then by topic, then the newest first."""

    def key(story: Story) -> tuple[int, str, float]:
        lead = story.lead
        topics = story_topics(story)
        when = (lead.published or lead.first_seen).timestamp()
        return (-rank(story_severity(story)), topics[0] if topics else "\uffff", -when)

    return sorted(stories, key=key)


def _authority(config: Config) -> dict[str, str]:
    return {s.id: s.authority for s in config.sources}


def stories_of(config: Config, items: Sequence[StoredItem], *, first_new: int = 0) -> list[Story]:
    """Stories of ``items``; see ``cluster`` for ``first_new``."""
    authority = _authority(config)
    return cluster(items, lambda sid: authority.get(sid, "media"), first_new=first_new)


def _unclaimed(story: Story, claimed: set[str]) -> Story | None:
    rest = tuple(i for i in story.items if i.id not in claimed)
    return Story(rest) if rest else None


def _plan(
    store: Store,
    kind: str,
    targets: Sequence[Target],
    stories: Sequence[Story],
    max_stories: int | None = None,
) -> tuple[list[Plan], set[str]]:
    plans: list[Plan] = []
    wanted: set[str] = set()
    ids = [i for story in stories for i in story.ids]
    for target in targets:
        claimed = store.claimed_item_ids(kind, target.key, among=ids) if ids else set()
        mine = []
        for story in stories:
            rest = _unclaimed(story, claimed)
            if rest is not None and wants(target, rest):
                mine.append(rest)
                wanted.update(rest.ids)
        mine = order(mine)
        kept = mine[:max_stories] if max_stories is not None else mine
        plans.append(Plan(target, tuple(kept), len(mine) - len(kept)))
    return plans, wanted


def plan_digest(store: Store, config: Config, now: datetime) -> tuple[list[Plan], set[str]]:
    """Plans per mail target, and the candidate items no target gets (unwanted)."""
    items = store.digest_candidates(now)
    stories = stories_of(config, items)
    plans, wanted = _plan(store, "digest", mail_targets(config), stories, config.digest.max_items)
    candidates = [i.id for i in items]
    claimed_any = store.claimed_item_ids("digest", among=candidates) if candidates else set()
    unwanted = set(candidates) - wanted - claimed_any
    return plans, unwanted


def plan_backlog(store: Store, now: datetime) -> tuple[BacklogCount, ...]:
    """The backlog first seen up to ``now`` that no digest has counted yet, per source and
    reason."""
    return tuple(store.untold_backlog(now))


def alert_threshold(config: Config) -> str | None:
    value = config.alerts.min_severity
    return None if value == "off" else value


def _alert_items(store: Store, min_rank: int, now: datetime) -> list[StoredItem]:
    items = store.alert_candidates(now - ALERT_LOOKBACK, now)
    return [i for i in items if rank(i.severity) >= min_rank]


def plan_alerts(store: Store, config: Config, now: datetime) -> tuple[list[Plan], set[str]]:
    """Alert plans per target (mail first, then chat), and items that repeat an alerted story."""
    threshold = alert_threshold(config)
    if threshold is None:
        return [], set()
    mail = [
        Target(t.key, t.channel, t.address, t.topics, max(t.min_severity, threshold, key=rank))
        for t in mail_targets(config)
    ]
    chats = list(notify_targets(config))
    min_rank = min(rank(t.min_severity) for t in [*mail, *chats])
    candidates = _alert_items(store, min_rank, now)
    if not candidates:
        return [], set()
    candidate_ids = {c.id for c in candidates}
    history = [i for i in store.alert_history(now - ALERT_MEMORY) if i.id not in candidate_ids]
    known = {i.id for i in history}
    fresh: list[Story] = []
    repeats: set[str] = set()
    # History items are not compared with each other: only whether a candidate's story holds
    # one matters (see cluster's first_new).
    for story in stories_of(config, [*history, *candidates], first_new=len(history)):
        new = tuple(i for i in story.items if i.id not in known)
        if not new:
            continue
        if len(new) < len(story.items):
            repeats.update(i.id for i in new)
        else:
            fresh.append(story)
    plans, _ = _plan(store, "alert", [*mail, *chats], fresh)
    return plans, repeats
