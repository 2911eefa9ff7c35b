"""The delivery cycle: plan -> render -> record (pending) -> send -> mark.

A message is recorded with what it carries before any attempt; an item is marked digested or
alerted only in the transaction that records the server's acceptance (``Store.mark_sent``).
Failed deliveries are retried by the next call once their backoff has elapsed.
"""

from __future__ import annotations

import email
import email.policy
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from pipeline.config import Config
from pipeline.db import utcnow
from pipeline.digest.cluster import Story
from pipeline.digest.message import DEFAULT_SENDER, build_message, message_bytes
from pipeline.digest.notify import notify_send
from pipeline.digest.remind import agenda_for, plan_reminders, render_reminder
from pipeline.digest.report import DeliveryReport
from pipeline.digest.select import (
    ALERT_LOOKBACK,
    Plan,
    Target,
    mail_targets,
    notify_targets,
    plan_alerts,
    plan_backlog,
    plan_digest,
)
from pipeline.digest.send import smtp_send, write_outbox
from pipeline.digest.views import FAILING
from pipeline.errors import DeliveryError
from pipeline.store import DELIVERY_KINDS, Delivery, HealthEvent, SourceState, Store

if TYPE_CHECKING:  # jinja2 is imported when something is rendered, not every cycle
    from pipeline.digest.render import Rendered

QUIET_INTERVAL = timedelta(hours=20)

log = logging.getLogger(__name__)


def _sender(config: Config) -> str:
    return config.email.sender if config.email else DEFAULT_SENDER


def _html_of(payload: bytes) -> str | None:
    msg = email.message_from_bytes(payload, policy=email.policy.default)
    part = msg.get_body(("html",)) if isinstance(msg, email.message.EmailMessage) else None
    return str(part.get_content()) if part is not None else None


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")[:40] or "x"


def _stem(config: Config, kind: str, when: datetime, tail: str) -> str:
    local = when.astimezone(config.settings.tz)
    return f"{kind}-{local:%Y%m%d-%H%M%S}-{tail}"


def notify_name(target: str) -> str:
    """The label in a chat target's key (``notify:<name or scheme>:<hash>``)."""
    return target.split(":", 1)[1].rpartition(":")[0] if target.startswith("notify:") else ""


def _attempt(store: Store, config: Config, d: Delivery, now: datetime) -> DeliveryReport:
    """One try at one delivery; records the outcome and returns it as a report."""
    try:
        if d.channel == "notify":
            title, _, body = d.payload.decode("utf-8").partition("\n")
            notify_send(d.recipients[0], title, body, name=notify_name(d.target))
            store.mark_sent(d.id, now)
            return DeliveryReport(d.kind, notified=1)
        if d.channel == "smtp" and config.email is not None:
            refused = smtp_send(config.email, _sender(config), d.recipients, d.payload)
            note = "; ".join(f"refused {r}: {why}" for r, why in refused.items()) or None
            if note:
                log.warning("%s %d: %s", d.kind, d.id, note)
            store.mark_sent(d.id, now, note=note)
            log.info("%s %d sent to %s", d.kind, d.id, ", ".join(d.recipients))
            errors = (note,) if note else ()
            return DeliveryReport(d.kind, sent=1, errors=errors)
        # outbox: no [email] configured (also for an smtp record made before [email] was removed)
        stem = _stem(config, d.kind, d.created_at, f"{d.id:05d}")
        paths = write_outbox(config.settings.outbox_dir, stem, d.payload, _html_of(d.payload))
        store.mark_sent(d.id, now, channel="outbox", path=str(paths[0]))
        log.info("%s written to %s", d.kind, paths[0])
        return DeliveryReport(d.kind, written=1, paths=paths)
    except DeliveryError as e:
        store.mark_failed(d.id, str(e), now)
        log.error("%s %d not delivered (kept, retried later): %s", d.kind, d.id, e)
        return DeliveryReport(d.kind, failed=1, errors=(str(e),))


