"""Stories and source states -> plain view objects the templates render.

All item text is cleaned here: control characters (CR/LF included) become spaces, bidi and
other format characters are dropped, and every field is cut to a length a mail client shows.
Links are kept only for http(s) URLs. Escaping is the templates' job (jinja2 autoescape).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from pipeline.config import Config
from pipeline.db import utcnow
from pipeline.digest.cluster import Story, doc_key
from pipeline.digest.facts import AgendaRow, agenda_rows, facts_line
from pipeline.digest.labels import (
    authority_label,
    doctype_label,
    labels,
    topic_label,
)
from pipeline.digest.select import story_severity, story_topics
from pipeline.digest.text import clean, safe_url
from pipeline.models import ItemAttachment, Match
from pipeline.store import HealthEvent, SourceState, StoredItem

TITLE_MAX = 160
SNIPPET_MAX = 150
REASON_MAX = 120
TOPIC_MAX = 40
REASON_TERMS = 3
NAME_MAX = 60
MAX_FILES = 5
FAILING = ("blocked", "layout-changed", "error")


@dataclass(frozen=True, slots=True)
class Segment:
    text: str
    hit: bool


@dataclass(frozen=True, slots=True)
class Link:
    name: str
    url: str | None


@dataclass(frozen=True, slots=True)
class FileLink:
    """An attachment as the entry lists it; ``note`` says when its text was not read."""

    name: str
    url: str | None
    note: str = ""


@dataclass(frozen=True, slots=True)
class Entry:
    number: int
    title: str
    url: str | None
    severity: str
    severity_label: str
    source: str
    authority: str
    issuer: str
    when: str
    when_label: str
    doc_numbers: tuple[str, ...]
    snippet: tuple[Segment, ...]
    reason: str
    topics: tuple[str, ...]
    also: tuple[Link, ...]
    alerted: str
    penalty: str = ""  # the penalty table in one line: parties, total, authority, date
    files: tuple[FileLink, ...] = ()
    facts: str = ""  # stage, dates and repeals in one line (``digest.facts``)


@dataclass(frozen=True, slots=True)
class TopicGroup:
    topic: str
    entries: tuple[Entry, ...]


@dataclass(frozen=True, slots=True)
class Section:
    severity: str
    label: str
    count: int
    groups: tuple[TopicGroup, ...]


@dataclass(frozen=True, slots=True)
class FailingSource:
    name: str
    source_id: str
    status: str
    status_label: str
    since: str
    reason: str


@dataclass(frozen=True, slots=True)
class Health:
    total: int
    failing: tuple[FailingSource, ...]
    never: tuple[str, ...]
    events: tuple[FailingSource, ...] = ()  # broken / recovered transitions (alerts)

    @property
    def healthy(self) -> bool:
        return not self.failing


class Viewer:
    """Builds views for one configuration, language and time zone."""

    def __init__(self, config: Config, now: datetime | None = None) -> None:
        self.config = config
        self.lang = config.digest.language
        self.t = labels(self.lang)
        self.tz = ZoneInfo(config.settings.timezone)
        self.today: date = (now or utcnow()).astimezone(self.tz).date()
        self.names = {s.id: s.name for s in config.sources}
        self.authority = {s.id: s.authority for s in config.sources}

    def time(self, dt: datetime | None) -> str:
        return dt.astimezone(self.tz).strftime("%Y-%m-%d %H:%M") if dt else ""

    def source_name(self, source_id: str) -> str:
        return clean(self.names.get(source_id, source_id), NAME_MAX)

    def entry(self, number: int, story: Story) -> Entry:
        lead = story.lead
        verdict = lead.verdict
        severity = story_severity(story)
        docs: dict[str, str] = {}  # one spelling per number: 〔2024〕 = [2024]
        for item in story.items:
            for d in item.verdict.doc_numbers if item.verdict else ():
                docs.setdefault(doc_key(d), clean(d, 40))
        also: dict[str, Link] = {}
        for item in story.others:
            name = self.source_name(item.source_id)
            if item.source_id != lead.source_id and name not in also:
                also[name] = Link(name, safe_url(item.url))
        alerted = next((i.alerted_at for i in story.items if i.alerted_at), None)
        return Entry(
            number=number,
            title=clean(lead.title, TITLE_MAX) or "—",
            url=safe_url(lead.url),
            severity=severity,
            severity_label=self.t[f"sev.{severity}"],
            source=self.source_name(lead.source_id),
            authority=self.t[f"auth.{self.authority.get(lead.source_id, 'media')}"],
            issuer=clean(
                authority_label(self.lang, verdict.authority)
                if verdict and verdict.authority
                else None,
                NAME_MAX,
            ),
            when=self.time(lead.published or lead.first_seen),
            when_label=self.t["published" if lead.published else "first_seen"],
            doc_numbers=tuple(d for d in docs.values() if d),
            snippet=() if _quotes_penalty(lead) else snippet(lead),
            reason=self.reason(lead),
            topics=tuple(self.topic(t) for t in story_topics(story)),
            also=tuple(also.values()),
            alerted=self.t["alerted"].format(time=self.time(alerted)) if alerted else "",
            penalty=self.penalty(lead),
            files=tuple(self.file(a) for a in lead.attachments[:MAX_FILES]),
            facts=next(
                (line for line in (facts_line(self.t, i, self.today) for i in story.items) if line),
                "",
            ),
        )

    def issuer(self, item: StoredItem) -> str:
        """Who issued it: the verdict's authority, else the source's name."""
        verdict = item.verdict
        if verdict is not None and verdict.authority:
            return clean(authority_label(self.lang, verdict.authority), NAME_MAX)
        return self.source_name(item.source_id)

    def agenda(self, dated: Sequence[tuple[StoredItem, str, date]]) -> tuple[AgendaRow, ...]:
        """The 日程 rows of ``Store.agenda``'s dated facts (soonest first)."""
        issuers = {item.id: self.issuer(item) for item, _, _ in dated}
        return agenda_rows(self.t, dated, self.today, issuers)

    def money(self, amount: float) -> str:
        """``1769.52万元``, ``800元`` in Chinese; ``CNY 17,695,217.47`` in English."""
        if self.lang == "zh" and amount >= 10_000:
            return self.t["wan_yuan"].format(
                amount=f"{amount / 10_000:.2f}".rstrip("0").rstrip(".")
            )
        text = f"{amount:,.2f}" if self.lang != "zh" else f"{amount:.2f}"
        return self.t["yuan"].format(amount=text.removesuffix(".00"))

    def penalty(self, item: StoredItem) -> str:
        """The penalty table in one line: who (the first party and how many), the total of
        fines and confiscations, the deciding authority and the decision date."""
        p = item.stated_penalty()
        if not p or not p.get("parties"):
            return ""
        parties = [str(x) for x in p["parties"]]
        first = clean(parties[0], NAME_MAX)
        who = (
            self.t["penalty_parties"].format(first=first, n=len(parties), more=len(parties) - 1)
            if len(parties) > 1
            else first
        )
        parts = [who]
        amount = p.get("amount_yuan")
        if isinstance(amount, int | float) and not isinstance(amount, bool) and amount > 0:
            parts.append(self.t["penalty_total"].format(amount=self.money(float(amount))))
        for value in (p.get("authority"), p.get("decision_date")):
            if value:
                parts.append(clean(str(value), NAME_MAX))
        return clean(self.t["reason_join"].join(parts), REASON_MAX)

    def file(self, attachment: ItemAttachment) -> FileLink:
        note = "" if attachment.status == "ok" else self.t["attachment_unread"]
        return FileLink(clean(attachment.name, NAME_MAX) or "—", safe_url(attachment.url), note)

    def topic(self, topic: str) -> str:
        return clean(topic_label(self.lang, topic), TOPIC_MAX)

    def reason(self, item: StoredItem) -> str:
        """Why it was flagged, from the verdict's structured fields (never its explanation
        lines): the terms the rules matched, then document type, the action term (when not
        one of those) and authority when known.

        zh ``命中「借呗」+「暂停」 · 规范性文件 · 中国人民银行``."""
        verdict = item.verdict
        if verdict is None:
            return ""
        t = self.t
        terms = matched_terms(item)[:REASON_TERMS]
        parts = []
        if terms:
            quoted = t["term_join"].join(t["term_quote"].format(term=x) for x in terms)
            parts.append(t["matched"].format(terms=quoted))
        keys = [m.kind.partition(":")[2] for m in verdict.matches if _family(m) == "doctype"]
        named = next((n for n in (doctype_label(self.lang, k) for k in keys) if n), None)
        if named:
            parts.append(named)
        # the action in the item's own words (「下调」), unless the terms above already say it
        actions = [m.term for m in verdict.matches if _family(m) == "action"]
        if actions and actions[0] not in terms:
            parts.append(t["term_quote"].format(term=actions[0]))
        if verdict.authority:
            parts.append(authority_label(self.lang, verdict.authority))
        return clean(t["reason_join"].join(p for p in parts if p), REASON_MAX)

    def sections(self, stories: Sequence[Story]) -> tuple[Section, ...]:
        """Stories (already ordered) grouped by severity, then by their first topic."""
        out: list[Section] = []
        number = 0
        for severity in ("high", "medium", "low"):
            groups: dict[str, list[Entry]] = {}
            for story in stories:
                if story_severity(story) != severity:
                    continue
                number += 1
                topics = story_topics(story)
                topic = self.topic(topics[0]) if topics else self.t["no_topic"]
                groups.setdefault(topic, []).append(self.entry(number, story))
            if groups:
                count = sum(len(g) for g in groups.values())
                tg = tuple(TopicGroup(k, tuple(v)) for k, v in groups.items())
                out.append(Section(severity, self.t[f"sev.{severity}"], count, tg))
        return tuple(out)

    def health(
        self, states: Mapping[str, SourceState], events: Sequence[HealthEvent] = ()
    ) -> Health:
        enabled = [s for s in self.config.sources if s.enabled]
        failing: list[FailingSource] = []
        never: list[str] = []
        for source in enabled:
            state = states.get(source.id)
            if state is None or state.status == "never-fetched":
                never.append(self.source_name(source.id))
            elif state.status in FAILING:
                since = self.t["health_since"].format(
                    since=self.time(state.failing_since or state.last_attempt),
                    n=state.consecutive_failures,
                )
                failing.append(self._failing(source.id, state.status, state.reason, since))
        evs = tuple(
            self._failing(
                e.source_id, e.status, e.reason, self.time(e.at), self.t[f"event.{e.event}"]
            )
            for e in events
        )
        return Health(len(enabled), tuple(failing), tuple(never), evs)

    def _failing(
        self, source_id: str, status: str, reason: str, since: str, label: str | None = None
    ) -> FailingSource:
        status_label = label or self.t.get(f"status.{status}", status)
        return FailingSource(
            self.source_name(source_id), source_id, status, status_label, since, clean(reason, 200)
        )


