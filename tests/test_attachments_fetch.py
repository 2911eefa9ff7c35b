"""Attachments through the fetch cycle, against the real loopback server: the shipped CAC
source's detail page links to real files (tests/fixtures/attachments) and to hostile or broken
ones. Each file is downloaded within its bounds through the guarded client, read, and kept with
its status and reason; the item is stored whatever happened to its files, and the text that
was read is searchable and reaches the classifier.
"""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import quote

import pytest

from pipeline.config import load_config
from pipeline.fetch.http import DEFAULT_POLICY
from pipeline.models import ItemAttachment
from pipeline.run import run_cycle
from pipeline.store import Store, StoredItem
from tests.support.harness import ROOT
from tests.support.httpserver import HTTPTestServer, Route
from tests.support.shipped import shipped_table

FIXTURES = Path(__file__).parent / "fixtures"
FILES = FIXTURES / "attachments"
LIST = "/hdfw/wxan/A093802index_1.htm"
DETAIL = "/2026-09/18/c_1791482017777471.htm"
JSP = "/cms/cmsadmin/infopub/downloadfile.jsp?filepath=/2019-12/30/1578986455686625.pdf"
NAME = "App违法违规收集使用个人信息行为认定方法"
LINKS = {  # link text -> path, as the detail body lists them
    NAME: JSP + "&fText=" + quote(NAME),
    "附件2.docx": "/files/notice.docx",
    "附件3.doc": "/files/notice.doc",
    "附件4.docx": "/files/bomb.docx",
    "附件5.pdf": "/files/notice-password.pdf",
    "附件6.pdf": "/files/notice-truncated.pdf",
    "附件7.pdf": "/files/huge.pdf",
    "附件8.zip": "/files/stream.zip",
    "附件9.pdf": "/files/video.pdf",
    "附件10.pdf": "/files/error.pdf",
}


def detail_page() -> bytes:
    anchors = "".join(f'<p><a href="{href}">{text}</a></p>' for text, href in LINKS.items())
    return (
        '<html><head><meta charset="utf-8"><title>通知</title></head><body><div class="main">'
        '<h1 class="title">关于印发《App违法违规收集使用个人信息行为认定方法》的通知</h1>'
        '<div id="BodyLabel"><p>各省、自治区、直辖市网信办、通信管理局、公安厅（局）、市场监管局：'
        f"</p>{anchors}<script>function pagestat(){{}}pagestat();</script></div></div>"
        "</body></html>"
    ).encode()


def raw(status: int, headers: dict[str, str], body: bytes, close: bool = False) -> Route:
    def handler(h: BaseHTTPRequestHandler) -> None:
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k, v)
        if close:
            h.send_header("Connection", "close")
        h.end_headers()
        try:
            h.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            return
        if close:
            h.close_connection = True

    return Route(handler=handler)


