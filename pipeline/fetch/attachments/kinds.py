"""What file an attachment is: magic bytes first, then its name, then its Content-Type.

Why this order: regulator servers label files badly. CAC's ``downloadfile.jsp`` sends every file
as ``application/octet-stream`` with the type only in ``Content-Disposition``; PBOC serves
``.wps`` and Chinese-named ``.doc`` files; an error or challenge page comes back as HTML under a
``.pdf`` link. Bytes do not lie about the family (PDF, ZIP, OLE, image); the name then tells the
members of a family apart (an OLE file is ``.doc``, ``.wps`` or ``.xls``), and the Content-Type
is the last resort.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import parse_qsl, unquote, urlsplit

# Extensions we name a kind after; anything else in a URL (.jsp, .aspx) says nothing.
EXTENSIONS = {
    "pdf": "pdf",
    "docx": "docx",
    "doc": "doc",
    "wps": "wps",
    "xls": "xls",
    "xlsx": "xlsx",
    "et": "xls",  # WPS spreadsheet
    "ppt": "ppt",
    "pptx": "pptx",
    "dps": "ppt",  # WPS presentation
    "rtf": "rtf",
    "ofd": "ofd",
    "txt": "text",
    "htm": "html",
    "html": "html",
    "shtml": "html",
    "zip": "zip",
    "rar": "rar",
    "7z": "7z",
    "png": "image",
    "jpg": "image",
    "jpeg": "image",
    "gif": "image",
    "bmp": "image",
    "tif": "image",
    "tiff": "image",
    "webp": "image",
}
CONTENT_TYPES = {
    "application/pdf": "pdf",
    "application/x-pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/msword": "doc",
    "application/kswps": "wps",
    "application/vnd.ms-works": "wps",
    "application/vnd.ms-excel": "xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/vnd.ms-powerpoint": "ppt",
    "application/rtf": "rtf",
    "text/rtf": "rtf",
    "application/ofd": "ofd",
    "text/html": "html",
    "application/xhtml+xml": "html",
    "text/plain": "text",
    "application/zip": "zip",
}
OLE_KINDS = frozenset({"doc", "wps", "xls", "ppt"})
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image"),
    (b"\xff\xd8\xff", "image"),
    (b"GIF87a", "image"),
    (b"GIF89a", "image"),
    (b"II*\x00", "image"),
    (b"MM\x00*", "image"),
    (b"BM", "image"),
    (b"{\\rtf", "rtf"),
    (b"Rar!\x1a\x07", "rar"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
)
_HTML = re.compile(
    rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body|meta)\b", re.I | re.S
)
_PARAM = re.compile(r';\s*([\w*.-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')
_NAME_PARAMS = ("fText", "ftext", "filename", "fileName", "name", "title")


@dataclass(frozen=True, slots=True)
class Identity:
    kind: str  # one of EXTENSIONS' values or "ole", "unknown"
    name: str  # the file name shown to readers (may lack an extension)
    magic: str | None  # what the bytes alone said
    declared: str | None  # what the name, URL or Content-Type said


def sniff(data: bytes) -> str | None:
    """The kind the first bytes prove, or None. ZIP files are told apart by their member names
    (read from the central directory only; nothing is decompressed)."""
    head = data[:1024]
    if b"%PDF-" in head:
        return "pdf"
    if head.startswith(_OLE):
        return "ole"
    if head.startswith(b"PK\x03\x04"):
        return _zip_kind(data)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image"
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if _HTML.match(head.lstrip(b"\xef\xbb\xbf")):
        return "html"
    return None


def _zip_kind(data: bytes) -> str:
    try:
        names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return "zip"
    if "word/document.xml" in names:
        return "docx"
    if "xl/workbook.xml" in names:
        return "xlsx"
    if "ppt/presentation.xml" in names:
        return "pptx"
    if "OFD.xml" in names:
        return "ofd"
    return "zip"


def _repair(text: str) -> str:
    """A header value whose raw bytes were not ASCII reaches us decoded as Latin-1 (httpx and
    the http module do that); such bytes are UTF-8 or, on Chinese servers, GBK."""
    if text.isascii():
        return text
    try:
        raw = text.encode("latin-1")
    except UnicodeEncodeError:
        return text  # already proper Unicode
    # Short GBK names are often valid UTF-8 too (通知 = CD A8 D6 AA reads as "֪ͨ"), but as
    # two-byte sequences (U+0080-U+07FF: Greek, Cyrillic, Hebrew...), while Chinese in UTF-8
    # takes three bytes. A UTF-8 reading without such characters wins; else GB18030.
    try:
        utf8 = raw.decode("utf-8")
        if not any("\u0080" <= ch <= "\u07ff" for ch in utf8):
            return utf8
    except UnicodeDecodeError:
        utf8 = None
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError:
        return utf8 or text


def _percent(text: str) -> str:
    if "%" not in text:
        return text
    try:
        return unquote(text, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        return unquote(text, encoding="gb18030", errors="replace")


def disposition_filename(value: str | None) -> str | None:
    """The file name in a Content-Disposition header: RFC 5987 ``filename*=UTF-8''…`` first,
    then ``filename=`` (quoted or not, percent-encoded or raw UTF-8/GBK bytes)."""
    if not value:
        return None
    params: dict[str, str] = {}
    for m in _PARAM.finditer(";" + value):  # the disposition type has no "=": never a match
        raw = m[2].strip()
        if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        params[m[1].lower()] = raw
    star = params.get("filename*")
    if star:
        charset, _, rest = star.partition("'")
        _lang, _, encoded = rest.partition("'")
        try:
            name = unquote(encoded, encoding=charset or "utf-8", errors="strict")
        except (LookupError, UnicodeDecodeError):
            name = _percent(encoded)
        if name:
            return _basename(name)
    plain = params.get("filename")
    return _basename(_percent(_repair(plain))) if plain else None


def _basename(name: str) -> str:
    return name.replace("\\", "/").rsplit("/", 1)[-1].strip()


def extension_kind(name: str | None) -> str | None:
    if not name or "." not in name:
        return None
    return EXTENSIONS.get(name.rsplit(".", 1)[-1].strip().lower())


def url_name(url: str) -> tuple[str | None, str | None]:
    """(a display name, a kind) from the URL: the last path segment when it has a known
    extension, else a query value that does (``filepath=/2019-12/30/1578986455686625.pdf``);
    the name may come from ``fText=``-like parameters."""
    parts = urlsplit(url)
    segment = _percent(PurePosixPath(parts.path).name)
    query = parse_qsl(parts.query, keep_blank_values=True)
    named = next((v for k, v in query if k in _NAME_PARAMS and v), None)
    kind = extension_kind(segment)
    if kind is None:
        kind = next((extension_kind(v) for _, v in query if extension_kind(v)), None)
    if kind is not None and extension_kind(segment) is not None:
        return segment, kind
    return named or segment or None, kind


def content_type_kind(content_type: str | None) -> str | None:
    if not content_type:
        return None
    return CONTENT_TYPES.get(content_type.split(";", 1)[0].strip().lower())


def identify(
    data: bytes,
    url: str,
    content_type: str | None = None,
    disposition: str | None = None,
    name_hint: str | None = None,
) -> Identity:
    """Kind and name. ``name_hint`` is the link text or the listing's title, used after the
    Content-Disposition name."""
    header_name = disposition_filename(disposition)
    from_url, url_kind = url_name(url)
    declared = (
        extension_kind(header_name)
        or extension_kind(name_hint)
        or url_kind
        or content_type_kind(content_type)
    )
    magic = sniff(data)
    name = header_name or (name_hint.strip() if name_hint else None) or from_url or "attachment"
    if magic == "ole":
        kind = declared if declared in OLE_KINDS else "ole"
    elif magic is not None:
        kind = magic
    else:
        kind = declared or "unknown"
    return Identity(kind, name, magic, declared)
