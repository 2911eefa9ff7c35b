"""Frozen dataclasses passed between the stages: Source -> Fetched -> Item -> Verdict -> RunReport.

Every datetime here is timezone-aware UTC. A ``published`` of ``None`` means the source gave no
(parseable) date; it is never replaced by the fetch time.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType
from typing import Any, Literal

Severity = Literal["high", "medium", "low"]
SEVERITY_RANK: Mapping[str, int] = MappingProxyType({"high": 3, "medium": 2, "low": 1})

HealthStatus = Literal["ok", "blocked", "layout-changed", "error", "never-fetched"]

Authority = Literal["regulator", "association", "media"]


def _empty() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Source:
    """One configured source. ``options`` holds the kind-specific keys (selectors, field maps)."""

    id: str
    name: str
    kind: str
    url: str
    every_seconds: int = 1800
    authority: Authority = "media"
    issuer: str | None = None  # e.g. "pboc", "nfra": weighs severity in the classifier
    timezone: str = "Asia/Shanghai"
    language: str = "zh"
    enabled: bool = True
    method: str = "GET"
    headers: Mapping[str, str] = field(default_factory=_empty)
    body: str | None = None
    min_items: int = 1  # fewer parsed items than this on a 200 response = layout-changed
    max_bytes: int = 5_000_000
    timeout_seconds: float = 20.0
    options: Mapping[str, Any] = field(default_factory=_empty)


@dataclass(frozen=True, slots=True)
class Fetched:
    """The raw result of one HTTP fetch. ``not_modified`` is True for a 304."""

    source_id: str
    url: str  # final URL after redirects
    status: int
    headers: Mapping[str, str]
    content: bytes
    fetched_at: datetime
    not_modified: bool = False
    etag: str | None = None
    last_modified: str | None = None
    challenge: str | None = None  # how an anti-bot challenge was passed ("WZWS classic ...")


@dataclass(frozen=True, slots=True)
class AttachmentLink:
    """A file an item links to (a detail page's ``.pdf`` link, NFRA's ``pdfFileUrl``)."""

    url: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class ItemAttachment:
    """A downloaded attachment: ``status`` "ok" (``text`` read), "skipped" (not read on purpose:
    a ``.doc``, a scan, over the size cap) or "failed" (broken, refused, not downloaded), with
    the ``reason``."""

    name: str
    url: str
    kind: str
    size: int
    status: str
    reason: str = ""
    text: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The export form (the text itself only as its length)."""
        return {
            "name": self.name,
            "url": self.url,
            "kind": self.kind,
            "size": self.size,
            "status": self.status,
            "reason": self.reason,
            "chars": len(self.text),
        }


@dataclass(frozen=True, slots=True)
class Item:
    """One entry parsed from a source (an announcement, an article, a feed entry)."""

    source_id: str
    guid: str  # stable identity within the source: trustworthy GUID or canonical URL
    title: str
    url: str | None = None
    summary: str = ""
    body: str = ""
    published: datetime | None = None
    published_raw: str | None = None
    extra: Mapping[str, str] = field(default_factory=_empty)
    # guids an earlier version of lendwatch gave this entry (before a change to canonical URLs);
    # not stored: the cycle uses them to find the item under its old identity
    aliases: tuple[str, ...] = ()
    # files the list row names (NFRA pdfFileUrl, CSRC resList); downloaded with the detail page
    attachment_links: tuple[AttachmentLink, ...] = ()
    # from the detail stage: the penalty table (``Penalty.to_export_dict()`` of
    # pipeline.extract: parties, amount_yuan, authority, decision_date, records) and the files
    penalty: Mapping[str, Any] | None = None
    attachments: tuple[ItemAttachment, ...] = ()

    @property
    def id(self) -> str:
        """Stable item id across runs: hash of source id and guid."""
        return item_id(self.source_id, self.guid)

    @property
    def content_hash(self) -> str:
        """Hash of what the list gives (title, summary, link); a change means an edit.

        The body is left out: detail pages are fetched for new items only, so a later fetch
        of the same item comes without it, and that is not an edit.
        """
        blob = "\x1f".join((self.title, self.summary, self.url or ""))
        return hashlib.sha1(blob.encode("utf-8")).hexdigest()


