"""The dates ahead as an RFC 5545 calendar (``lendwatch calendar``, ``<data_dir>/lendwatch.ics``).

One all-day event per flagged item's comment deadline, effective date and transition end: the
summary names what happens and the item's title; the description its issuer, 文号 and link;
``URL`` the link. The UID is the item's id and the field (``<item id>-effective@lendwatch``),
so a calendar app that subscribes to the file, or imports it again, updates the event when the
date moves and never shows it twice. ``DTSTAMP`` is when lendwatch first saw the item: the same
data gives the same bytes.

Imported only by the ``calendar`` command and the daemon (``icalendar`` is not needed
elsewhere); it does not import the digest (jinja2).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from pathlib import Path

import icalendar

from pipeline.config import Config
from pipeline.store import Store, StoredItem

CALENDAR_NAME = "lendwatch.ics"
PRODID = "-//lendwatch//lendwatch calendar//EN"
UID_DOMAIN = "lendwatch"
TITLE_MAX = 120

_LABELS: Mapping[str, Mapping[str, str]] = {
    "zh": {
        "name": "借贷监测 · 日程",
        "comment_deadline": "征求意见截止",
        "effective": "施行",
        "transition_end": "过渡期结束",
        "issuer": "发文",
        "doc": "文号",
        "link": "链接",
        "sep": "：",
    },
    "en": {
        "name": "Lending watch — dates",
        "comment_deadline": "Comments due",
        "effective": "In force",
        "transition_end": "Transition ends",
        "issuer": "Issued by",
        "doc": "Doc. no.",
        "link": "Link",
        "sep": ": ",
    },
}


def calendar_path(config: Config) -> Path:
    return config.settings.data_dir / CALENDAR_NAME


def _one_line(text: str, limit: int = TITLE_MAX) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def event_uid(item_id: str, field: str) -> str:
    return f"{item_id}-{field}@{UID_DOMAIN}"


def build_calendar(
    dated: Sequence[tuple[StoredItem, str, date]],
    *,
    language: str = "zh",
    source_names: Mapping[str, str] | None = None,
) -> bytes:
    """The calendar of ``dated`` (``Store.agenda``): RFC 5545 bytes (CRLF, folded lines)."""
    t = _LABELS.get(language, _LABELS["zh"])
    names = source_names or {}
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", t["name"])
    for item, field, day in dated:
        title = _one_line(item.title) or item.id
        issuer = item.verdict.authority if item.verdict and item.verdict.authority else None
        issuer = issuer or names.get(item.source_id, item.source_id)
        doc = item.facts.doc_number if item.facts is not None else None
        lines = [f"{t['issuer']}{t['sep']}{issuer}"]
        if doc:
            lines.append(f"{t['doc']}{t['sep']}{doc}")
        if item.url:
            lines.append(f"{t['link']}{t['sep']}{item.url}")
        event = icalendar.Event()
        event.add("uid", event_uid(item.id, field))
        event.add("dtstamp", item.first_seen)
        event.add("dtstart", day)
        event.add("dtend", day + timedelta(days=1))
        event.add("summary", f"{t[field]}{t['sep']}{title}")
        event.add("description", "\n".join(lines))
        if item.url:
            event.add("url", item.url)
        event.add("transp", "TRANSPARENT")
        cal.add_component(event)
    return bytes(cal.to_ical())


def calendar_of(store: Store, config: Config) -> bytes:
    """Every flagged item's dated facts, past and ahead, as a calendar."""
    names = {s.id: s.name for s in config.sources}
    return build_calendar(store.agenda(), language=config.digest.language, source_names=names)


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file beside it and a rename: a reader
    (a calendar app polling the file) sees the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def keep_calendar(store: Store, config: Config) -> Path:
    """Rewrite ``<data_dir>/lendwatch.ics`` (the daemon, after each cycle and digest)."""
    path = calendar_path(config)
    write_atomic(path, calendar_of(store, config))
    return path
