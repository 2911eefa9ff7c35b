"""Attachments of regulator documents: decide what a downloaded file is and read its text.

Pure with respect to the network and the store: the fetch cycle downloads (within its own size
and time limits), then calls ``read_attachment`` with the bytes and the response headers, and
stores the ``Attachment`` it gets back whatever its status. Nothing here raises for a bad file.

    read_attachment(data, url, content_type, disposition, name_hint=…, bounds=Bounds())
        -> Attachment(name, url, kind, size, text, status "ok" | "skipped" | "failed", reason)
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from pipeline.fetch import wzws
from pipeline.fetch.attachments.extract import Bounds, Extracted, Status, check_zip, extract
from pipeline.fetch.attachments.kinds import Identity, identify
from pipeline.fetch.attachments.worker import WorkerError, run_bounded

__all__ = ["Attachment", "Bounds", "read_attachment", "read_attachment_async"]

log = logging.getLogger(__name__)
DEFAULT_BOUNDS = Bounds()

# Kinds we read; everything else is recorded with "text not extracted" and why.
READABLE = frozenset({"pdf", "docx", "html", "text"})
WHY_NOT = {
    "doc": "Word 97-2003 (.doc) is not read; look for a PDF or DOCX copy",
    "wps": "WPS Writer (.wps) is not read",
    "ole": "an Office 97-2003 file (OLE container) of unknown type is not read",
    "xls": "spreadsheets (.xls/.et) are not read",
    "xlsx": "spreadsheets (.xlsx) are not read",
    "ppt": "presentations are not read",
    "pptx": "presentations are not read",
    "rtf": "RTF is not read",
    "ofd": "OFD documents are not read",
    "image": "an image (no OCR)",
    "zip": "archives are not opened",
    "rar": "archives are not opened",
    "7z": "archives are not opened",
    "unknown": "unrecognised file type",
}


@dataclass(frozen=True, slots=True)
class Attachment:
    name: str
    url: str
    kind: str
    size: int
    text: str
    status: Status
    reason: str = ""


def _mismatch(ident: Identity, data: bytes) -> str | None:
    """An HTML page where a document was expected is an error or challenge page."""
    if ident.kind != "html" or ident.declared in (None, "html", "text"):
        return None
    found = wzws.recognise(200, data)
    what = f"a WZWS challenge ({found.variant})" if found is not None else "an HTML page"
    return f"expected a {ident.declared} file, the server sent {what}"


def read_attachment(
    data: bytes,
    url: str,
    content_type: str | None = None,
    disposition: str | None = None,
    *,
    name_hint: str | None = None,
    bounds: Bounds = DEFAULT_BOUNDS,
) -> Attachment:
    """Identify and read one downloaded attachment. Blocks: with ``bounds.timeout`` set the
    parsing runs in a child process killed after that many seconds."""
    ident = identify(data, url, content_type, disposition, name_hint)

    def done(result: Extracted) -> Attachment:
        if result.status != "ok":
            log.info("attachment %s (%s): %s: %s", ident.name, url, result.status, result.reason)
        return Attachment(
            ident.name, url, ident.kind, len(data), result.text, result.status, result.reason
        )

    if len(data) > bounds.max_bytes:
        over = f"refused: {len(data)} bytes, over the {bounds.max_bytes}-byte cap"
        return done(Extracted("skipped", reason=over))
    if not data:
        return done(Extracted("failed", reason="empty file"))
    wrong = _mismatch(ident, data)
    if wrong is not None:
        return done(Extracted("failed", reason=wrong))
    if ident.kind not in READABLE:
        return done(
            Extracted(
                "skipped", reason=f"text not extracted: {WHY_NOT.get(ident.kind, ident.kind)}"
            )
        )
    if ident.kind == "docx":  # reads only the ZIP directory: no need for the worker
        refused = check_zip(data, bounds)
        if refused is not None:
            return done(
                Extracted("skipped" if refused.startswith("refused") else "failed", "", refused)
            )
    if bounds.timeout is None:
        return done(extract(ident.kind, data, bounds, content_type))
    try:
        result = run_bounded(extract, (ident.kind, data, bounds, content_type), bounds.timeout)
    except WorkerError as e:
        result = Extracted("failed", reason=e.reason)
    return done(result)


async def read_attachment_async(
    data: bytes,
    url: str,
    content_type: str | None = None,
    disposition: str | None = None,
    *,
    name_hint: str | None = None,
    bounds: Bounds = DEFAULT_BOUNDS,
) -> Attachment:
    """``read_attachment`` in a thread, so the event loop keeps downloading meanwhile."""
    return await asyncio.to_thread(
        read_attachment,
        data,
        url,
        content_type,
        disposition,
        name_hint=name_hint,
        bounds=bounds,
    )