NOT_RULE_KINDS = ("exclude", "doctype", "action", "authority")
_TRIVIAL = re.compile(r"[\W_]+")


def _family(m: Match) -> str:
    return m.kind.partition(":")[0]


def _matched_text(item: StoredItem, m: Match) -> str:
    """The matched words as the item spells them (offsets), else the rule's term."""
    text = {"title": item.title, "summary": item.summary, "body": item.body}.get(m.field, "")
    found = clean(text[m.start : m.end], 40) if 0 <= m.start < m.end <= len(text) else ""
    return found or clean(m.term, 40)


def matched_terms(item: StoredItem) -> list[str]:
    """The terms behind the fired rules (not vetoes, document types or actions), in order."""
    verdict = item.verdict
    if verdict is None:
        return []
    found = (_matched_text(item, m) for m in verdict.matches if _family(m) not in NOT_RULE_KINDS)
    return list(dict.fromkeys(t for t in found if t.strip()))


def _quotes_penalty(item: StoredItem) -> bool:
    """The classifier's snippet quotes the penalty records (they joined the summary it read):
    the entry's penalty line says it better."""
    return bool(item.penalty) and "当事人 " in (item.verdict.snippet if item.verdict else "")


def adds_to(text: str, title: str) -> bool:
    """Whether ``text`` says more than ``title`` (ignoring punctuation, spacing, case)."""
    bare, head = _TRIVIAL.sub("", text).casefold(), _TRIVIAL.sub("", title).casefold()
    if not bare or bare in head:
        return False
    return len(bare.replace(head, "", 1) if head else bare) >= 4


