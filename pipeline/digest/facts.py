"""An item's lifecycle facts as the reader sees them: the entry's facts line and the 日程.

The facts line: ``征求意见稿 · 征求意见截止 12月20日（还有17天） · 施行 2027-01-01 · 废止《…》``:
the stage, then the dates with the days left, then what it repeals. A comment deadline is
written as a day of the month (with its year when not this year) and says 已截止 once past;
effective dates and transition ends are written ``YYYY-MM-DD``.

The agenda (``agenda_rows``): every flagged item's comment deadline, effective date and
transition end in the next ``AGENDA_DAYS`` days, soonest first, from any day's items.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from pipeline.digest.text import clean, safe_url
from pipeline.store import StoredItem

AGENDA_DAYS = 60
TITLE_MAX = 80
REPEALS_MAX = 3
LINE_MAX = 200
_MONTH_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def agenda_window(today: date) -> tuple[date, date]:
    """The agenda's first and last day (both included)."""
    return today, today + timedelta(days=AGENDA_DAYS)


def day_label(t: Mapping[str, str], day: date, today: date) -> str:
    """``12月20日`` this year, ``2027年1月5日`` another (``20 Dec``, ``5 Jan 2027``)."""
    key = "day_short" if day.year == today.year else "day_long"
    return t[key].format(
        year=day.year, month=day.month, day=day.day, month_abbr=_MONTH_ABBR[day.month - 1]
    )


def days_note(t: Mapping[str, str], day: date, today: date) -> str:
    """``还有17天`` / ``今天``; "" once past."""
    left = (day - today).days
    if left > 0:
        return t["days_left"].format(n=left)
    return t["days_today"] if left == 0 else ""


def _dated(t: Mapping[str, str], name: str, day: date, today: date) -> str:
    shown = day_label(t, day, today) if name == "comment_deadline" else day.isoformat()
    note = days_note(t, day, today)
    if not note and name == "comment_deadline":
        note = t["days_over"]
    text = f"{t[f'fact.{name}']} {shown}"
    return f"{text}{t['lp']}{note}{t['rp']}" if note else text


def _quoted(t: Mapping[str, str], title: str) -> str:
    title = clean(title, TITLE_MAX)
    if "〔" in title or "[" in title or title.endswith("号"):  # a 文号, not a title
        return title
    return t["title_quote"].format(title=title)


def facts_line(t: Mapping[str, str], item: StoredItem, today: date) -> str:
    """The stage, the dates and the repeals of ``item`` in one line; "" when they say
    nothing (no facts, or news with no date)."""
    facts = item.facts
    if facts is None:
        return ""
    parts = [t.get(f"stage.{facts.stage}", "")]
    parts += [_dated(t, name, day, today) for name, day in facts.dates().items()]
    if facts.repeals:
        quoted = [_quoted(t, r) for r in facts.repeals[:REPEALS_MAX]]
        more = "…" if len(facts.repeals) > REPEALS_MAX else ""
        parts.append(t["fact.repeals"].format(titles=t["list_sep"].join(quoted) + more))
    return clean(t["reason_join"].join(p for p in parts if p), LINE_MAX)


@dataclass(frozen=True, slots=True)
class AgendaRow:
    """One date of the agenda (or a reminder): when, how far, what, and of which item."""

    item_id: str
    field: str
    day: date
    when: str  # 12月20日 / 2026-12-20 (the facts line's spelling)
    note: str  # 还有17天 / 今天
    what: str  # 征求意见截止 / 施行 / 过渡期至
    title: str
    url: str | None
    doc_number: str
    issuer: str


def agenda_rows(
    t: Mapping[str, str],
    dated: Iterable[tuple[StoredItem, str, date]],
    today: date,
    issuer: Mapping[str, str],
) -> tuple[AgendaRow, ...]:
    """``dated`` (soonest first, as ``Store.agenda`` gives it) as rows; ``issuer`` names the
    issuer per item id (the digest's issuer or source name)."""
    rows = []
    for item, name, day in dated:
        doc = item.facts.doc_number if item.facts is not None else None
        rows.append(
            AgendaRow(
                item_id=item.id,
                field=name,
                day=day,
                when=day_label(t, day, today) if name == "comment_deadline" else day.isoformat(),
                note=days_note(t, day, today),
                what=t[f"fact.{name}"],
                title=clean(item.title, TITLE_MAX) or "—",
                url=safe_url(item.url),
                doc_number=clean(doc, 40),
                issuer=issuer.get(item.id, ""),
            )
        )
    return tuple(rows)