def stream(total: int) -> Route:
    """No Content-Length: bytes until the connection closes, more than any cap."""

    def handler(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/zip")
        h.send_header("Connection", "close")
        h.end_headers()
        chunk = b"PK\x03\x04" + b"\0" * 65532
        try:
            for _ in range(total // len(chunk)):
                h.wfile.write(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        h.close_connection = True

    return Route(handler=handler)


@pytest.fixture
def stored(tmp_path: Path, http_server: HTTPTestServer) -> StoredItem:
    listing = (FIXTURES / "sources" / "cac-news.html").read_bytes()
    http_server.routes[LIST] = Route(listing.replace(b"//www.cac.gov.cn/", b"/"))
    http_server.routes[DETAIL] = Route(detail_page())
    disposition = "attachment; filename*=UTF-8''" + quote(NAME + ".pdf")
    http_server.routes[JSP.split("?", 1)[0]] = Route(
        (FILES / "notice.pdf").read_bytes(),
        content_type="application/octet-stream",
        headers={"Content-Disposition": disposition},
    )
    for name in ("notice.docx", "notice.doc", "bomb.docx", "notice-password.pdf"):
        http_server.routes[f"/files/{name}"] = Route.file(FILES / name, content_type="")
    http_server.routes["/files/notice-truncated.pdf"] = Route.file(
        FILES / "notice-truncated.pdf", content_type="application/pdf"
    )
    # claims 2 GB: refused on its Content-Length, before a byte of the body is read
    http_server.routes["/files/huge.pdf"] = raw(
        200, {"Content-Type": "application/pdf", "Content-Length": str(2**31)}, b"%PDF-", True
    )
    http_server.routes["/files/stream.zip"] = stream(6 * 1024 * 1024)
    http_server.routes["/files/video.pdf"] = Route(b"\0\0\0\x18ftypmp42", content_type="video/mp4")
    http_server.routes["/files/error.pdf"] = Route(
        b"<!DOCTYPE html><html><body>Not Found</body></html>", content_type="text/html"
    )
    path = tmp_path / "sources.toml"
    table = shipped_table("cac-news", http_server.url(""))
    path.write_text(f'[settings]\ndata_dir = "data"\nrules = "{ROOT / "rules.toml"}"\n\n{table}')
    config = load_config(path)
    with Store.open(config.settings.db_path) as store:
        report = run_cycle(config, store, policy=DEFAULT_POLICY)
        assert not report.failed and report.new_items == 4
        [item] = [i for i in store.iter_items() if i.url and i.url.endswith(DETAIL)]
        assert store.search("广发银行股份有限公司")[0][0].id == item.id
    return item


def by_name(item: StoredItem) -> dict[str, ItemAttachment]:
    return {a.name: a for a in item.attachments}


def test_every_file_is_kept_with_its_status_and_the_item_is_stored(stored: StoredItem) -> None:
    files = by_name(stored)
    assert len(files) == len(LINKS)
    pdf = files[NAME + ".pdf"]  # the type came from Content-Disposition only
    assert (pdf.kind, pdf.status) == ("pdf", "ok")
    assert "App违法违规收集使用个人信息行为认定方法" in "".join(pdf.text.split())
    assert files["附件2.docx"].status == "ok" and "广发银行股份有限公司" in files["附件2.docx"].text
    assert stored.body.startswith("各省、自治区")  # the detail body itself


def test_unread_and_hostile_files_say_why(stored: StoredItem) -> None:
    why = {name: (a.status, a.reason) for name, a in by_name(stored).items()}
    assert why["附件3.doc"][0] == "skipped" and "text not extracted" in why["附件3.doc"][1]
    assert why["附件4.docx"][0] == "skipped" and why["附件4.docx"][1].startswith("refused")
    assert why["附件5.pdf"][0] == "skipped" and "password" in why["附件5.pdf"][1]
    assert why["附件6.pdf"][0] == "failed"
    assert why["附件7.pdf"] == (
        "failed",
        f"not downloaded: response exceeds max_bytes {4 * 1024 * 1024} (Content-Length {2**31})",
    )
    assert why["附件8.zip"][0] == "failed" and "exceeds" in why["附件8.zip"][1]
    assert why["附件9.pdf"] == ("skipped", "refused: Content-Type video/mp4 is not a document")
    assert why["附件10.pdf"] == ("failed", "expected a pdf file, the server sent an HTML page")


def test_per_source_bounds_override_the_defaults(
    tmp_path: Path, http_server: HTTPTestServer
) -> None:
    listing = (FIXTURES / "sources" / "cac-news.html").read_bytes()
    http_server.routes[LIST] = Route(listing.replace(b"//www.cac.gov.cn/", b"/"))
    page = (
        '<html><body><div id="BodyLabel"><p>正文</p><a href="/files/a.pdf">附件</a>'
        '<a href="/files/slow.pdf">慢</a></div></body></html>'
    )
    http_server.routes[DETAIL] = Route(page.encode())
    http_server.routes["/files/a.pdf"] = Route.file(FILES / "notice.pdf", content_type="")
    http_server.routes["/files/slow.pdf"] = Route.file(FILES / "notice.pdf", delay=3.0)
    path = tmp_path / "sources.toml"
    table = shipped_table(
        "cac-news", http_server.url(""), attachment_max_bytes=1000, attachment_timeout=1
    )
    path.write_text(f'[settings]\ndata_dir = "data"\nrules = "{ROOT / "rules.toml"}"\n\n{table}')
    config = load_config(path)
    with Store.open(config.settings.db_path) as store:
        run_cycle(config, store, policy=DEFAULT_POLICY)
        [item] = [i for i in store.iter_items() if i.url and i.url.endswith(DETAIL)]
    small, slow = item.attachments
    assert small.status == "failed" and "exceeds max_bytes 1000" in small.reason
    assert slow.status == "failed" and slow.reason.startswith("not downloaded: timed out after 1s")
