"""Text a message may show: one clean line of item text, an http(s) link or nothing.

A leaf of the digest package (``views``, ``facts`` and ``render`` import it).
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

URL_MAX = 2000


def clean(text: str | None, limit: int) -> str:
    """One line of displayable text, at most ``limit`` characters (``…`` marks a cut)."""
    if not text:
        return ""
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Zl", "Zp", "Zs"):
            out.append(" ")
        elif cat not in ("Cf", "Cs", "Co", "Cn"):
            out.append(ch)
    line = re.sub(r" {2,}", " ", "".join(out)).strip()
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def safe_url(url: str | None) -> str | None:
    if not url:
        return None
    url = "".join(ch for ch in url.strip() if unicodedata.category(ch)[0] != "C" and ch != " ")
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or len(url) > URL_MAX:
        return None
    return url
