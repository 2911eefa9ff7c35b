"""Comment deadlines, effective dates and transition periods: the phrases, the counting
conventions, and the dates that must not be taken."""

from __future__ import annotations

from datetime import date

import pytest

from pipeline.extract import extract
from pipeline.extract.deadline import find_comment_deadline, is_result_notice
from pipeline.extract.effective import find_effective, find_transition_end
from pipeline.extract.text import prepare

FINAL = "中国人民银行令〔2021〕第1号"


def effective(body: str, published: date | None = None) -> tuple[date | None, str | None]:
    facts = extract(FINAL, body, published)
    return facts.effective, facts.effective_raw


# -- effective -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "day", "raw"),
    [
        ("本办法自2022年1月1日起施行。", date(2022, 1, 1), "自2022年1月1日起施行"),
        (
            "现予公布，自 2018 年 1 月 29 日起施行。",
            date(2018, 1, 29),
            "自 2018 年 1 月 29 日起施行",
        ),
        ("本通知自 2019 年 8 月 1 日起执行。", date(2019, 8, 1), "自 2019 年 8 月 1 日起执行"),
        ("现予以公布，自2021年5月1日施行。", date(2021, 5, 1), "自2021年5月1日施行"),
        ("本规定自一九九九年四月一日起实行。", date(1999, 4, 1), "自一九九九年四月一日起实行"),
        (
            "本办法自二〇二六年十二月十五日起施行。",
            date(2026, 12, 15),
            "自二〇二六年十二月十五日起施行",
        ),
        ("本办法自2026-12-15起施行。", date(2026, 12, 15), "自2026-12-15起施行"),
        ("本办法自２０２６年１月１日起施行。", date(2026, 1, 1), "自２０２６年１月１日起施行"),
        ("本辦法自2025年6月1日起施行。", date(2025, 6, 1), "自2025年6月1日起施行"),
        (
            "(2024年3月27日国家金融监督管理总局令2024年第5号公布自2024年5月1日起施行)",
            date(2024, 5, 1),
            "自2024年5月1日起施行",
        ),
    ],
)
def test_absolute_effective(body: str, day: date, raw: str) -> None:
    assert effective(body) == (day, raw)


def test_relative_effective_is_the_published_date() -> None:
    published = date(2024, 7, 26)
    assert effective("本细则自发布之日起施行。", published) == (published, "自发布之日起施行")
    assert effective("本公告自公布之日起执行。", published) == (published, "自公布之日起执行")
    assert effective("本通知自印发之日起施行。", published) == (published, "自印发之日起施行")
    assert effective("本通知自发布之日起生效。", published) == (published, "自发布之日起生效")


def test_relative_effective_without_published_keeps_the_clause() -> None:
    assert effective("本细则自发布之日起施行。") == (None, "自发布之日起施行")


def test_n_days_after_publication_counts_from_the_next_day() -> None:
    """民法典 第二百零一条: the publication day is not counted; 30 days are 01-19..02-17, the
    text binds from 02-18 (the PBOC's 利率互换 notice of 2008-01-18 took effect 2008-02-18)."""
    published = date(2008, 1, 18)
    assert effective("本办法自发布之日起30日后实施。", published) == (
        date(2008, 2, 18),
        "自发布之日起30日后实施",
    )
    assert effective("本通知自发布之日起的30日后施行，", published) == (
        date(2008, 2, 18),
        "自发布之日起的30日后施行",
    )
    # 12-02..12-31 are the 30 days; it binds from 2026-01-01
    assert effective("自公布之日起三十日后施行。", date(2025, 12, 1))[0] == date(2026, 1, 1)
    # working days need a holiday calendar: not computed
    assert effective("自公布之日起30个工作日后施行。", published) == (
        None,
        "自公布之日起30个工作日后施行",
    )


def test_an_event_that_no_text_dates() -> None:
    assert effective("本规定自账户管理系统(二期)运行之日起施行。") == (
        None,
        "自账户管理系统(二期)运行之日起施行",
    )


def test_the_first_clause_wins() -> None:
    body = (
        "(2023年3月16日中国人民银行令〔2023〕第2号公布  自2023年3月16日起施行)\n"
        "现予发布，自发布之日起施行。"
    )
    assert effective(body, date(2023, 3, 20)) == (date(2023, 3, 16), "自2023年3月16日起施行")


