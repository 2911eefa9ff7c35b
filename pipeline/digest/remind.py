"""Reminders of the dates ahead, and the 日程 of a digest (``deliver.send_reminders`` sends).

A flagged item's comment deadline, effective date and transition end each get a reminder
``[digest] remind_days`` days before (default ``[7, 1]``): one message per reader listing every
date due, through the delivery machinery (recorded before it is sent, retried with backoff,
listed by ``lendwatch deliveries``). The reminders a delivery carries are recorded with it
(``delivery_reminders``): a date is reminded once per lead time and reader, never again, also
across runs and restarts. When a run comes late (the daemon was down on the 7th day before),
the shortest lead time not yet passed is the one sent, once: a date 3 days ahead gets the
"7 days" reminder late, then the "1 day" one; a date 1 day ahead whose 7-day reminder was
missed gets only the "1 day" one.

Readers' topic and severity filters apply to reminders and to the 日程 as to the stories.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from pipeline.config import Config
from pipeline.digest.cluster import Story
from pipeline.digest.facts import agenda_window
from pipeline.digest.select import Target, mail_targets, wants
from pipeline.digest.text import clean
from pipeline.digest.views import Viewer
from pipeline.store import Store, StoredItem

if TYPE_CHECKING:  # jinja2 is imported when a reminder is rendered
    from pipeline.digest.render import Rendered

Dated = tuple[StoredItem, str, date]


def today_of(config: Config, now: datetime) -> date:
    return now.astimezone(config.settings.tz).date()


def for_target(target: Target, dated: Sequence[Dated]) -> list[Dated]:
    """The dated facts of the items ``target`` wants (its topics, its minimum severity)."""
    return [d for d in dated if wants(target, Story((d[0],)))]


def agenda_for(store: Store, config: Config, target: Target, now: datetime) -> list[Dated]:
    """The 日程 of ``target``'s digest: the next 60 days, soonest first."""
    start, end = agenda_window(today_of(config, now))
    return for_target(target, store.agenda(start, end))


@dataclass(frozen=True, slots=True)
class Due:
    """One reminder due: the dated fact and the lead time (days before) it is sent for."""

    item: StoredItem
    field: str
    day: date
    lead: int

    @property
    def key(self) -> tuple[str, str, str, int]:
        return (self.item.id, self.field, self.day.isoformat(), self.lead)


def lead_due(remind_days: Sequence[int], left: int) -> int | None:
    """The reminder a date ``left`` days ahead is due for: the shortest lead time not less
    than ``left`` (None: too far ahead, or past)."""
    leads = [n for n in remind_days if n >= left >= 0]
    return min(leads) if leads else None


def plan_reminders(store: Store, config: Config, now: datetime) -> list[tuple[Target, list[Due]]]:
    """Per mail target, the reminders due now that no delivery to it carries yet."""
    days = config.digest.remind_days
    if not days:
        return []
    today = today_of(config, now)
    dated = store.agenda(today, today + timedelta(days=max(days)))
    plans = []
    for target in mail_targets(config):
        claimed = store.claimed_reminders(target.key, today)
        due: list[Due] = []
        for item, name, day in for_target(target, dated):
            lead = lead_due(days, (day - today).days)
            if lead is None:
                continue
            done = claimed.get((item.id, name, day.isoformat()))
            if done is not None and done <= lead:  # this one, or a nearer one, went already
                continue
            due.append(Due(item, name, day, lead))
        if due:
            plans.append((target, due))
    return plans


def render_reminder(config: Config, due: Sequence[Due], now: datetime) -> Rendered:
    from pipeline.digest.render import Rendered, environment

    viewer = Viewer(config, now)
    t = viewer.t
    rows = viewer.agenda([(d.item, d.field, d.day) for d in due])
    first = rows[0]
    when = f"{first.when}{t['lp']}{first.note}{t['rp']}" if first.note else first.when
    fields = {"when": when, "what": first.what, "title": first.title, "n": len(rows)}
    key = "subject_reminder" if len(rows) == 1 else "subject_reminders"
    subject = clean(t[key].format(**fields), 200)
    context = {
        "t": t,
        "lang": config.digest.language,
        "subject": subject,
        "heading": viewer.time(now),
        "agenda": rows,
    }
    env = environment()
    text = env.get_template("reminder.txt.j2").render(**context)
    html = env.get_template("reminder.html.j2").render(**context)
    return Rendered(subject, text, html)
