"""Lifecycle and enforcement facts of one item: pure functions, no network, no database.

    facts = extract(title, body, published=date(2021, 9, 30), attachments=(pdf_text,))
    facts.stage, facts.effective, facts.penalty ...
    facts.to_dict()                      # a `lendwatch extract` line without its id
    facts.penalty.to_export_dict()       # the `penalty` of `lendwatch export` (tables)

``body`` may be text or HTML (tables are then read as tables, merged cells expanded);
attachment texts are read after the body. Every field is None (or empty) when the text does not
say it plainly: a wrong date is worse than none. Conventions (each module's docstring has the
detail):

* ``stage`` (``stage``): the act the item is about -- draft, final, amendment, repeal,
  interpretation, enforcement, news, other.
* ``comment_deadline`` (``deadline``): drafts and interpretations only; year-less dates take the
  published year (the next year when the month is before the published month).
* ``effective`` / ``effective_raw`` (``effective``): the first ``自…起施行`` clause; relative
  clauses use the published date (``N日后``: published + N + 1 days, 民法典 第二百零一条), and
  only for the item's own act (final, amendment, repeal, enforcement). Not for drafts.
* ``transition_end`` (``effective``): the last day inside the transition period; from the
  effective date counted inclusively, from a publication date exclusively.
* ``repeals`` (``repeals``): titles without 《》, or the 文号 when no title is named; not for
  drafts.
* ``doc_number`` (``docnumber``): the document's own 发文字号, normalised by
  ``pipeline.classify.docnum`` (simplified script).
* ``penalty`` (``penalty``): tables first (``penalty_tables``), else prose (``penalty_prose``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from pipeline.extract.deadline import find_comment_deadline
from pipeline.extract.docnumber import find_doc_number
from pipeline.extract.effective import find_effective, find_transition_end
from pipeline.extract.models import STAGES, Facts, Penalty, PenaltyRecord, Stage
from pipeline.extract.penalty import penalty_from_html, penalty_from_prose, penalty_from_text
from pipeline.extract.repeals import find_repeals
from pipeline.extract.stage import decide_stage
from pipeline.extract.text import (
    Text,
    element_text,
    looks_like_html,
    normalized,
    parse_html,
    prepare,
    tidy,
)

__all__ = [
    "STAGES",
    "Facts",
    "Penalty",
    "PenaltyRecord",
    "Stage",
    "extract",
    "extract_item",
    "parse_published",
    "penalty_from_page",
]

_OWN_ACT = ("final", "amendment", "repeal", "enforcement")
_BEIJING = ZoneInfo("Asia/Shanghai")


def parse_published(value: str | date | None, tz: ZoneInfo = _BEIJING) -> date | None:
    """``YYYY-MM-DD`` or an ISO datetime -> its calendar date; an aware datetime is taken in
    ``tz`` (regulators date their documents in Beijing time). Raises ValueError when ``value``
    is neither."""
    if value is None or isinstance(value, date):
        return value if not isinstance(value, datetime) else _day(value, tz)
    text = value.strip()
    if len(text) == 10:
        return date.fromisoformat(text)
    return _day(datetime.fromisoformat(text.replace("Z", "+00:00")), tz)


def _day(moment: datetime, tz: ZoneInfo) -> date:
    return moment.astimezone(tz).date() if moment.tzinfo is not None else moment.date()


def penalty_from_page(html: str) -> Penalty | None:
    """The penalty of a detail page's tables (issue #14's records), or None."""
    return penalty_from_html(parse_html(html))[0]


def extract(
    title: str,
    body: str = "",
    published: date | None = None,
    attachments: Sequence[str] = (),
) -> Facts:
    """The lifecycle and enforcement facts of one item (see the module docstring)."""
    soup = parse_html(body) if looks_like_html(body) else None
    body_text = element_text(soup) if soup is not None else tidy(body)
    extra = "\n".join(tidy(a) for a in attachments if a.strip())
    title_t = prepare(" ".join(title.split()))
    body_t = prepare(body_text + ("\n" + extra if extra else ""))
    title_lines = 0 if _repeats(title_t, body_t) else 1
    whole = prepare(title_t.raw + "\n" + body_t.raw) if title_lines else body_t

    penalty, numbers = penalty_from_html(soup) if soup is not None else (None, ())
    if penalty is None:
        penalty, numbers = penalty_from_text(body_t)
    if penalty is None:
        penalty = penalty_from_prose(whole, title_lines)
    doc_number = find_doc_number(title_t, body_t)
    if doc_number is None and len(numbers) == 1:
        doc_number = find_doc_number(prepare(numbers[0]), prepare(""))
    effective = find_effective(whole, published, resolve_relative=True)
    raw = effective.raw if effective else None
    stage = decide_stage(
        title_t,
        body_t,
        has_penalty=penalty is not None,
        has_doc_number=doc_number is not None,
        effective_raw=normalized(raw) if raw else None,
    )
    if stage == "draft":
        return Facts(
            stage=stage,
            comment_deadline=find_comment_deadline(whole, published),
            doc_number=doc_number,
        )
    effective_day = effective.date if effective else None
    if effective is not None and stage not in _OWN_ACT and not _absolute(effective.raw):
        effective_day = None
    return Facts(
        stage=stage,
        comment_deadline=(
            find_comment_deadline(whole, published) if stage == "interpretation" else None
        ),
        effective=effective_day,
        effective_raw=raw,
        transition_end=find_transition_end(whole, effective_day, published),
        repeals=find_repeals(whole),
        doc_number=doc_number,
        penalty=penalty if stage == "enforcement" else None,
    )


def extract_item(
    title: str,
    summary: str,
    body: str,
    published: datetime | None,
    attachments: Sequence[str] = (),
) -> Facts:
    """The facts of a stored item: its body (the summary when it has none), its published
    moment taken as a Beijing calendar date, and its attachment texts."""
    return extract(title, body or summary, parse_published(published), attachments)


def _repeats(title: Text, body: Text) -> bool:
    """Does the body open with the title (most pages repeat it)?"""
    key = "".join(title.norm.split())
    head = "".join(body.norm[: len(title.norm) * 2 + 200].split())
    return bool(key) and key in head


def _absolute(raw: str) -> bool:
    """A clause with a written date (not 发布/公布之日)."""
    return "之日" not in normalized(raw)