@pytest.mark.parametrize(
    "body",
    [
        "根据自2021年1月1日起施行的《民法典》，制定本办法。",  # describes another text
        "《个人信息保护法》将于2021年11月1日正式生效实施。",  # 于, another law
        "自2025年6月1日起，应用人脸识别技术的，应当履行备案手续。",  # a duty, not the text's start
        "《办法》自2020年1月1日起施行以来，效果良好。",  # a past start of another text
        "本办法自 年 月 日起施行。",  # a draft's blank date
        "金道观察 (10月1日起施行) 逐条解读",  # year-less
        "我行于2018年4月28日印发。",
    ],
)
def test_not_effective_dates(body: str) -> None:
    assert effective(body, date(2025, 1, 1)) == (None, None)


def test_repeal_clause_only_when_the_text_has_no_own_clause() -> None:
    published = date(2024, 5, 31)
    repeal = "《关于防范信用卡风险有关问题的通知》（银发〔2006〕84号）自本公告发布之日起废止。"
    assert effective(repeal, published) == (published, "自本公告发布之日起废止")
    both = "本公告自公布之日起执行。中国人民银行公告〔2009〕第14号自本公告公布之日起废止。"
    assert effective(both, published) == (published, "自公布之日起执行")


def test_relative_clause_of_a_reported_act_is_not_resolved() -> None:
    """In commentary 自发布之日起 refers to the rule's publication, not the article's."""
    text = prepare("该办法自发布之日起施行。")
    found = find_effective(text, date(2025, 3, 1), resolve_relative=False)
    assert found is not None and (found.date, found.raw) == (None, "自发布之日起施行")
    facts = extract(
        "《征信业务管理办法》解读", "本文认为，该办法自发布之日起施行。", date(2025, 3, 1)
    )
    assert facts.stage == "interpretation"
    assert (facts.effective, facts.effective_raw) == (None, "自发布之日起施行")
    facts = extract("《征信业务管理办法》解读", "本文认为，该办法自2022年1月1日起施行。")
    assert facts.effective == date(2022, 1, 1)


def test_a_draft_has_no_effective_date() -> None:
    facts = extract(
        "关于《X办法（征求意见稿）》公开征求意见的通知",
        "现向社会公开征求意见。\n第三十条 本办法自发布之日起施行。",
        date(2025, 1, 1),
    )
    assert facts.stage == "draft"
    assert (facts.effective, facts.effective_raw, facts.transition_end) == (None, None, None)


# -- transition ------------------------------------------------------------------------------


def transition(body: str, eff: date | None, published: date | None = None) -> date | None:
    return find_transition_end(prepare(body), eff, published)


def test_transition_from_the_effective_date_includes_it() -> None:
    assert transition("自本办法施行之日起的6个月为过渡期。", date(2021, 3, 1)) == date(2021, 8, 31)
    assert transition("自实施之日起设置两年过渡期，", date(2025, 6, 15)) == date(2027, 6, 14)
    assert transition("过渡期为6个月。", date(2021, 3, 1)) == date(2021, 8, 31)
    # 征信业务管理办法: 18 months to comply, reported as ending 2023-06-30
    assert transition("应当自本办法施行之日起18个月内完成合规整改。", date(2022, 1, 1)) == date(
        2023, 6, 30
    )


def test_transition_from_publication_excludes_the_day() -> None:
    body = "应当在自本公告发布之日起一个月的过渡期内委托结算代理人"
    assert transition(body, date(2013, 7, 2), date(2013, 7, 2)) == date(2013, 8, 2)
    assert transition(body, None, None) is None


def test_transition_with_an_end_date() -> None:
    body = "过渡期为本意见发布之日起至2020年底，对提前完成整改的机构，给予适当监管激励。"
    assert transition(body, date(2018, 4, 27)) == date(2020, 12, 31)
    assert transition("过渡期至2026年6月30日。", None) == date(2026, 6, 30)
    assert transition("過渡期至2026年6月30日。", None) == date(2026, 6, 30)


@pytest.mark.parametrize(
    "body",
    [
        # per institution: no single end
        "各非银行支付机构的过渡期为本细则施行之日至其支付业务许可证有效期截止日，过渡期不满12个月"
        "的，按12个月计。",
        # two tiers
        "超出2个百分点以内的，业务调整过渡期为自本通知实施之日起2年；超出2个百分点及以上的，"
        "业务调整过渡期为自本通知实施之日起4年。",
        "个体工商户“两证整合”不设过渡期。",
        "将普惠小微贷款支持工具实施期限延长至2024年底。",  # not a transition
        "设置两年过渡期。",  # start unknown (no effective date)
        "现行票证仍可继续延用六个月。",
    ],
)
def test_no_transition_end(body: str) -> None:
    assert transition(body, None if "两年" in body else date(2021, 1, 1)) is None


# -- comment deadline ------------------------------------------------------------------------


