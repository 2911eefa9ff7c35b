"""Text out of PDF, DOCX, HTML and plain-text attachments, within bounds. Runs in the worker.

PDF: pypdf (pure Python, no dependencies of its own, maintained; reads the ToUnicode maps of
Word/WPS exports and the predefined Chinese CMaps (GB-EUC, GBK, UniGB); caps decompressed stream
sizes). With cryptography (its ``crypto`` extra) it opens the AES-encrypted "no copying" PDFs
common on government sites. pdfminer.six lays text out better, which keyword classification
does not need. DOCX: python-docx, after the ZIP's declared sizes passed ``check_zip``.

Every function returns an ``Extracted``; hostile or broken input is a status with a reason,
never an exception.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
from dataclasses import dataclass
from typing import Literal

from pipeline.fetch import charset, detect

log = logging.getLogger(__name__)

Status = Literal["ok", "skipped", "failed"]
MIB = 1024 * 1024
_BLANKS = re.compile(r"\n{3,}")
_SPACES = re.compile(r"[ \u3000\xa0]+")  # tabs stay: they separate table cells


@dataclass(frozen=True, slots=True)
class Bounds:
    """How much an attachment may cost. ``max_bytes`` is checked before anything is parsed;
    the ZIP bounds before python-docx opens the file; pages and characters while reading."""

    max_bytes: int = 4 * MIB
    max_unpacked: int = 64 * MIB  # total declared uncompressed size of a DOCX's parts
    max_ratio: int = 200  # declared ratio of one large part (> 1 MiB unpacked)
    max_members: int = 2000
    max_pages: int = 300
    max_chars: int = 300_000
    timeout: float | None = 30.0  # seconds for one extraction in the worker; None: in-process


@dataclass(frozen=True, slots=True)
class Extracted:
    status: Status
    text: str = ""
    reason: str = ""


def tidy(text: str) -> str:
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()


def _cut(text: str, bounds: Bounds, note: str = "") -> Extracted:
    text = tidy(text)
    notes = [note] if note else []
    if len(text) > bounds.max_chars:
        text = text[: bounds.max_chars]
        notes.append(f"text cut at {bounds.max_chars} characters")
    return Extracted("ok", text, "; ".join(notes))


def check_zip(data: bytes, bounds: Bounds) -> str | None:
    """Why this ZIP must not be opened, or None. Reads only the central directory: the sizes
    it declares are what Python's zipfile will inflate at most (it stops at the declared size
    and fails the CRC), so declared sizes bound the real cost."""
    try:
        members = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        return f"malformed ZIP container: {e}"
    if len(members) > bounds.max_members:
        return f"refused: {len(members)} ZIP members (limit {bounds.max_members})"
    total = sum(m.file_size for m in members)
    if total > bounds.max_unpacked:
        return (
            f"refused: declares {total} bytes unpacked (limit {bounds.max_unpacked}), "
            "a ZIP bomb or an oversized document"
        )
    for m in members:
        if m.file_size > MIB and m.file_size > bounds.max_ratio * max(m.compress_size, 1):
            ratio = m.file_size // max(m.compress_size, 1)
            return (
                f"refused: {m.filename} expands {ratio}x ({m.compress_size} -> {m.file_size} "
                f"bytes, limit {bounds.max_ratio}x), a ZIP bomb"
            )
    return None


def _pdf_images(page: object) -> bool:
    try:
        resources = page["/Resources"]  # type: ignore[index]
        xobjects = resources.get("/XObject") or {}
        return any(x.get_object().get("/Subtype") == "/Image" for x in xobjects.values())
    except Exception:  # a page that cannot even say: treat as no image
        return False


def pdf(data: bytes, bounds: Bounds) -> Extracted:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")
            except DependencyError as e:
                return Extracted("skipped", reason=f"encrypted PDF needs cryptography: {e}")
            if not opened:
                return Extracted("skipped", reason="encrypted PDF (password required)")
        total = len(reader.pages)
        pages = reader.pages[: bounds.max_pages]
        texts: list[str] = []
        size = 0
        for page in pages:
            texts.append(page.extract_text() or "")
            size += len(texts[-1])
            if size > bounds.max_chars * 2:  # enough: stop reading pages
                break
        read = len(texts)
    except FileNotDecryptedError:
        return Extracted("skipped", reason="encrypted PDF (password required)")
    except Exception as e:  # pypdf raises many types for broken files
        return Extracted("failed", reason=f"malformed PDF: {type(e).__name__}: {e}")
    text = "\n\n".join(texts)
    if len("".join(text.split())) < 16:
        scanned = sum(_pdf_images(p) for p in pages[:read])
        why = f"{scanned} of {read} pages are images" if scanned else "no text on any page"
        return Extracted("skipped", reason=f"text not extracted: no text layer (scanned?), {why}")
    note = f"first {read} of {total} pages" if read < total else ""
    return _cut(text, bounds, note)


def docx(data: bytes, bounds: Bounds) -> Extracted:
    refused = check_zip(data, bounds)
    if refused is not None:
        return Extracted("skipped" if refused.startswith("refused") else "failed", reason=refused)
    import docx as python_docx
    from docx.table import Table

    try:
        document = python_docx.Document(io.BytesIO(data))
        parts: list[str] = []
        size = 0
        for block in document.iter_inner_content():
            if isinstance(block, Table):
                rows = []
                for row in block.rows:
                    cells: list[str] = []
                    seen: list[object] = []
                    for cell in row.cells:
                        if cell._tc in seen:  # a merged cell repeats in every column it spans
                            continue
                        seen.append(cell._tc)
                        cells.append(cell.text.strip())
                    rows.append("\t".join(cells))
                parts.append("\n".join(rows))
            else:
                parts.append(block.text)
            size += len(parts[-1])
            if size > bounds.max_chars * 2:
                break
    except Exception as e:  # python-docx/lxml/zipfile raise many types for broken files
        return Extracted("failed", reason=f"malformed DOCX: {type(e).__name__}: {e}")
    return _cut("\n".join(parts), bounds)


def html(data: bytes, bounds: Bounds, content_type: str | None = None) -> Extracted:
    text, _encoding = charset.decode(data, content_type)
    return _cut(detect.visible_text(text), bounds)


def plain(data: bytes, bounds: Bounds, content_type: str | None = None) -> Extracted:
    text, _encoding = charset.decode(data, content_type)
    return _cut(text, bounds)


def extract(kind: str, data: bytes, bounds: Bounds, content_type: str | None = None) -> Extracted:
    """Text of a file of ``kind`` (as ``kinds.identify`` named it)."""
    if kind == "pdf":
        return pdf(data, bounds)
    if kind == "docx":
        return docx(data, bounds)
    if kind == "html":
        return html(data, bounds, content_type)
    if kind == "text":
        return plain(data, bounds, content_type)
    return Extracted("skipped", reason=f"text not extracted: {kind} files are not read")
