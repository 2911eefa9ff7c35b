"""What stage of the regulatory life cycle an item is about.

The stage describes the act the item is about, not the kind of page: a news story that a rule
was published is ``final``, one about a draft is ``draft``, one about a fine ``enforcement``.
Decided in this order (the first that holds):

1. ``enforcement`` -- a penalty was read (table or prose), or the title names a penalty
   decision (行政处罚决定 / 处罚信息公示表 / 罚决字);
2. ``other`` -- an encyclopedia entry (``…的一种``, ``起草过程``), or a notice that reports a
   finished consultation and opens none;
3. ``interpretation`` -- 解读 / 答记者问 / 问答 / 浅析 … in the title, or a third party's
   commentary (it abbreviates the regulator, ``（以下简称“人行”）``; ``笔者``, ``本文``,
   footnote marks);
4. ``draft`` -- 征求意见稿 / 公开征求意见 / 草案 in the title, or the opening of the body
   inviting comments (``现向社会公开征求意见``);
5. ``repeal`` -- the act itself repeals (``决定废止``, ``关于废止《…》``, or its only clause is
   ``自本公告发布之日起废止``);
6. ``amendment`` -- the title amends (``修改《…》``, ``修订《…》``, ``关于修改…的决定``,
   ``修正案``), not a re-issue (``修订后的《…》印发``) nor a revised draft;
7. ``final`` -- the act has a 文号 or an effective clause, says so (``现予公布``,
   ``印发给你们``, ``请遵照执行``, ``现就有关事项通知如下``, ``现提出以下意见``), or a story
   reports a rule issued (``印发《…规定》``);
8. ``news`` -- everything else (statistics, speeches, industry reports and roundups).
"""

from __future__ import annotations

import re

from pipeline.extract.deadline import is_result_notice
from pipeline.extract.models import Stage
from pipeline.extract.text import Text

_PENALTY_TITLE = re.compile(r"行政处罚(?:决定|信息)|处罚信息公[示开]表|罚决字|处罚决定书")
_ENCYCLOPEDIA = re.compile(r"^[\u4e00-\u9fff]{2,12}的一种$|^起草过程$|^发布过程$", re.MULTILINE)
_INTERP_TITLE = re.compile(r"解读|答记者问|答问|问答|浅析|评析|解析|观察|述评|点评|一图读懂|图解")
_INTERP_BODY = re.compile(
    r"[(（]\s*(?:以下简称|以下称|简称)?\s*[“\"](?:人行|央行|国金局|金监总局|总局|银保监会|"
    r"证监会|网信办|全国人大|全人常)[”\"]"
    r"|笔者|本文|我们认为|[\u4e00-\u9fff。”]\[\d{1,2}\]"
)
_DRAFT_TITLE = re.compile(r"征求意见|意见征集|征求[^。]{0,30}意见|草案")
_DRAFT_OPENING = re.compile(r"现[^。]{0,16}?征求[^。]{0,6}?意见|公开征求意见|征求意见稿")
_REPEAL = re.compile(r"(?<!拟)(?:决定|现决定|予以)\s*废止|关于废止")
_AMEND_TITLE = re.compile(r"(?:修改|修订|修正)\s*(?:《|〈|<|部分)|关于修改[^。]{0,60}的决定|修正案")
_NOT_AMEND = re.compile(r"修订后的|修订草案|修订征求意见稿|修改稿")
_FINAL = re.compile(
    r"现予(?:以)?(?:公布|发布|印发)|印发给你们|现印发|现将[^。]{0,40}印发|请遵照执行|"
    r"请认真(?:贯彻)?(?:遵照)?执行|现就[^。]{0,30}通知如下|现将[^。]{0,40}通知如下|"
    r"现提出(?:以下|如下)意见|特此公告|公告如下"
    r"|(?:印发|发布|公布|出台|颁布)了?\s*《[^《》]{2,80}(?:办法|规定|条例|细则|通知|意见|指引|"
    r"规程|决定|规则|准则)》"
)
_OPENING_CHARS = 400


def decide_stage(
    title: Text,
    body: Text,
    *,
    has_penalty: bool,
    has_doc_number: bool,
    effective_raw: str | None,
) -> Stage:
    t, b = title.norm, body.norm
    if has_penalty or _PENALTY_TITLE.search(t):
        return "enforcement"
    if _ENCYCLOPEDIA.search(b) or is_result_notice(body):
        return "other"
    if _INTERP_TITLE.search(t) or _INTERP_BODY.search(b):
        return "interpretation"
    if _DRAFT_TITLE.search(t) or _DRAFT_OPENING.search(b[:_OPENING_CHARS]):
        return "draft"
    if _REPEAL.search(t) or _REPEAL.search(b) or (effective_raw or "").endswith("废止"):
        return "repeal"
    if _AMEND_TITLE.search(t) and not _NOT_AMEND.search(t):
        return "amendment"
    if has_doc_number or effective_raw or _FINAL.search(t) or _FINAL.search(b):
        return "final"
    return "news"
