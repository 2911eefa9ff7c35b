"""Penalty tables, structured: read from the raw detail page, stored as records, exported as the
``penalty`` object of the issue #14 contract, searchable, and fed to the classifier so that a
fine on a consumer-finance company, a micro-lender or a bank's internet lending is flagged and a
fine for anti-money-laundering or foreign-exchange breaches only is not.

The pages are the real PBOC 信息公示表 (2026, 2025), the real CBRC 2018 信息公开表 inside an
NFRA docClob, and the NFRA horizontal table (anonymised parties); they are served by the
loopback server behind the shipped PBOC and NFRA source tables.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from pipeline.classify import Classifier
from pipeline.classify.inputs import classify_fields, penalty_lines
from pipeline.config import load_config
from pipeline.extract import penalty_from_page
from pipeline.fetch.http import DEFAULT_POLICY
from pipeline.run import run_cycle
from pipeline.store import Store
from tests.support.harness import ROOT, lendwatch
from tests.support.httpserver import HTTPTestServer, Route
from tests.support.shipped import shipped_table

FIXTURES = Path(__file__).parent / "fixtures"
PENALTY = FIXTURES / "penalty"
RULES = Classifier.from_file(ROOT / "rules.toml")
CONTRACT = {"parties", "amount_yuan", "authority", "decision_date", "records"}
# issue #16: export's penalty keeps every key of issue #14 and gains extract's `violations`
EXTRACT_ADDS = {"violations"}
RECORD = {"party", "violation", "decision", "amount_yuan"}
HEAD = (
    "<tr><td>序号</td><td>当事人名称</td><td>行政处罚<br> 决定书文号</td><td>违法行为类型</td>"
    "<td>行政处罚内容</td><td>作出行政处罚<br> 决定机关名称</td>"
    "<td>作出行政处罚<br> 决定日期</td></tr>"
)


def table(party: str, number: str, violation: str, decision: str, authority: str) -> str:
    """A one-row 信息公示表 in the PBOC layout (headers wrap with <br>, as on the real page)."""
    row = (
        f"<tr><td>1</td><td>{party}</td><td>{number}</td><td>{violation}</td><td>{decision}</td>"
        f"<td>{authority}</td><td>2025年5月30日</td></tr>"
    )
    return f"<html><body><table>{HEAD}{row}</table></body></html>"


def verdict(html: str, title: str = "行政处罚信息公示表", issuer: str = "pboc") -> object:
    found = penalty_from_page(html)
    assert found is not None
    fields = classify_fields(title, "", "", found.to_export_dict())
    return RULES.classify(*fields, issuer=issuer, authority="regulator")


# The consumer-finance row is the real 2025 fine on 阳光消金 (NFRA Beijing, 140万元, as reported);
# the other rows are anonymised (某…) in the wording of published tables.
FLAGGED = [
    (
        "consumer-finance",
        table(
            "北京阳光消费金融股份有限公司",
            "京金罚决字〔2025〕15号",
            "合作模式存在不足，合作业务管控不到位；未自主计算授信额度及贷款定价；"
            "贷后管理有效性不足；合作机构管理不到位",
            "罚款140万元",
            "国家金融监督管理总局北京监管局",
        ),
    ),
    (
        "micro-loan",
        table(
            "某网络小额贷款有限公司",
            "渝金管罚〔2024〕1号",
            "超出经营范围跨省发放网络小额贷款；贷款综合成本超过规定上限",
            "罚款30万元",
            "重庆市地方金融管理局",
        ),
    ),
    (
        "bank-internet-loan",
        table(
            "某银行股份有限公司",
            "某金罚决字〔2025〕3号",
            "互联网贷款业务风险管理不审慎；与合作机构开展助贷业务管理不到位",
            "罚款90万元",
            "国家金融监督管理总局某监管局",
        ),
    ),
]


@pytest.mark.parametrize(("topic", "html"), FLAGGED, ids=[t for t, _ in FLAGGED])
def test_a_fine_on_online_lending_is_flagged_from_its_table(topic: str, html: str) -> None:
    v = verdict(html)
    assert v.flagged and topic in v.topics and "enforcement" in v.topics  # type: ignore[attr-defined]
    # the title says nothing: the records decided, from the summary they joined
    assert any(m.field == "summary" for m in v.matches)  # type: ignore[attr-defined]


def test_an_aml_and_foreign_exchange_fine_is_not_flagged() -> None:
    html = table(
        "某银行股份有限公司",
        "银罚决字〔2025〕9号",
        "1.未按规定履行客户身份识别义务；2.未按规定报送大额交易报告或者可疑交易报告；"
        "3.违反外汇管理规定",
        "警告，罚款80万元",
        "中国人民银行",
    )
    assert not verdict(html).flagged  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("page", "title"),
    [
        ("pboc-penalty-detail-2026.html", "银罚决字〔2026〕104-116号"),
        ("pboc-penalty-detail-2025-old-layout.html", "银罚决字〔2025〕31-38号"),
    ],
)
def test_real_bank_fines_for_accounts_aml_and_data_are_not_flagged(page: str, title: str) -> None:
    """Both real tables fine a bank and its staff for account, AML, counterfeit-money, data and
    credit-information breaches; a person's row names their department (信用卡（消费金融）部),
    which says where they worked, not what the fine is about."""
    html = (PENALTY / page).read_text(encoding="utf-8")
    assert not verdict(html, title).flagged  # type: ignore[attr-defined]
    found = penalty_from_page(html)
    assert found is not None
    lines = penalty_lines(found.to_export_dict())
    assert "消费金融" not in lines and "负有责任" not in lines


def test_the_real_2018_corporate_lending_fine_is_not_flagged() -> None:
    data = json.loads((PENALTY / "nfra-penalty-detail-vertical.json").read_text("utf-8"))
    assert not verdict(data["data"]["docClob"], issuer="nfra").flagged  # type: ignore[attr-defined]


# -- through the cycle ----------------------------------------------------------------------------

PBOC_LIST = "/zhengwugongkai/4081330/4081344/4081407/4081705/index.html"
PBOC_DETAIL = "/zhengwugongkai/4081330/4081344/4081407/4081705/2026092418294123383/index.html"
NFRA_LIST = "/cbircweb/DocInfo/SelectDocByItemIdAndChild?itemId=4115&pageSize=18&pageIndex=1"
NFRA_DETAIL = "/cbircweb/DocInfo/SelectByDocId?docId="


@pytest.fixture
def cycle(tmp_path: Path, http_server: HTTPTestServer) -> Path:
    """One cycle over the shipped pboc-penalty and nfra-4115 tables moved to the loopback."""
    http_server.routes[PBOC_LIST] = Route.file(FIXTURES / "sources" / "pboc-penalty.html")
    http_server.routes[PBOC_DETAIL] = Route.file(PENALTY / "pboc-penalty-detail-2026.html")
    http_server.routes[NFRA_LIST] = Route.file(
        FIXTURES / "sources" / "nfra-4115.json", content_type="application/json"
    )
    http_server.routes[NFRA_DETAIL + "1263776"] = Route.file(
        PENALTY / "nfra-penalty-detail-horizontal.json", content_type="application/json"
    )
    base = http_server.url("")
    tables = (
        shipped_table("pboc-penalty", base)
        + "\n"
        + shipped_table("nfra-4115", base, detail_url=base + NFRA_DETAIL + "{docId}")
    )
    path = tmp_path / "sources.toml"
    path.write_text(
        f'[settings]\ndata_dir = "data"\nrules = "{ROOT / "rules.toml"}"\n\n{tables}', "utf-8"
    )
    config = load_config(path)
    with Store.open(config.settings.db_path) as store:
        report = run_cycle(config, store, policy=DEFAULT_POLICY)
    assert not report.failed, report.failed
    return path


def exported(config: Path) -> dict[str, dict[str, object]]:
    out = lendwatch(config, "export")
    assert out.returncode == 0, out.stderr
    return {row["title"]: row for row in map(json.loads, out.stdout.splitlines())}


def test_export_carries_the_penalty_object_of_the_contract(cycle: Path) -> None:
    rows = exported(cycle)
    pboc = rows["银罚决字〔2026〕104-116号"]["penalty"]
    assert isinstance(pboc, dict) and set(pboc) == CONTRACT | EXTRACT_ADDS
    assert pboc["parties"][0] == "广发银行股份有限公司" and len(pboc["parties"]) == 13
    assert pboc["amount_yuan"] == 17695217.47
    assert (pboc["authority"], pboc["decision_date"]) == ("中国人民银行", "2026-09-08")
    assert len(pboc["records"]) == 13 and all(set(r) == RECORD for r in pboc["records"])
    assert pboc["records"][0]["amount_yuan"] == 17140217.47
    assert pboc["violations"] == list(dict.fromkeys(r["violation"] for r in pboc["records"]))
    nfra = rows["国家金融监督管理总局赣州监管分局行政处罚信息公开表"]
    assert isinstance(nfra["penalty"], dict) and nfra["penalty"]["amount_yuan"] == 400000
    # an item without a table (its detail page is missing here) says so with null
    assert rows["银罚决字〔2026〕97-103号"]["penalty"] is None


def test_the_consumer_finance_fine_is_flagged_and_the_bank_fine_is_not(cycle: Path) -> None:
    rows = exported(cycle)
    assert rows["国家金融监督管理总局赣州监管分局行政处罚信息公开表"]["flagged"] is True
    assert rows["银罚决字〔2026〕104-116号"]["flagged"] is False
    out = lendwatch(cycle, "reclassify", "--dry-run")  # the stored records decide again
    assert out.returncode == 0 and "0 would change" in out.stdout, out.stdout


def test_a_party_is_found_by_search(cycle: Path) -> None:
    out = lendwatch(cycle, "search", "--json", "某消费金融有限公司赣州分公司")
    assert out.returncode == 0, out.stderr
    titles = [json.loads(line)["title"] for line in out.stdout.splitlines()]
    assert titles == ["国家金融监督管理总局赣州监管分局行政处罚信息公开表"]


def test_files_of_the_detail_json_are_recorded_even_when_they_fail(cycle: Path) -> None:
    rows = exported(cycle)
    files = rows["国家金融监督管理总局赣州监管分局行政处罚信息公开表"]["attachments"]
    assert isinstance(files, list) and len(files) == 1
    file: dict[str, str] = files[0]
    assert file["name"] == "赣州监管分局行政处罚信息公开表.pdf"
    assert file["url"].endswith("/chinese/docfile/2026/3dc3532b8f9a4e0c9d0b6c1f4a2e7d15.pdf")
    assert (file["status"], file["reason"]) == ("failed", "not downloaded: HTTP 404")


def test_the_shipped_penalty_sources_keep_the_contract_urls() -> None:
    raw = tomllib.loads((ROOT / "sources.toml").read_text("utf-8"))
    urls = {t["id"]: t["url"] for t in raw["sources"]}
    assert urls["pboc-penalty"] == (
        "https://www.pbc.gov.cn/zhengwugongkai/4081330/4081344/4081407/4081705/index.html"
    )
    for item in (4113, 4114, 4115):
        assert urls[f"nfra-{item}"] == (
            "https://www.nfra.gov.cn/cbircweb/DocInfo/SelectDocByItemIdAndChild"
            f"?itemId={item}&pageSize=18&pageIndex=1"
        )