def deadline(body: str, published: date | None = None) -> date | None:
    return find_comment_deadline(prepare(body), published)


@pytest.mark.parametrize(
    ("body", "day"),
    [
        ("意见反馈截止时间为2023年9月2日。", date(2023, 9, 2)),
        ("意见反馈截止时间为:2020年1月25日。", date(2020, 1, 25)),
        ("意見反饋截止時間為2024年4月23日。", date(2024, 4, 23)),
        ("征求意见截止日期：2026年1月5日", date(2026, 1, 5)),
        (
            "请于2024年10月8日前将修改意见建议以信函方式反馈至市人大常委会法工委。",
            date(2024, 10, 8),
        ),
        ("有关单位和各界人士可以在2017年5月26日前，通过以下三种方式提出意见：", date(2017, 5, 26)),
        ("公告时间：2020年6月10日至2020年6月23日。", date(2020, 6, 23)),
        ("征求意见时间为2025年12月1日至12月31日。", date(2025, 12, 31)),
        ("征求意见从即日起开始，至2005年12月31日结束。", date(2005, 12, 31)),
        ("请于二〇二六年一月五日前反馈意见。", date(2026, 1, 5)),
    ],
)
def test_deadlines(body: str, day: date) -> None:
    assert deadline(body) == day


def test_year_less_deadlines_take_the_published_year() -> None:
    assert deadline("意见建议请于11月23日前，以信件方式寄至。", date(2018, 11, 12)) == date(
        2018, 11, 23
    )
    assert deadline("请将意见于7月26日前反馈至市公路与运输管理中心。", date(2021, 7, 15)) == date(
        2021, 7, 26
    )
    assert deadline("征求意见时间为12月1日至12月31日。", date(2025, 11, 28)) == date(2025, 12, 31)
    # a January deadline in a December notice: next year
    assert deadline("请于1月10日前反馈意见。", date(2025, 12, 20)) == date(2026, 1, 10)
    # no published date: a year-less date is not taken
    assert deadline("请于11月23日前反馈意见。") is None


@pytest.mark.parametrize(
    "body",
    [
        "已达到10万人的，应当在2025年7月14日前履行备案手续。",  # a compliance deadline
        "截至2024年12月31日，全国普惠型小微企业贷款余额33.9万亿元。",  # statistics
        "截至2月末，信用贷占比达27.6%。",
        "决定从2007年12月1日开始，公开能源法征求意见稿。",  # a start, not an end
        "并于本通知发布之日起30日内向中国人民银行报备。",
        "2022年4月，央行发布通知，对该稿进行了为期一个月的公开征求意见。",
    ],
)
def test_not_deadlines(body: str) -> None:
    assert deadline(body, date(2025, 1, 1)) is None


def test_a_consultation_result_has_no_deadline() -> None:
    result = (
        "2019年5月22日，我局就《珠海市社会保险基金监督举报奖励办法（征求意见稿）》向社会公开征求"
        "意见，意见反馈截止时间为2019年6月6日。\n截止到2019年6月6日，我局未收到公众的修改意见。"
    )
    assert is_result_notice(prepare(result))
    assert deadline(result) is None
    # a live notice that appends the result of an earlier round keeps its deadline
    live = (
        "现向社会公开征求意见。\n公告时间：2020年6月10日至2020年6月23日。\n"
        "未收到社会公众提出的修改意见。"
    )
    assert not is_result_notice(prepare(live))
    assert deadline(live) == date(2020, 6, 23)


def test_deadline_only_for_drafts_and_interpretations() -> None:
    body = "请于2025年3月1日前将执行中的意见反馈至中国人民银行。本通知自2025年1月1日起施行。"
    assert extract("中国人民银行关于X的通知（银发〔2025〕1号）", body).comment_deadline is None
    draft = extract("X办法（征求意见稿）", "现向社会公开征求意见。意见反馈截止时间为2025年3月1日。")
    assert draft.comment_deadline == date(2025, 3, 1)


def test_attachment_text_is_read_after_the_body() -> None:
    facts = extract(
        "中国人民银行关于印发《X办法》的通知（银发〔2025〕9号）",
        "<p>现将《X办法》印发给你们，请遵照执行。</p><p>附件：X办法</p>",
        date(2025, 3, 1),
        attachments=("X办法\n第三十条 本办法自2025年6月1日起施行。《旧办法》同时废止。",),
    )
    assert facts.stage == "final"
    assert (facts.effective, facts.effective_raw) == (date(2025, 6, 1), "自2025年6月1日起施行")
    assert facts.repeals == ("旧办法",)
    assert facts.doc_number == "银发〔2025〕9号"
