"""``lendwatch test-source ID`` shows what came through: the challenge it answered, the items,
the penalty tables it read and the attachments with their status and length; nothing stored."""

from __future__ import annotations

from pathlib import Path

from tests.support.harness import ROOT, lendwatch
from tests.support.httpserver import HTTPTestServer, Route
from tests.support.shipped import shipped_table
from tests.support.wzws_server import WzwsSite

FIXTURES = Path(__file__).parent / "fixtures"
LIST = "/zhengwugongkai/4081330/4081344/4081407/4081705/index.html"
DETAIL = "/zhengwugongkai/4081330/4081344/4081407/4081705/2026092418294123383/index.html"


def config(tmp_path: Path, table: str) -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(
        f'[settings]\ndata_dir = "data"\nrules = "{ROOT / "rules.toml"}"\n\n{table}', "utf-8"
    )
    return path


def test_the_challenge_the_items_and_the_table_are_shown(tmp_path: Path) -> None:
    pages = {
        LIST: (FIXTURES / "sources" / "pboc-penalty.html").read_bytes(),
        DETAIL: (FIXTURES / "penalty" / "pboc-penalty-detail-2026.html").read_bytes(),
    }
    with WzwsSite(pages) as site:
        path = config(tmp_path, shipped_table("pboc-penalty", site.url("")))
        out = lendwatch(path, "test-source", "pboc-penalty", "--detail", "--limit", "2")
    assert out.returncode == 0, out.stderr  # a missing detail page is logged, not a failure
    lines = out.stdout.splitlines()
    assert "health: ok" in lines and "http: 200  items: 20" in lines[2]
    assert (
        "challenge: WZWS classic challenge answered over HTTP for 127.0.0.1"
        " (3 requests: challenge, answer, page)"
    ) in lines
    assert "- 2026-09-23 16:00  [2026-09-24]  银罚决字〔2026〕104-116号" in lines
    assert (
        "    table: 13 record(s), parties 广发银行股份有限公司、"
        "蒋某（广发银行股份有限公司资产托管部）、陈某香（广发银行股份有限公司信用卡中心） … (+10);"
        " total 17695217.47 yuan; 中国人民银行;"
        " 2026-09-08"
    ) in lines
    assert "detail: 2 item(s); tables parsed: 1; attachments: 0, text read from 0" in lines
    assert not (tmp_path / "data" / "lendwatch.db").exists()  # nothing stored


def test_attachments_are_listed_with_kind_status_and_length(
    tmp_path: Path, http_server: HTTPTestServer
) -> None:
    listing = (FIXTURES / "sources" / "cac-news.html").read_bytes()
    http_server.routes["/hdfw/wxan/A093802index_1.htm"] = Route(
        listing.replace(b"//www.cac.gov.cn/", b"/")
    )
    page = (
        '<html><body><div id="BodyLabel"><p>正文</p><a href="/f/notice.pdf">附件1</a>'
        '<a href="/f/notice.doc">附件2</a></div></body></html>'
    )
    http_server.routes["/2026-09/18/c_1791482017777471.htm"] = Route(page.encode())
    http_server.routes["/f/notice.pdf"] = Route.file(FIXTURES / "attachments" / "notice.pdf")
    http_server.routes["/f/notice.doc"] = Route.file(FIXTURES / "attachments" / "notice.doc")
    path = config(tmp_path, shipped_table("cac-news", http_server.url("")))
    out = lendwatch(path, "test-source", "cac-news", "--detail", "--limit", "1")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    pdf = next(line for line in lines if line.startswith("    attachment: 附件1"))
    assert pdf.startswith("    attachment: 附件1 [pdf] ok, ") and pdf.endswith(" chars")
    assert int(pdf.split(", ")[1].split()[0]) > 50
    assert (
        "    attachment: 附件2 [doc] skipped, 0 chars (text not extracted: Word 97-2003 (.doc)"
        " is not read; look for a PDF or DOCX copy)"
    ) in lines
    assert "detail: 1 item(s); tables parsed: 0; attachments: 2, text read from 1" in lines
