"""Rebuild tests/fixtures/attachments/ (the committed files are what the tests read).

Needs python-docx and pypdf (lendwatch's own dependencies) and, for the PDF, DOC, XLS and the
scanned page, Debian's LibreOffice (libreoffice-writer-nogui, libreoffice-calc-nogui, a CJK
font such as fonts-wqy-zenhei) and Chromium. Run: ``python scripts/make_attachment_fixtures.py``.
The output is not byte-for-byte reproducible (LibreOffice stamps dates and ids); the tests only
depend on the text and structure, which are.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

import docx
from docx.shared import Cm
from pypdf import PdfReader, PdfWriter

OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "attachments"
# A real CAC title (2019-12-30) and a real PBOC penalty row (银罚决字〔2026〕104号, 2026-09-24).
TITLE = "关于印发《App违法违规收集使用个人信息行为认定方法》的通知"
ADDRESSEES = "各省、自治区、直辖市网信办、通信管理局、公安厅（局）、市场监管局："
HEADER = ["当事人名称", "行政处罚决定书文号", "违法行为类型", "行政处罚内容", "作出决定机关"]
ROW = [
    "广发银行股份有限公司",
    "银罚决字〔2026〕104号",
    "违反金融统计管理规定",
    "警告，没收违法所得1.621747万元，罚款1712.4万元",
    "中国人民银行",
]


def soffice(src: Path, fmt: str, outdir: Path) -> Path:
    profile = Path(tempfile.mkdtemp(prefix="lo-profile-"))
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            "--convert-to",
            fmt,
            "--outdir",
            str(outdir),
            str(src),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    shutil.rmtree(profile, ignore_errors=True)
    return outdir / f"{src.stem}.{fmt}"


def notice_docx(path: Path) -> None:
    doc = docx.Document()
    doc.add_heading(TITLE, level=1)
    doc.add_paragraph(ADDRESSEES)
    doc.add_paragraph("附件：App违法违规收集使用个人信息行为认定方法")
    doc.add_paragraph("Online lending apps: personal information collected without consent.")
    table = doc.add_table(rows=3, cols=len(HEADER))
    for i, text in enumerate(HEADER):
        table.cell(0, i).text = text
    for i, text in enumerate(ROW):
        table.cell(1, i).text = text
    merged = table.cell(2, 0).merge(table.cell(2, len(HEADER) - 1))
    merged.text = "公示期限：五年"
    doc.save(str(path))


def scanned_pdf(work: Path) -> Path:
    """A page that is only a picture of text, as a scanner makes it."""
    html = work / "scan.html"
    html.write_text(
        f"<html><body style='font-size:28px;margin:40px'><p>{TITLE}</p><p>{ADDRESSEES}</p>"
        "</body></html>",
        encoding="utf-8",
    )
    png = work / "scan.png"
    subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={work / 'chrome'}",
            "--window-size=1000,300",
            f"--screenshot={png}",
            html.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    doc = docx.Document()
    doc.add_picture(str(png), width=Cm(16))
    holder = work / "scanned.docx"
    doc.save(str(holder))
    return soffice(holder, "pdf", work)


def encrypted(src: Path, dest: Path, user: str, owner: str, algorithm: str) -> None:
    writer = PdfWriter(clone_from=PdfReader(str(src)))
    writer.encrypt(user_password=user, owner_password=owner, algorithm=algorithm)
    with dest.open("wb") as fh:
        writer.write(fh)


def docx_parts(document_xml: bytes) -> dict[str, bytes]:
    return {
        "[Content_Types].xml": (
            b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            b'<Default Extension="rels" '
            b'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            b'<Default Extension="xml" ContentType="application/xml"/>'
            b'<Override PartName="/word/document.xml" ContentType="application/'
            b'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
        ),
        "_rels/.rels": (
            b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
            b'2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>'
        ),
        "word/document.xml": document_xml,
    }


def write_zip(path: Path, parts: dict[str, bytes]) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    path.write_bytes(buf.getvalue())


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        notice = work / "notice.docx"
        notice_docx(notice)
        shutil.copy(notice, OUT / "notice.docx")
        pdf = soffice(notice, "pdf", work)
        shutil.copy(pdf, OUT / "notice.pdf")
        shutil.copy(soffice(notice, "doc", work), OUT / "notice.doc")
        csv = work / "penalties.csv"
        csv.write_text(",".join(HEADER) + "\n" + ",".join(ROW) + "\n", encoding="utf-8")
        shutil.copy(soffice(csv, "xls", work), OUT / "penalties.xls")
        encrypted(pdf, OUT / "notice-restricted.pdf", "", "owner-secret", "AES-128")
        encrypted(pdf, OUT / "notice-password.pdf", "reader-secret", "owner-secret", "AES-256")
        data = pdf.read_bytes()
        (OUT / "notice-truncated.pdf").write_bytes(data[: len(data) // 2])
        shutil.copy(scanned_pdf(work), OUT / "scanned.pdf")
        shutil.copy(work / "scan.png", OUT / "scan.png")
    ns = b'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    body = b"<w:document " + ns + b"><w:body><w:p><w:r><w:t>"
    bomb = body + b" " * (60 * 1024 * 1024) + b"</w:t></w:r></w:p></w:body></w:document>"
    write_zip(OUT / "bomb.docx", docx_parts(bomb))
    write_zip(OUT / "broken.docx", docx_parts(body + "违法违规".encode() + b"</w:t></w:r><w:p"))


if __name__ == "__main__":
    main()
