"""Secrets never travel into reasons or logs: URL credentials and secret-looking query values.

``url("https://u:p@host/x?token=abc&page=2")`` -> ``"https://host/x?token=***&page=2"``;
``text(s)`` does the same to every URL inside a message (an exception's text, a reason).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"
_SECRET_KEY = re.compile(
    r"token|secret|passw|pwd|api[-_]?key|apikey|access[-_]?key|auth|sig|session|credential"
    r"|private|ticket|^key$|^code$|^sid$",
    re.I,
)
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")


def secret_key(name: str) -> bool:
    return bool(_SECRET_KEY.search(name))


def url(value: str) -> str:
    """The URL without user info and with secret-looking query values masked."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return _URL.sub(MASK, value)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = netloc.rsplit("@", 1)[1]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(secret_key(k) for k, _ in pairs):
            query = urlencode([(k, MASK if secret_key(k) else v) for k, v in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def text(message: str) -> str:
    """Every URL in ``message`` passed through ``url``."""
    if "://" not in message:
        return message
    return _URL.sub(lambda m: url(m.group(0)), message)