def snippet(item: StoredItem) -> tuple[Segment, ...]:
    """A short excerpt with the matched terms marked, centred on the first match; nothing
    when neither the verdict's snippet, the summary nor the body says more than the title."""
    verdict = item.verdict
    candidates = ((verdict.snippet if verdict else ""), item.summary, item.body)
    text = next((c for c in (clean(x, 10_000) for x in candidates) if adds_to(c, item.title)), "")
    if not text:
        return ()
    terms = sorted(
        {
            *matched_terms(item),
            *(m.term for m in verdict.matches if _family(m) not in NOT_RULE_KINDS),
        }
        if verdict
        else set(),
        key=len,
        reverse=True,
    )
    terms = [t for t in terms if t.strip()]
    pattern = re.compile("|".join(re.escape(t) for t in terms)) if terms else None
    first = pattern.search(text) if pattern else None
    start = 0
    if first and first.start() > SNIPPET_MAX // 3 and len(text) > SNIPPET_MAX:
        start = min(first.start() - SNIPPET_MAX // 4, len(text) - SNIPPET_MAX + 1)
    window = text[start : start + SNIPPET_MAX]
    prefix = "…" if start > 0 else ""
    suffix = "…" if start + SNIPPET_MAX < len(text) else ""
    window = prefix + window + suffix
    if pattern is None:
        return (Segment(window, False),)
    segments: list[Segment] = []
    pos = 0
    for m in pattern.finditer(window):
        if m.start() > pos:
            segments.append(Segment(window[pos : m.start()], False))
        segments.append(Segment(m.group(0), True))
        pos = m.end()
    if pos < len(window):
        segments.append(Segment(window[pos:], False))
    return tuple(segments)
