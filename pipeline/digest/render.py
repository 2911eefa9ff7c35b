"""Render digests, alerts and chat texts from jinja2 templates (package data).

HTML templates (``*.html.j2``) are autoescaped; every value they get was cleaned in
``views`` (one line, cut to length). Subjects are built here from cleaned text only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

import jinja2

from pipeline.config import Config
from pipeline.digest.cluster import Story
from pipeline.digest.facts import AGENDA_DAYS
from pipeline.digest.labels import labels, tz_label
from pipeline.digest.select import story_severity
from pipeline.digest.text import clean
from pipeline.digest.views import Health, Viewer
from pipeline.store import BacklogCount, HealthEvent, SourceState, StoredItem

SUBJECT_TITLE_MAX = 60
CHAT_TITLE_MAX = 80
_MONTHS = "January February March April May June July August September October November December"
_MONTH_NAME = tuple(_MONTHS.split(" "))
_MONTH_ABBR = tuple(m[:3] for m in _MONTH_NAME)


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    text: str
    html: str


@cache
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("pipeline.digest", "templates"),
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html.j2",), default_for_string=False, default=False
        ),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _render(name: str, context: Mapping[str, Any]) -> str:
    return environment().get_template(name).render(**context)


def _dates(config: Config, now: datetime) -> tuple[str, str]:
    t = labels(config.digest.language)
    local = now.astimezone(config.settings.tz)
    fields = {
        "year": local.year,
        "month": local.month,
        "day": local.day,
        "month_abbr": _MONTH_ABBR[local.month - 1],
        "month_name": _MONTH_NAME[local.month - 1],
        "weekday": t["weekdays"].split()[local.weekday()],
    }
    return t["date_subject"].format(**fields), t["date_heading"].format(**fields)


SEVERITIES = ("high", "medium", "low")


def _counts(t: Mapping[str, str], stories: Sequence[Story], prefix: str) -> str:
    """The stories per section, named as the sections are: ``重要 2 条 · 关注 3 条``."""
    found = [story_severity(s) for s in stories]
    parts = [t[f"{prefix}.{sev}"].format(n=found.count(sev)) for sev in SEVERITIES if sev in found]
    return t[f"{prefix}_join"].join(parts)


def digest_subject(config: Config, stories: Sequence[Story], failing: int, now: datetime) -> str:
    t = labels(config.digest.language)
    date, _ = _dates(config, now)
    counts = _counts(t, stories, "subject_count") if stories else t["subject_none"]
    if failing:
        counts += t["subject_health"].format(n=failing)
    return clean(t["subject_digest"].format(date=date, counts=counts), 200)


def render_digest(
    config: Config,
    stories: Sequence[Story],
    states: Mapping[str, SourceState],
    now: datetime,
    *,
    since: datetime | None = None,
    carried_over: int = 0,
    agenda: Sequence[tuple[StoredItem, str, date]] = (),
    backlog: Sequence[BacklogCount] = (),
) -> Rendered:
    """The daily digest: ``stories`` must already be in display order; ``agenda`` the dated
    facts of the 日程 section, soonest first (``Store.agenda``); ``backlog`` the counts of
    items indexed but not sent one by one (``pipeline.news``)."""
    viewer = Viewer(config, now)
    t = viewer.t
    health = viewer.health(states)
    subject = digest_subject(config, stories, len(health.failing), now)
    _, heading = _dates(config, now)
    tz = tz_label(config.digest.language, config.settings.timezone)
    if since is None:
        window = t["window_first"].format(end=viewer.time(now), tz=tz)
    else:
        window = t["window"].format(start=viewer.time(since), end=viewer.time(now), tz=tz)
    if stories:
        summary = _counts(t, stories, "count")
    else:
        summary = t["summary_none_healthy" if health.healthy else "summary_none"]
    context = {
        "t": t,
        "lang": config.digest.language,
        "subject": subject,
        "heading": heading,
        "summary": summary,
        "window": window,
        "sections": viewer.sections(stories),
        "agenda": viewer.agenda(agenda),
        "agenda_window": t["agenda_window"].format(n=AGENDA_DAYS),
        "health": health,
        "carried": t["carried"].format(n=carried_over) if carried_over else "",
        "backlog": [
            (
                t[f"backlog_{b.reason}"].format(
                    name=viewer.source_name(b.source_id), n=b.items, m=b.flagged
                ),
                t["backlog_browse"].format(id=clean(b.source_id, 64)),
            )
            for b in backlog
        ],
    }
    return Rendered(subject, _render("digest.txt.j2", context), _render("digest.html.j2", context))


def alert_subject(config: Config, stories: Sequence[Story], health: Health) -> str:
    t = labels(config.digest.language)
    if stories:
        title = clean(stories[0].lead.title, SUBJECT_TITLE_MAX) or "—"
        key = "subject_alert" if len(stories) == 1 else "subject_alerts"
        return clean(t[key].format(title=title, n=len(stories)), 200)
    first = health.events[0]
    text = f"{first.name} {first.status_label}"
    return clean(t["subject_events"].format(n=len(health.events), first=text), 200)


def render_alert(
    config: Config,
    stories: Sequence[Story],
    events: Sequence[HealthEvent],
    now: datetime,
) -> Rendered:
    """An immediate alert: the new high-severity stories and/or source status changes."""
    viewer = Viewer(config, now)
    health = viewer.health({}, events)
    subject = alert_subject(config, stories, health)
    _, heading = _dates(config, now)
    context = {
        "t": viewer.t,
        "lang": config.digest.language,
        "subject": subject,
        "heading": heading,
        "title": viewer.t["alert_title"] if stories else viewer.t["health_title"],
        "entries": tuple(viewer.entry(n, s) for n, s in enumerate(stories, 1)),
        "health": health,
    }
    return Rendered(subject, _render("alert.txt.j2", context), _render("alert.html.j2", context))


def render_chat(config: Config, stories: Sequence[Story], events: Sequence[HealthEvent]) -> str:
    """A short text for DingTalk / WeCom / Feishu: one line per story, one per status change."""
    viewer = Viewer(config)
    t = viewer.t
    lines = [f"{t['brand']}:"]
    for story in stories:
        lead = story.lead
        e = viewer.entry(0, story)
        title = clean(lead.title, CHAT_TITLE_MAX)
        line = f"[{e.severity_label}] {title}（{e.source}）"
        if e.reason:
            line += f" — {e.reason}"
        if e.url:
            line += f" {e.url}"
        lines.append(line)
    for ev in viewer.health({}, events).events:
        lines.append(f"[{t['health']}] {ev.name}: {ev.status_label} {ev.reason}".rstrip())
    return "\n".join(lines)
