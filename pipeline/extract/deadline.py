"""The last day to comment on a draft.

Phrases read (folded text, so traditional script and full-width digits too):

* ``意见反馈截止时间为2023年9月2日`` / ``…截止日期：…`` / ``征求意见截至…`` -- a cue word
  (意见, 建议, 反馈, 征求, 征集) shortly before ``截止``/``截至``;
* ``请于2024年10月8日前…反馈`` / ``可以在2017年5月26日前…提出意见`` / ``请将意见于7月26日
  前反馈`` -- ``于/在 <date> 前`` in a sentence that speaks of 意见, 建议 or 反馈 (so
  ``应当在2025年7月14日前履行备案手续`` is not a comment deadline);
* ``征求意见时间为12月1日至12月31日`` / ``公告时间：2020年6月10日至2020年6月23日`` -- the
  end of the range; a year-less end takes the start's year;
* ``征求意见从即日起开始，至2005年12月31日结束``.

A date without a year takes the year of the published date, or the next year when its month
is before the published month (``请于1月10日前`` in a notice of 12月20日); without a published
date it is not taken. A notice that reports a finished consultation (``截止到2019年6月6日，我局
未收到…意见``) and does not open one (``现向社会公开征求意见``) has no deadline: the date is real
but nobody can still comment.
"""

from __future__ import annotations

import re
from datetime import date

from pipeline.extract.dates import ANY_DATE_RE, DateHit, first_date, resolve
from pipeline.extract.text import Text

_CUE = r"(?:意见|建议|反馈|征求|征集)"
_END = "。；;\n"
_CUTOFF = re.compile(
    rf"{_CUE}[^{_END}]{{0,12}}?截[止至](?:时间|日期|日)?\s*(?:为|是|至|到)?\s*[:：]?\s*"
    rf"(?P<d>{ANY_DATE_RE})"
)
_BEFORE = re.compile(rf"(?:于|在)\s*(?P<d>{ANY_DATE_RE})\s*(?:前|之前|以前)")
_RANGE = re.compile(
    rf"(?:征求意见|意见征集|征集|公告|公示|反馈)[^{_END}]{{0,8}}?(?:时间|期限|期间|日期|时限|期)"
    rf"\s*(?:为|是)?\s*[:：]?\s*(?:自|从)?\s*(?P<a>{ANY_DATE_RE})\s*(?:起)?\s*"
    rf"(?:至|到|—|-|~|～)\s*(?P<b>{ANY_DATE_RE})"
)
_CLOSES = re.compile(
    rf"(?:征求意见|意见征集|征集|公示)[^{_END}]{{0,20}}?至\s*(?P<d>{ANY_DATE_RE})\s*"
    r"(?:止|结束|截止)"
)
_SENTENCE_CUE = re.compile(r"意见|建议|反馈")
_RESULT = re.compile(
    r"未收到[^。]{0,30}(?:意见|建议)|意见采纳情况|征求意见(?:情况|结果)的?(?:说明|报告|通报)"
    r"|(?:意见|建议)[^。]{0,6}反馈情况"
)
_OPENS = re.compile(
    r"现[^。]{0,16}?征求[^。]{0,6}?意见|欢迎[^。]{0,30}?(?:提出|反馈)|请于|请在|请将"
)


def _sentence(norm: str, start: int, end: int) -> str:
    left = max(norm.rfind(ch, 0, start) for ch in _END) + 1
    rights = [i for i in (norm.find(ch, end) for ch in _END) if i != -1]
    return norm[left : min(rights) if rights else len(norm)]


def _hit(norm: str, m: re.Match[str], group: str) -> DateHit | None:
    return first_date(norm, m.start(group), m.end(group))


def is_result_notice(text: Text) -> bool:
    """A notice that reports a finished consultation and opens none."""
    return _RESULT.search(text.norm) is not None and _OPENS.search(text.norm) is None


def find_comment_deadline(text: Text, published: date | None) -> date | None:
    if is_result_notice(text):
        return None
    norm = text.norm
    found: list[tuple[int, date]] = []

    def add(at: int, hit: DateHit | None, year_from: DateHit | None = None) -> None:
        if hit is None:
            return
        if hit.year is None and year_from is not None and year_from.year is not None:
            value = hit.on(year_from.year)
        else:
            value = resolve(hit, published)
        if value is not None:
            found.append((at, value))

    for m in _CUTOFF.finditer(norm):
        add(m.start(), _hit(norm, m, "d"))
    for m in _BEFORE.finditer(norm):
        if _SENTENCE_CUE.search(_sentence(norm, m.start(), m.end())):
            add(m.start(), _hit(norm, m, "d"))
    for m in _RANGE.finditer(norm):
        add(m.start(), _hit(norm, m, "b"), _hit(norm, m, "a"))
    for m in _CLOSES.finditer(norm):
        add(m.start(), _hit(norm, m, "d"))
    if not found:
        return None
    return min(found)[1]