def item_id(source_id: str, guid: str) -> str:
    return hashlib.sha1(f"{source_id}\x1f{guid}".encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Match:
    """One matched term: which rule/topic, where (field and character offsets), what text."""

    term: str
    field: str  # "title" | "summary" | "body"
    start: int
    end: int
    topic: str
    rule: str
    kind: str = "term"  # "term" | "action" | "product" | "exclude" | ...

    def to_dict(self) -> dict[str, Any]:
        return {
            "term": self.term,
            "field": self.field,
            "start": self.start,
            "end": self.end,
            "topic": self.topic,
            "rule": self.rule,
            "kind": self.kind,
        }


@dataclass(frozen=True, slots=True)
class Verdict:
    """The classifier's decision on one item, with everything needed to explain it."""

    flagged: bool
    severity: Severity | None
    score: float
    topics: tuple[str, ...] = ()
    matches: tuple[Match, ...] = ()
    explanation: tuple[str, ...] = ()
    authority: str | None = None
    doc_numbers: tuple[str, ...] = ()
    snippet: str = ""
    rules_version: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "flagged": self.flagged,
            "severity": self.severity,
            "score": self.score,
            "topics": list(self.topics),
            "matches": [m.to_dict() for m in self.matches],
            "explanation": list(self.explanation),
            "authority": self.authority,
            "doc_numbers": list(self.doc_numbers),
            "snippet": self.snippet,
            "rules_version": self.rules_version,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> Verdict:
        return Verdict(
            flagged=bool(data["flagged"]),
            severity=data.get("severity"),
            score=float(data.get("score", 0.0)),
            topics=tuple(data.get("topics", ())),
            matches=tuple(Match(**m) for m in data.get("matches", ())),
            explanation=tuple(data.get("explanation", ())),
            authority=data.get("authority"),
            doc_numbers=tuple(data.get("doc_numbers", ())),
            snippet=data.get("snippet", ""),
            rules_version=data.get("rules_version", ""),
        )


@dataclass(frozen=True, slots=True)
class SourceResult:
    """What one source's fetch+parse produced in a cycle (health verdict included)."""

    source_id: str
    status: HealthStatus
    reason: str = ""
    items: tuple[Item, ...] = ()
    http_status: int | None = None
    not_modified: bool = False
    etag: str | None = None
    last_modified: str | None = None
    elapsed_seconds: float = 0.0
    warnings: tuple[str, ...] = ()
    challenge: str | None = None  # an anti-bot challenge passed on the way (see Fetched)


@dataclass(frozen=True, slots=True)
class SourceReport:
    """One line of the run log: a source's outcome after storing."""

    source_id: str
    status: HealthStatus
    reason: str
    fetched: int
    new: int
    updated: int
    flagged: int
    not_modified: bool
    elapsed_seconds: float
    backlog: int = 0  # of the new items: stored as backlog, counted in the digest, not mailed


@dataclass(frozen=True, slots=True)
class RunReport:
    """The outcome of one fetch cycle."""

    started_at: datetime
    finished_at: datetime
    sources: tuple[SourceReport, ...] = field(default_factory=tuple)

    @property
    def failed(self) -> tuple[SourceReport, ...]:
        return tuple(s for s in self.sources if s.status != "ok")

    @property
    def new_items(self) -> int:
        return sum(s.new for s in self.sources)

    @property
    def flagged_items(self) -> int:
        return sum(s.flagged for s in self.sources)


def iso_day(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


@dataclass(frozen=True, slots=True)
class StoredFacts:
    """An item's lifecycle and enforcement facts as stored (``store.facts``): the extractor's
    ``pipeline.extract.Facts`` in JSON-ready shapes, without importing it. ``penalty`` (or
    None) has parties, amount_yuan, authority, decision_date (``YYYY-MM-DD``), violations and
    records [{party, violation, decision, amount_yuan}]."""

    stage: str
    comment_deadline: date | None = None
    effective: date | None = None
    effective_raw: str | None = None
    transition_end: date | None = None
    repeals: tuple[str, ...] = ()
    doc_number: str | None = None
    penalty: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The fields of a ``lendwatch extract`` line (no ``id``), in its order and shapes."""
        p = self.penalty
        return {
            "stage": self.stage,
            "comment_deadline": iso_day(self.comment_deadline),
            "effective": iso_day(self.effective),
            "effective_raw": self.effective_raw,
            "transition_end": iso_day(self.transition_end),
            "repeals": list(self.repeals),
            "doc_number": self.doc_number,
            "penalty": None
            if p is None
            else {k: p.get(k) for k in ("parties", "amount_yuan", "authority", "decision_date")}
            | {"violations": list(p.get("violations") or [])},
        }

    def dates(self) -> dict[str, date]:
        """The dated facts by field name, in ``DATE_FIELDS`` order."""
        named = {
            "comment_deadline": self.comment_deadline,
            "effective": self.effective,
            "transition_end": self.transition_end,
        }
        return {k: v for k, v in named.items() if v is not None}
