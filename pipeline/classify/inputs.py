"""What the classifier reads of an item: its title, its summary with the penalty table's
records, its body with the text of its attachments.

Why the records join the summary: a penalty list titles its entries with nothing but the
decision number (``银罚决字〔2026〕104-116号``); who was fined and for what sits in the table of
the detail page. The records are the document's summary, so they weigh as one (a rule matching
only in the body is reported, never flagged: ``scoring.min_relevance``). Attachments are the
document's full text and weigh as its body. A fine on a consumer-finance company or a bank's
internet lending is then flagged like a headline saying so; a fine for anti-money-laundering
or foreign-exchange breaches only names no lending vocabulary and is not.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from pipeline.models import ItemAttachment

MAX_ATTACHMENT_CHARS = 200_000  # of all attachments together, for the classifier
MAX_RECORD_CHARS = 400  # of one record's violation or decision
# "陈某香（广发银行股份有限公司信用卡中心）", "宋某仁（时任…总经理)": a person and their post
_PERSON = re.compile(r"^[\u4e00-\u9fff]{1,3}某[\u4e00-\u9fff]{0,2}\s*[（(]")
_AFFILIATION = re.compile(r"\s*[（(].*$")
_PREAMBLE = re.compile(r"^.{0,80}?负有(?:直接|主要|领导)?责任[:：]")


def _cut(text: object) -> str:
    line = " ".join(str(text or "").split())
    return line if len(line) <= MAX_RECORD_CHARS else line[: MAX_RECORD_CHARS - 1] + "…"


def _party(name: object) -> str:
    """A person's row names their employer's department in brackets (``孙某（时任…信用卡（消费金融）
    部职员）``): that says where they worked, not what the fine is about; the institution's own row
    names the institution."""
    text = " ".join(str(name or "").split())
    return _AFFILIATION.sub("", text) if _PERSON.match(text) else text


def penalty_lines(penalty: Mapping[str, Any] | None) -> str:
    """One line per distinct record: ``行政处罚：当事人 …；违法行为 …；处罚决定 …`` (a person's
    preamble ``对…负有责任：`` and bracketed affiliation dropped), then the authority."""
    if not penalty:
        return ""
    lines: list[str] = []
    for record in penalty.get("records") or ():
        parts = [f"当事人 {_cut(_party(record.get('party')))}"]
        violation = _PREAMBLE.sub("", str(record.get("violation") or ""))
        if violation:
            parts.append(f"违法行为 {_cut(violation)}")
        if record.get("decision"):
            parts.append(f"处罚决定 {_cut(record['decision'])}")
        line = "行政处罚：" + "；".join(parts)
        if line not in lines:
            lines.append(line)
    if penalty.get("authority"):
        lines.append(f"作出处罚决定机关：{_cut(penalty['authority'])}")
    return "\n".join(lines)


def attachment_text(attachments: Sequence[ItemAttachment]) -> str:
    """The read attachments' texts, each under its name, within ``MAX_ATTACHMENT_CHARS``."""
    parts = [f"附件：{a.name}\n{a.text}" for a in attachments if a.status == "ok" and a.text]
    return "\n\n".join(parts)[:MAX_ATTACHMENT_CHARS]


def classify_fields(
    title: str,
    summary: str,
    body: str,
    penalty: Mapping[str, Any] | None = None,
    attachments: Sequence[ItemAttachment] = (),
) -> tuple[str, str, str]:
    """``(title, summary, body)`` as the classifier reads them."""
    records = penalty_lines(penalty)
    files = attachment_text(attachments)
    summary = "\n".join(p for p in (summary, records) if p)
    body = "\n\n".join(p for p in (body, files) if p)
    return title, summary, body