def _retry(
    store: Store,
    config: Config,
    now: datetime,
    kinds: Sequence[str],
    kind: str,
    *,
    ignore_backoff: bool = False,
) -> DeliveryReport:
    report = DeliveryReport(kind, nothing_to_report=True)
    for d in store.due_deliveries(now, kinds=kinds, ignore_backoff=ignore_backoff):
        report = report.merge(_attempt(store, config, d, now))
    return report


def retry_pending(store: Store, config: Config, *, now: datetime | None = None) -> DeliveryReport:
    """Send the pending and failed deliveries whose backoff has elapsed."""
    return _retry(store, config, now or utcnow(), DELIVERY_KINDS, "retry")


def _mail(config: Config, target: Target, rendered: Rendered, now: datetime, kind: str) -> bytes:
    recipients = [target.address] if target.channel == "smtp" else []
    msg = build_message(
        sender=_sender(config),
        recipients=recipients,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        now=now,
        kind=kind,
    )
    return message_bytes(msg)


def _record(
    store: Store,
    kind: str,
    target: Target,
    subject: str,
    payload: bytes,
    stories: Sequence[Story],
    events: Sequence[HealthEvent],
    now: datetime,
    reminders: Sequence[tuple[str, str, str, int]] = (),
) -> int:
    recipients = [target.address] if target.channel in ("smtp", "notify") else []
    msg_id = ""
    if target.channel != "notify":
        parsed = email.message_from_bytes(payload, policy=email.policy.default)
        msg_id = str(parsed.get("Message-ID", "")).strip()
    return store.create_delivery(
        kind=kind,
        channel=target.channel,
        target=target.key,
        recipients=recipients,
        subject=subject,
        message_id=msg_id,
        payload=payload,
        item_ids=[i for s in stories for i in s.ids],
        event_ids=[e.id for e in events],
        reminders=reminders,
        now=now,
    )


def _counts(stories: Sequence[Story], events: Sequence[HealthEvent]) -> DeliveryReport:
    items = sum(len(s.items) for s in stories)
    return DeliveryReport("", stories=len(stories), items=items, events=len(events))


def send_digest(
    store: Store,
    config: Config,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
) -> DeliveryReport:
    """Deliver the digest of everything flagged and not yet digested, one message per reader.

    Nothing flagged: nothing is sent unless ``[digest] send_empty`` or a source is broken
    (silence must mean "healthy and nothing happened"), and then at most once a day.
    Undelivered earlier digests are retried first, whatever their backoff (``retry_pending``
    honours it). ``dry_run`` writes each message to the outbox as ``preview-…`` (.eml and
    .html) and marks nothing.
    """
    now = now or utcnow()
    report = DeliveryReport("digest", dry_run=dry_run, nothing_to_report=True)
    if not dry_run:
        # the digest run is "the next cycle": earlier digests go first, backoff or not
        report = report.merge(
            _retry(store, config, now, ("digest",), "digest", ignore_backoff=True)
        )
    plans, unwanted = plan_digest(store, config, now)
    states = store.source_states()
    enabled = {s.id for s in config.sources if s.enabled}
    broken = any(st.broken for sid, st in states.items() if sid in enabled)
    since = store.last_sent("digest")
    # a digest with no story (send_empty, or a broken source) goes out at most once a day, so
    # a cron job running `lendwatch run` every 30 minutes does not repeat it every run
    quiet_due = since is None or now - since >= QUIET_INTERVAL
    quiet_wanted = (config.digest.send_empty or broken) and quiet_due
    backlog = plan_backlog(store, now)
    going = [p for p in plans if p.stories or backlog or quiet_wanted or dry_run]
    told = _told_events(store, states, enabled) if len(going) == len(plans) and going else []
    created: list[int] = []
    if going:
        from pipeline.digest.render import render_digest
    for plan in going:
        rendered = render_digest(
            config,
            plan.stories,
            states,
            now,
            since=since,
            carried_over=plan.carried_over,
            agenda=agenda_for(store, config, plan.target, now),
            backlog=backlog,
        )
        payload = _mail(config, plan.target, rendered, now, "digest")
        counts = _counts(plan.stories, ())
        report = report.merge(counts)
        if plan.stories:
            report = _something(report)
        if dry_run:
            stem = _stem(config, "preview-digest", now, _slug(plan.target.key))
            paths = write_outbox(config.settings.outbox_dir, stem, payload, rendered.html)
            report = report.merge(DeliveryReport("digest", paths=paths))
            continue
        created.append(
            _record(
                store, "digest", plan.target, rendered.subject, payload, plan.stories, told, now
            )
        )
        report = _something(report)
    if dry_run:
        return report
    store.mark_items("digest", unwanted, now)
    if backlog and len(created) == len(plans):  # every reader's recorded digest counts it
        store.mark_backlog_told(now, now)
    for delivery_id in created:
        report = report.merge(_attempt(store, config, store.get_delivery(delivery_id), now))
    return report


