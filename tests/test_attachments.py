"""Attachments: identification, text extraction and bounds, on real files made here.

tests/fixtures/attachments/README.md says how each file was made. Most tests read in-process
(``timeout=None``) to stay fast; the worker-process path has its own tests at the end.
"""

from __future__ import annotations

import asyncio
import io
import os
import time
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from pipeline.fetch.attachments import Attachment, Bounds, read_attachment, read_attachment_async
from pipeline.fetch.attachments.extract import check_zip
from pipeline.fetch.attachments.kinds import disposition_filename, identify, sniff, url_name
from pipeline.fetch.attachments.worker import WorkerError, run_bounded

FIXTURES = Path(__file__).parent / "fixtures" / "attachments"
WZWS = Path(__file__).parent / "fixtures" / "wzws" / "wzws-pboc-packed-real.html"
INLINE = Bounds(timeout=None)
TITLE = "关于印发《App违法违规收集使用个人信息行为认定方法》的通知"
BASE = "https://www.pbc.gov.cn/zhengwugongkai/resource/cms/2021/12/"
OCTET = "application/octet-stream"


def data(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def read(name: str, url: str | None = None, bounds: Bounds = INLINE, **kw: str) -> Attachment:
    return read_attachment(data(name), url or BASE + name, bounds=bounds, **kw)


def squeeze(text: str) -> str:
    """pypdf puts a space where the font changes (``App 违法``): compare without spaces."""
    return "".join(text.split())


# --- the real files ------------------------------------------------------------------------------


def test_docx_text_in_order_with_table_rows_and_a_merged_cell_once() -> None:
    a = read("notice.docx")
    assert (a.kind, a.status, a.reason, a.size) == ("docx", "ok", "", len(data("notice.docx")))
    lines = a.text.splitlines()
    assert lines[0] == TITLE
    assert lines[1] == "各省、自治区、直辖市网信办、通信管理局、公安厅（局）、市场监管局："
    assert "当事人名称\t行政处罚决定书文号\t违法行为类型\t行政处罚内容\t作出决定机关" in lines
    assert (
        "广发银行股份有限公司\t银罚决字〔2026〕104号\t违反金融统计管理规定\t"
        "警告，没收违法所得1.621747万元，罚款1712.4万元\t中国人民银行"
    ) in lines
    assert lines[-1] == "公示期限：五年"  # merged across five columns, written once


def test_pdf_text_layer_is_read() -> None:
    a = read("notice.pdf")
    assert (a.kind, a.status, a.reason) == ("pdf", "ok", "")
    text = squeeze(a.text)
    assert text.startswith(squeeze(TITLE))
    assert "广发银行股份有限公司" in text
    assert "罚款1712.4万元" in text
    assert "Onlinelendingapps" in text


def test_owner_restricted_pdf_is_decrypted_and_read() -> None:
    a = read("notice-restricted.pdf")
    assert PdfReader(FIXTURES / "notice-restricted.pdf").is_encrypted
    assert (a.status, squeeze(a.text)) == ("ok", squeeze(read("notice.pdf").text))


def test_password_pdf_is_skipped_with_the_reason() -> None:
    a = read("notice-password.pdf")
    assert (a.kind, a.status, a.text) == ("pdf", "skipped", "")
    assert a.reason == "encrypted PDF (password required)"


def test_truncated_pdf_fails_with_the_reason() -> None:
    a = read("notice-truncated.pdf")
    assert (a.kind, a.status, a.text) == ("pdf", "failed", "")
    assert a.reason.startswith("malformed PDF: ")


def test_scanned_pdf_has_no_text_layer() -> None:
    a = read("scanned.pdf")
    assert (a.kind, a.status, a.text) == ("pdf", "skipped", "")
    assert a.reason == "text not extracted: no text layer (scanned?), 1 of 1 pages are images"


@pytest.mark.parametrize(
    ("name", "kind", "said"),
    [
        ("notice.doc", "doc", "Word 97-2003"),
        ("penalties.xls", "xls", "spreadsheets"),
        ("scan.png", "image", "no OCR"),
    ],
)
def test_unread_kinds_are_recorded_with_a_reason(name: str, kind: str, said: str) -> None:
    a = read(name)
    assert (a.kind, a.status, a.text) == (kind, "skipped", "")
    assert a.reason.startswith("text not extracted: ") and said in a.reason


def test_zip_bomb_docx_is_refused_before_parsing() -> None:
    a = read("bomb.docx")
    assert (a.kind, a.status, a.text) == ("docx", "skipped", "")
    assert "word/document.xml expands" in a.reason and "ZIP bomb" in a.reason
    tight = check_zip(data("bomb.docx"), replace(INLINE, max_unpacked=10 * 1024 * 1024))
    assert tight is not None and "unpacked (limit 10485760)" in tight
    assert check_zip(data("notice.docx"), INLINE) is None


def test_zip_with_too_many_members_is_refused() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("word/document.xml", "<x/>")
        for i in range(5):
            zf.writestr(f"word/media/{i}.png", b"x")
    a = read_attachment(buf.getvalue(), BASE + "a.docx", bounds=replace(INLINE, max_members=3))
    assert (a.kind, a.status) == ("docx", "skipped")
    assert a.reason == "refused: 6 ZIP members (limit 3)"


def test_malformed_docx_fails_with_the_reason() -> None:
    a = read("broken.docx")
    assert (a.kind, a.status) == ("docx", "failed")
    assert a.reason.startswith("malformed DOCX: XMLSyntaxError")


# --- identification ------------------------------------------------------------------------------


def test_magic_bytes_beat_a_wrong_content_type_and_a_jsp_url() -> None:
    url = "https://www.cac.gov.cn/cms/cmsadmin/infopub/downloadfile.jsp?filepath=/x&fText=认定方法"
    a = read("notice.pdf", url=url, content_type="text/html; charset=utf-8")
    assert (a.kind, a.status, a.name) == ("pdf", "ok", "认定方法")
    b = read("notice.docx", url=BASE + "2021122710441936595.wps", content_type="application/kswps")
    assert (b.kind, b.status) == ("docx", "ok")  # WPS can save DOCX under a .wps name


@pytest.mark.parametrize(
    ("disposition", "url", "content_type", "kind"),
    [
        ("attachment; filename*=UTF-8''%E9%80%9A%E7%9F%A5.wps", BASE + "dl", OCTET, "wps"),
        ('attachment; filename="a.xls"', BASE + "dl", OCTET, "xls"),
        (None, BASE + "2021122710441936595.wps", OCTET, "wps"),
        (None, BASE + "dl", "application/msword", "doc"),
        (None, BASE + "dl", "application/vnd.ms-excel", "xls"),
        (None, BASE + "dl", OCTET, "ole"),
    ],
)
def test_ole_files_are_told_apart_by_name_then_url_then_content_type(
    disposition: str | None, url: str, content_type: str, kind: str
) -> None:
    ident = identify(data("notice.doc"), url, content_type, disposition)
    assert (ident.magic, ident.kind) == ("ole", kind)
    a = read_attachment(data("notice.doc"), url, content_type, disposition, bounds=INLINE)
    assert (a.kind, a.status) == (kind, "skipped")


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("attachment; filename*=UTF-8''%E9%80%9A%E7%9F%A5.pdf; filename=\"x.pdf\"", "通知.pdf"),
        ("attachment; filename*=GBK''%CD%A8%D6%AA.pdf", "通知.pdf"),
        ('attachment; filename="App%E8%BF%9D%E6%B3%95.pdf"', "App违法.pdf"),
        # raw header bytes arrive decoded as Latin-1 (httpx, http.client)
        (
            'attachment; filename="' + "附件1：通知.doc".encode("gbk").decode("latin-1") + '"',
            "附件1：通知.doc",
        ),
        ('attachment; filename="' + "通知.doc".encode("gbk").decode("latin-1") + '"', "通知.doc"),
        ('attachment; filename="' + "通知.doc".encode().decode("latin-1") + '"', "通知.doc"),
        ('attachment; filename="C:\\\\temp\\\\a b.pdf"', "a b.pdf"),
        ("filename=plain.pdf", "plain.pdf"),
        ("inline", None),
        (None, None),
    ],
)
def test_content_disposition_file_names(header: str | None, name: str | None) -> None:
    assert disposition_filename(header) == name


