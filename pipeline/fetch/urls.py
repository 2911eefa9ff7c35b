"""Canonical URLs for identity: resolved, scheme/host lower-cased, default port dropped,
tracking parameters stripped. A fragment is dropped unless it routes a single-page app (``#/``
or ``#!``: ``/#/news/1`` and ``/#/news/2`` are two pages). Protocol-relative ``//host/path`` takes
the base's scheme.

Identity changes must not re-key stored items: ``legacy`` gives what the previous rule (every
fragment dropped) made of a canonical URL, so the caller can recognise an item stored under it.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

TRACKING_PREFIXES = ("utm_", "mc_", "_hs", "pk_", "wt.")
TRACKING_PARAMS = frozenset(
    {
        "spm",
        "fbclid",
        "gclid",
        "dclid",
        "yclid",
        "msclkid",
        "igshid",
        "ref_src",
        "share_token",
        "sharesource",
        "share_from",
        "wfr",
        "scene",
        "from_source",
        "tt_from",
        "cmpid",
    }
)
_DEFAULT_PORTS = {"http": 80, "https": 443}
ROUTES = ("/", "!")  # fragments that route a single-page app, kept in canonical URLs
_TRACKING_HINT = re.compile(
    r"(?:^|&)(?:"
    + "|".join(re.escape(p) for p in TRACKING_PREFIXES)
    + "|"
    + "|".join(re.escape(p) for p in TRACKING_PARAMS)
    + ")",
    re.I,
)


def _is_tracking(key: str) -> bool:
    low = key.lower()
    return low in TRACKING_PARAMS or low.startswith(TRACKING_PREFIXES)


def canonical(url: str, base: str | None = None, *, https: bool = False) -> str | None:
    """The canonical absolute http(s) URL, or None for javascript:, mailto: and the like."""
    url = url.strip()
    if not url:
        return None
    if base and not url.startswith(("http://", "https://")):
        url = urljoin(base, url)
    elif url.startswith("//"):
        url = "https:" + url
    return _canonical(url, https)


@lru_cache(maxsize=8192)
def _canonical(url: str, https: bool) -> str | None:
    try:
        parts = urlsplit(url)
        port = parts.port if ":" in parts.netloc.rsplit("@", 1)[-1].rsplit("]", 1)[-1] else None
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    if https:
        scheme = "https"
    host = parts.hostname.rstrip(".")
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    query = parts.query
    if query and _TRACKING_HINT.search(query):
        pairs = parse_qsl(query, keep_blank_values=True)
        kept = [(k, v) for k, v in pairs if not _is_tracking(k)]
        if len(kept) != len(pairs):
            query = urlencode(kept)
    path = parts.path or "/"
    fragment = parts.fragment if parts.fragment.startswith(ROUTES) else ""
    return urlunsplit((scheme, host, path, query, fragment))


def legacy(url: str) -> str:
    """The canonical URL as the previous rule made it: without any fragment."""
    return url.split("#", 1)[0]