def _told_events(
    store: Store, states: Mapping[str, SourceState], enabled: set[str]
) -> list[HealthEvent]:
    """Pending "broken" events of the sources a digest's health section shows failing.

    Linked to the digest when every mail reader gets one, so its acceptance marks them notified
    (``Store.mark_sent``) and the alert that follows does not repeat them. When some reader gets no
    digest this time, nothing is linked: that reader must still hear it from the alert.
    """
    failing = {sid for sid, st in states.items() if sid in enabled and st.status in FAILING}
    return [
        e for e in store.pending_health_events() if e.event == "broken" and e.source_id in failing
    ]


def _something(report: DeliveryReport) -> DeliveryReport:
    return replace(report, nothing_to_report=False)


def send_alerts(store: Store, config: Config, *, now: datetime | None = None) -> DeliveryReport:
    """Mail new high-severity stories at once (batched per reader, never twice per story),
    post them to the ``[[notify]]`` webhooks, and tell every reader about source status
    changes (broken / recovered), once each. Due retries of earlier alerts go first."""
    now = now or utcnow()
    report = _retry(store, config, now, ("alert",), "alert")
    plans, repeats = plan_alerts(store, config, now)
    store.mark_items("alert", repeats, now)
    by_key: dict[str, Plan] = {p.target.key: p for p in plans}
    events = store.pending_health_events()
    # chat webhooks get no digest: what a recent digest told the mail readers is theirs to hear
    pending = {e.id for e in events}
    told = [e for e in store.digest_told_events(now - ALERT_LOOKBACK) if e.id not in pending]
    chat_events = sorted([*events, *told], key=lambda e: e.id)
    created: list[int] = []
    for target in (*mail_targets(config), *notify_targets(config)):
        plan = by_key.get(target.key)
        stories = plan.stories if plan else ()
        claimed = store.claimed_event_ids(target.key)
        mine = chat_events if target.channel == "notify" else events
        evs = [e for e in mine if e.id not in claimed]
        if not stories and not evs:
            continue
        from pipeline.digest.render import render_alert, render_chat

        if target.channel == "notify":
            text = render_chat(config, stories, evs)
            subject = text.partition("\n")[0]
            payload = text.encode("utf-8")
        else:
            rendered = render_alert(config, stories, evs, now)
            subject = rendered.subject
            payload = _mail(config, target, rendered, now, "alert")
            report = report.merge(_counts(stories, evs))
        created.append(_record(store, "alert", target, subject, payload, stories, evs, now))
        report = _something(report)
    for delivery_id in created:
        report = report.merge(_attempt(store, config, store.get_delivery(delivery_id), now))
    return report


def send_reminders(store: Store, config: Config, *, now: datetime | None = None) -> DeliveryReport:
    """Mail the reminders due now (``digest.remind``), one message per reader; each is recorded
    with the dates it reminds of before it is sent, and retried like any delivery."""
    now = now or utcnow()
    report = DeliveryReport("reminder", nothing_to_report=True)
    created: list[int] = []
    for target, due in plan_reminders(store, config, now):
        rendered = render_reminder(config, due, now)
        payload = _mail(config, target, rendered, now, "reminder")
        keys = [d.key for d in due]
        created.append(
            _record(store, "reminder", target, rendered.subject, payload, (), (), now, keys)
        )
        report = _something(report)
        log.info("reminder of %d date(s) recorded for %s", len(due), target.key)
    for delivery_id in created:
        report = report.merge(_attempt(store, config, store.get_delivery(delivery_id), now))
    return report