def test_names_and_kinds_from_urls() -> None:
    cac = (
        "https://www.cac.gov.cn/cms/cmsadmin/infopub/downloadfile.jsp"
        "?filepath=/2019-12/30/1578986455686625.pdf&fText=App违法违规收集使用个人信息行为认定方法"
    )
    assert url_name(cac) == ("App违法违规收集使用个人信息行为认定方法", "pdf")
    pboc = "https://www.pbc.gov.cn/tiaofasi/resource/cms/2021/06/%E6%B0%91%E6%B3%95%E5%85%B8.docx"
    assert url_name(pboc) == ("民法典.docx", "docx")
    assert url_name("https://www.nfra.gov.cn/chinese/OFFICE/PDF/1263776.pdf") == (
        "1263776.pdf",
        "pdf",
    )
    assert url_name("https://x/download.aspx?id=3") == ("download.aspx", None)


def test_name_hint_comes_after_the_disposition_and_before_the_url() -> None:
    hint = "附件1 中国人民银行负责反洗钱监管的法人金融机构名单.pdf"
    a = read("notice.pdf", url=BASE + "2025102416463765348.pdf", name_hint=hint)
    assert a.name == hint
    b = read("notice.pdf", name_hint=hint, disposition="attachment; filename=real.pdf")
    assert b.name == "real.pdf"


def test_sniff_families() -> None:
    assert sniff(data("notice.pdf")) == "pdf"
    assert sniff(b"garbage\n%PDF-1.4\n") == "pdf"  # junk before the header still counts
    assert sniff(data("notice.docx")) == "docx"
    assert sniff(data("notice.doc")) == "ole"
    assert sniff(data("scan.png")) == "image"
    assert sniff(b"\xff\xd8\xff\xe0\x00\x10JFIF") == "image"
    assert sniff(b"PK\x03\x04 not really a zip") == "zip"
    assert sniff(b"\xef\xbb\xbf<!DOCTYPE html><html>") == "html"
    assert sniff(b"plain words") is None


