"""Penalties: the real PBOC/CBRC/NFRA tables (tests/fixtures/penalty, see the .source.txt files),
amounts to the fen, prose of news stories, and the two JSON shapes (#16 extract, #14 export)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from pipeline.extract import Penalty, PenaltyRecord, extract, penalty_from_page
from pipeline.extract.money import as_json_number, fines
from pipeline.extract.penalty import violation_phrases
from pipeline.extract.text import prepare

FIXTURES = Path(__file__).parent / "fixtures" / "penalty"


def page(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def doc_clob(name: str) -> str:
    data = json.loads(page(name))
    return str(data["data"]["docClob"])


def _penalty(html: str) -> Penalty:
    found = penalty_from_page(html)
    assert found is not None
    return found


# -- real tables -----------------------------------------------------------------------------


def test_pboc_2026_table_all_parties_and_the_exact_total() -> None:
    p = _penalty(page("pboc-penalty-detail-2026.html"))
    assert len(p.records) == 13
    assert p.parties[0] == "广发银行股份有限公司"
    assert p.parties[1] == "蒋某（广发银行股份有限公司资产托管部）"
    assert p.parties[-1] == "秦某（广发银行股份有限公司法律与合规部）"
    # 没收违法所得1.621747万元 + 罚款1712.4万元 + 12 persons' 55.5万元
    assert p.amount_yuan == Decimal("17695217.47")
    assert p.records[0].amount_yuan == Decimal("17140217.47")
    assert p.records[0].decision == "警告，没收违法所得1.621747万元，罚款1712.4万元"
    assert p.records[1].amount_yuan == Decimal(160000)
    assert p.authority == "中国人民银行"
    assert p.decision_date == date(2026, 9, 8)
    assert p.violations == (
        "违反金融统计管理规定",
        "违反账户管理规定",
        "违反清算管理规定",
        "违反银行卡收单业务管理规定",
        "违反数据安全管理规定",
        "违反反假货币业务管理规定",
        "占压财政存款或者资金",
        "违反信用信息采集、提供、查询及相关管理规定",
        "未按规定履行客户身份识别义务",
        "未按规定报送大额交易报告",
    )
    assert (
        p.records[1].violation
        == "对广发银行股份有限公司以下违法违规行为负有责任：违反银行卡收单业务管理规定。"
    )


def test_pboc_2025_old_layout() -> None:
    p = _penalty(page("pboc-penalty-detail-2025-old-layout.html"))
    assert len(p.records) == 7
    assert p.amount_yuan == Decimal(3131900)  # 295.99+7+5+1.1+1.1+1+2 万元
    assert p.decision_date == date(2025, 8, 20)  # written 2025年8月 20日
    assert "宋某仁（时任浙商银行股份有限公司运营管理部总经理)" in p.parties  # as written
    # 企业 and 名称 inside a person's unit do not make the row a header
    assert "陆某（时任浙商银行股份有限公司网络金融部企业体验中心总经理助理）" in p.parties


def test_full_page_item_is_enforcement() -> None:
    facts = extract(
        "银罚决字〔2026〕104-116号", page("pboc-penalty-detail-2026.html"), date(2026, 9, 24)
    )
    assert facts.stage == "enforcement"
    assert facts.doc_number == "银罚决字〔2026〕104-116号"
    assert facts.effective is None and facts.comment_deadline is None
    assert facts.penalty is not None and facts.penalty.amount_yuan == Decimal("17695217.47")


@pytest.mark.parametrize(
    "html",
    [page("cbrc-2018-vertical-table-real.html"), doc_clob("nfra-penalty-detail-vertical.json")],
)
def test_vertical_table(html: str) -> None:
    p = _penalty(html)
    assert p.parties == ("平安银行股份有限公司",)  # 谢永林 is the 法定代表人, not a party
    assert p.amount_yuan == Decimal(500000)
    assert p.authority == "天津银监局"
    assert p.decision_date == date(2018, 6, 28)
    assert p.violations == (
        "贷前调查不到位，向环保未达标的企业提供融资",
        "贷后管理失职，流动资金贷款被挪用",
    )
    assert p.records == (
        PenaltyRecord(
            "平安银行股份有限公司",
            "贷前调查不到位，向环保未达标的企业提供融资；贷后管理失职，流动资金贷款被挪用",
            "罚款人民币50万元",
            Decimal(500000),
        ),
    )
    facts = extract("天津银监局行政处罚信息公开表（平安银行股份有限公司）", html)
    assert facts.doc_number == "津银监罚决字〔2018〕35号"


def test_horizontal_table_with_merged_cells() -> None:
    """NFRA 信息公示表 (reconstructed, parties anonymised): one violation and one authority cell
    span the three party rows; a warning alone carries no amount."""
    p = _penalty(doc_clob("nfra-penalty-detail-horizontal.json"))
    assert [r.party for r in p.records] == [
        "某消费金融有限公司赣州分公司",
        "张某某（时任某消费金融有限公司赣州分公司总经理）",
        "李某某（时任某消费金融有限公司赣州分公司风险管理部经理）",
    ]
    assert {r.violation for r in p.records} == {"贷后管理不到位；委托第三方催收管理不审慎"}
    assert [r.amount_yuan for r in p.records] == [Decimal(350000), Decimal(50000), None]
    assert p.amount_yuan == Decimal(400000)
    assert p.authority == "国家金融监督管理总局赣州监管分局"
    assert p.decision_date is None


def test_table_as_text_lines() -> None:
    body = (
        "序号 | 当事人名称 | 行政处罚 决定书文号 | 违法行为类型 | 行政处罚内容 "
        "| 作出行政处罚 决定机关名称 | 作出行政处罚 决定日期\n"
        "1 | 某某银行股份有限公司 | 银罚决字〔2025〕1号 "
        "| 1.违反账户管理规定； 2.违反商户管理规定。 "
        "| 警告，罚款30万元 | 中国人民银行 | 2025年8月 20日\n"
        "2 | 李某（时任某某银行股份有限公司职员） | 银罚决字〔2025〕2号 "
        "| 对某某银行股份有限公司以下违法行为负有责任： 违反账户管理规定。 "
        "| 罚款1.1万元 | 中国人民银行 | 2025年8月 20日\n"
    )
    facts = extract("银罚决字〔2025〕1-2号", body)
    assert facts.penalty is not None
    assert facts.penalty.amount_yuan == Decimal(311000)
    assert facts.penalty.violations == ("违反账户管理规定", "违反商户管理规定")


def test_traditional_script_table_headers() -> None:
    html = (
        "<table><tr><td>序號</td><td>當事人名稱</td><td>主要違法違規行為</td><td>行政處罰內容</td>"
        "<td>作出決定機關</td></tr><tr><td>1</td><td>某銀行股份有限公司</td><td>貸後管理不到位</td>"
        "<td>罰款人民幣五十萬元</td><td>某監管分局</td></tr></table>"
    )
    p = _penalty(html)
    assert p.parties == ("某銀行股份有限公司",)
    assert p.amount_yuan == Decimal(500000)
    assert p.authority == "某監管分局"


def test_no_penalty_table() -> None:
    assert penalty_from_page("<table><tr><td>序号</td><td>名称</td></tr></table>") is None
    assert penalty_from_page("<p>没有表格</p>") is None


# -- amounts ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "yuan"),
    [
        ("罚款人民币50万元", [Decimal(500000)]),
        ("罚款三十万元", [Decimal(300000)]),
        (
            "警告，没收违法所得1.621747万元，罚款1712.4万元",
            [Decimal("16217.47"), Decimal(17124000)],
        ),
        ("处以罚款1,234,567元", [Decimal(1234567)]),
        ("被处以2.5亿元罚款", [Decimal(250000000)]),
        ("被處罰款82萬元", [Decimal(820000)]),
        ("fined 1.05 million yuan for", [Decimal(1050000)]),
        ("fined 484,000 yuan for violations", [Decimal(484000)]),
        ("对甲罚款30万元，对乙罚款10万元，合计罚款40万元", [Decimal(300000), Decimal(100000)]),
        ("注册资本人民币10亿元", []),
        ("罚单总额达1292.7万元", []),
        ("合计被罚627.7万元", []),
        ("贷款余额33.9万亿元", []),
        ("警告", []),
    ],
)
def test_fines(text: str, yuan: list[Decimal]) -> None:
    assert [a.yuan for a in fines(prepare(text).norm)] == yuan


def test_json_numbers() -> None:
    assert as_json_number(Decimal(500000)) == 500000
    assert isinstance(as_json_number(Decimal("500000.00")), int)
    assert as_json_number(Decimal("17695217.47")) == 17695217.47
    assert as_json_number(Decimal("0.125")) == 0.13  # half-up to the fen
    assert as_json_number(None) is None


def test_violation_phrases() -> None:
    assert violation_phrases(
        [
            "1.违反金融统计管理规定;\n2.违反账户管理规定;",
            "对X以下违法违规行为负有责任：\n违反账户管理规定。",
        ]
    ) == ("违反金融统计管理规定", "违反账户管理规定")


# -- prose -----------------------------------------------------------------------------------


def test_news_of_one_fine() -> None:
    body = (
        "近日,中国银保监会网站公布了青海银保监局筹备组对中国工商银行股份有限公司青海省分行的行政"
        "处罚决定书(青银保监筹〔2018〕75号)。\n"
        "决定书显示,该分行存在信用卡监测不到位,对特约商户管理不严的违法违规事实。\n"
        "青海银保监局筹备组依据《中华人民共和国银行业监督管理法》第四十六条,对中国工商银行股份有限"
        "公司青海省分行罚款30万元并责令其对相关责任人员给予纪律处分。作出处罚决定的日期为2018年11月20日。"
    )
    facts = extract("工行青海省分行被罚", body, date(2018, 12, 3))
    assert facts.stage == "enforcement"
    assert facts.doc_number == "青银保监筹〔2018〕75号"
    p = facts.penalty
    assert p is not None
    assert p.parties == ("中国工商银行股份有限公司青海省分行",)
    assert p.amount_yuan == Decimal(300000)
    assert p.authority == "青海银保监局筹备组"
    assert p.decision_date == date(2018, 11, 20)


def test_company_and_named_person() -> None:
    body = (
        "2月11日,中国人民银行包头市分行公示行政处罚决定,内蒙古蒙商消费金融股份有限公司因未履行告知"
        "义务,被处以83万元罚款;时任蒙商消金风险管理部风险政策总监王某静,因在异议处理流程中的失职,"
        "被罚款3.4万元。"
    )
    p = extract("蒙商消金被罚", body).penalty
    assert p is not None
    assert p.parties == ("内蒙古蒙商消费金融股份有限公司", "王某静")
    assert p.amount_yuan == Decimal(864000)
    assert p.authority == "中国人民银行包头市分行"
    assert p.decision_date is None  # a 公示 date is not the decision date


def test_only_the_lead_paragraph_counts() -> None:
    """Background fines told later in a story are not added to its fine."""
    body = (
        "近期,又有一家消费金融公司收到罚单。根据国家金融监督管理总局北京监管局日前发布的行政处罚信息,"
        "北京阳光消费金融股份有限公司因合作机构管理不到位等问题,被处以罚款140万元。\n"
        "今年以来,已有多家消费金融公司收到罚单。比如,内蒙古蒙商消费金融股份有限公司因未按规定处理异议,"
        "被处以罚款83万元。"
    )
    p = extract("又有一家消费金融公司收到罚单", body).penalty
    assert p is not None
    assert p.parties == ("北京阳光消费金融股份有限公司",)
    assert p.amount_yuan == Decimal(1400000)
    assert p.authority == "国家金融监督管理总局北京监管局"


def test_short_names_and_warned_persons() -> None:
    body = (
        "12月1日,国家金融监督管理总局厦门监管局公布的一纸行政处罚信息公开表,再次将厦门金美信消费金融"
        "有限责任公司(下文简称“金美信消费金融”)推向监管聚光灯下。金美信消费金融及相关责任人员因第三方"
        "合作机构管理不到位等主要违法违规行为,被厦门监管局处以对公司罚款120万元,并对两名相关责任人员"
        "庄雅兰、周忠德给予警告的行政处罚。"
    )
    p = extract("金美信消费金融再收罚单", body).penalty
    assert p is not None
    assert p.parties == ("厦门金美信消费金融有限责任公司", "庄雅兰", "周忠德")
    assert p.amount_yuan == Decimal(1200000)
    assert p.authority == "国家金融监督管理总局厦门监管局"  # the fuller name of 厦门监管局
    assert [r.amount_yuan for r in p.records] == [Decimal(1200000), None, None]


def test_english_summary() -> None:
    body = (
        "Recent penalties: Su Yin Kai Ji Consumer Finance Co., Ltd. fined 484,000 yuan for "
        "violations related to credit information management, and Citic Consumer Finance Co., "
        "Ltd. fined 1.05 "
        "million yuan for issues including overdue dispute handling."
    )
    p = extract("透视消金开年罚单", body).penalty
    assert p is not None
    assert p.parties == (
        "Su Yin Kai Ji Consumer Finance Co., Ltd.",
        "Citic Consumer Finance Co., Ltd.",
    )
    assert p.amount_yuan == Decimal(1534000)


@pytest.mark.parametrize(
    "body",
    [
        # a rule's penalty articles name no party
        "银行有上述所列行为之一的，给予警告，并处以 5 万元以上 30 万元以下的罚款。",
        "拒不改正的，处5万元以下的罚款。",
        # a total and a fine on an unnamed role
        "今年上半年共有7家消费金融公司收到罚单,合计被罚627.7万元。",
        "蒙商消金风险管理部总监因异议处理不当被罚3.4万元。",
        # capital, not a fine
        "阳光消金注册资本人民币10亿元。",
    ],
)
def test_no_penalty_in_prose(body: str) -> None:
    assert extract("X", body).penalty is None


# -- the two shapes --------------------------------------------------------------------------


def test_extract_and_export_shapes() -> None:
    p = _penalty(page("pboc-penalty-detail-2025-old-layout.html"))
    extract_shape = p.to_extract_dict()
    assert list(extract_shape) == [
        "parties",
        "amount_yuan",
        "authority",
        "decision_date",
        "violations",
    ]
    assert extract_shape["amount_yuan"] == 3131900 and isinstance(extract_shape["amount_yuan"], int)
    assert extract_shape["decision_date"] == "2025-08-20"
    export = p.to_export_dict()
    assert list(export) == ["parties", "amount_yuan", "authority", "decision_date", "records"]
    assert list(export["records"][0]) == ["party", "violation", "decision", "amount_yuan"]
    assert export["records"][0]["amount_yuan"] == 2959900
    assert export["records"][3]["amount_yuan"] == 11000
    # both are plain JSON
    assert json.loads(json.dumps(export, ensure_ascii=False)) == export
    total = _penalty(page("pboc-penalty-detail-2026.html")).to_export_dict()["amount_yuan"]
    assert total == 17695217.47 and isinstance(total, float)
