"""Credentials out of URLs before they are shown: in ``check-config``, in configuration errors.

``redact_url`` masks the password of ``user:pass@host`` and the query parameters that look like
secrets, by name (token, key, secret, password, signature, ... or a name ending so after a
separator: ``client_secret``, ``X-Amz-Signature``) or by value (a long random-looking string).
A leaf: imports nothing of lendwatch.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit, urlunsplit

MASK = "***"

# a parameter named so, or ending so after a separator (client_secret, X-Amz-Signature)
_SECRET_NAMES = re.compile(
    r"(?i)^(?:.*[-_.])?(?:pass(?:word|wd)?|pwd|secret|token|api[-_]?key|apikey|access[-_]?key"
    r"|key|sig|signature|auth|authorization|credentials?|session(?:id)?|sid|ticket)$"
)
_RANDOM = re.compile(r"^(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9_\-+/=.]{24,}$")


def redact_url(url: str) -> str:
    """The URL with its password and secret-looking query values masked (for display)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user, has_password, _ = userinfo.partition(":")
        netloc = f"{user}:{MASK}@{host}" if has_password else f"{userinfo}@{host}"
    query = "&".join(_masked(piece) for piece in parts.query.split("&")) if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _masked(piece: str) -> str:
    """One ``name=value`` of a query string, its value masked when it looks like a secret."""
    name, equals, value = piece.partition("=")
    if not equals or not value:
        return piece
    decoded = parse_qsl(piece, keep_blank_values=True)
    key, text = decoded[0] if decoded else (name, value)
    return f"{name}={MASK}" if _SECRET_NAMES.match(key) or _RANDOM.match(text) else piece