def test_text_and_html_attachments_are_read() -> None:
    page = "<html><body><h1>通知</h1><p>网络小额贷款</p></body></html>".encode("gb18030")
    a = read_attachment(page, BASE + "x.htm", "text/html; charset=gbk", bounds=INLINE)
    assert (a.kind, a.status, a.text) == ("html", "ok", "通知 网络小额贷款")
    b = read_attachment("一、总则\n".encode(), BASE + "readme.txt", bounds=INLINE)
    assert (b.kind, b.status, b.text) == ("text", "ok", "一、总则")


def test_unknown_bytes_are_skipped() -> None:
    a = read_attachment(b"\x00\x01binary", BASE + "get?id=1", OCTET, bounds=INLINE)
    assert (a.kind, a.status, a.reason) == (
        "unknown",
        "skipped",
        "text not extracted: unrecognised file type",
    )


def test_an_html_page_instead_of_a_document_fails_and_names_a_challenge() -> None:
    a = read_attachment(WZWS.read_bytes(), BASE + "2021122710441936595.pdf", bounds=INLINE)
    assert (a.kind, a.status) == ("html", "failed")
    assert a.reason == "expected a pdf file, the server sent a WZWS challenge (classic)"
    error = b"<!DOCTYPE html><html><body>404 Not Found</body></html>"
    b = read_attachment(error, BASE + "x.docx", "text/html", bounds=INLINE)
    assert b.reason == "expected a docx file, the server sent an HTML page"


def test_size_cap_refuses_without_parsing() -> None:
    big = b"%PDF-1.7\n" + b"0" * (4 * 1024 * 1024)  # just over the default 4 MiB
    a = read_attachment(big, BASE + "big.pdf", bounds=INLINE)
    assert (a.kind, a.status, a.size) == ("pdf", "skipped", len(big))
    assert a.reason == f"refused: {len(big)} bytes, over the 4194304-byte cap"
    small = read("notice.pdf", bounds=replace(INLINE, max_bytes=1000))
    assert (small.status, small.text) == ("skipped", "")
    assert read_attachment(b"", BASE + "a.pdf", bounds=INLINE).reason == "empty file"


def test_page_and_character_bounds() -> None:
    writer = PdfWriter()
    page = PdfReader(FIXTURES / "notice.pdf").pages[0]
    for _ in range(5):
        writer.add_page(page)
    buf = io.BytesIO()
    writer.write(buf)
    a = read_attachment(buf.getvalue(), BASE + "five.pdf", bounds=replace(INLINE, max_pages=2))
    assert a.status == "ok" and a.reason == "first 2 of 5 pages"
    assert squeeze(a.text).count("广发银行股份有限公司") == 2
    cut = read("notice.docx", bounds=replace(INLINE, max_chars=40))
    assert (cut.status, len(cut.text), cut.reason) == ("ok", 40, "text cut at 40 characters")
    assert cut.text == read("notice.docx").text[:40]


# --- the worker process --------------------------------------------------------------------------


def _sleep(seconds: float) -> str:
    time.sleep(seconds)
    return "woke"


def _raise() -> None:
    raise ValueError("bad input")


def _exit() -> None:
    os._exit(3)


def _allocate(size: int) -> int:
    return len(bytearray(size))


def test_worker_returns_the_result_and_reports_errors() -> None:
    assert run_bounded(_sleep, (0,), timeout=30) == "woke"
    with pytest.raises(WorkerError, match="extraction failed: ValueError: bad input"):
        run_bounded(_raise, (), timeout=30)
    with pytest.raises(WorkerError, match=r"worker died \(exit code 3\)"):
        run_bounded(_exit, (), timeout=30)


def test_worker_is_stopped_at_the_deadline() -> None:
    started = time.monotonic()
    with pytest.raises(WorkerError, match="took longer than 1s and was stopped"):
        run_bounded(_sleep, (60,), timeout=1)
    assert time.monotonic() - started < 30  # killed, not waited for


def test_worker_memory_is_limited() -> None:
    with pytest.raises(WorkerError, match=r"ran out of memory \(limit 512 MiB\)"):
        run_bounded(_allocate, (1024 * 1024 * 1024,), timeout=30, memory=512 * 1024 * 1024)


def test_worker_mode_gives_the_same_result_as_in_process() -> None:
    bounded = read("notice.pdf", bounds=Bounds())
    assert bounded == read("notice.pdf")
    failed = read("notice-truncated.pdf", bounds=Bounds())
    assert failed == read("notice-truncated.pdf")


def test_async_reading_in_a_thread() -> None:
    a = asyncio.run(read_attachment_async(data("notice.docx"), BASE + "notice.docx", bounds=INLINE))
    assert a == read("notice.docx")
