"""Recognise responses that are not the content we asked for, before any parser sees them.

Each check raises a ``FetchError`` subclass whose reason names the cause: an anti-bot challenge
(``blocked``), an Angular/empty shell or the wrong format (``layout-changed``). Challenge markers
are strong (WZWS, Cloudflare, Ruishu, HTTP 412: blocked regardless) or weak (``请开启JavaScript``,
a 验证码 title: blocked only when the page does not parse to enough items).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.errors import BlockedError, LayoutChangedError

# (regex over the first bytes of the body, human-readable cause, strong). A strong marker only
# appears on challenge pages; a weak one also on normal pages (PBOC lists carry a
# ``<noscript>…请开启JavaScript后浏览</noscript>``): it counts only when the page yields no items.
_CHALLENGES: tuple[tuple[re.Pattern[str], str, bool], ...] = (
    (re.compile(r"wzws(?:question|cid|_cid|challenge|confirm|vtime)|/WZWS", re.I), "WZWS", True),
    (re.compile(r"请开启\s*JavaScript|开启JavaScript并刷新", re.I), "请开启JavaScript", False),
    (re.compile(r"<title>\s*(?:安全验证|验证码|访问验证|人机验证)", re.I), "验证码 page", False),
    (
        re.compile(r"<title>[^<]*(?:访问被拒绝|访问被阻断|Access Denied)", re.I),
        "access denied page",
        False,
    ),
    (
        re.compile(r"Just a moment\.\.\.|cf-challenge|__cf_chl_", re.I),
        "Cloudflare challenge",
        True,
    ),
    (re.compile(r"\$_ts\s*=\s*window\["), "Ruishu dynamic-cookie script", True),
)
_SHELL_MARKERS = re.compile(
    r"ng-app|ng-bind|\{\{\s*data\.|<app-root>\s*</app-root>|<div id=\"(?:app|root)\">\s*</div>",
    re.I,
)
_TAGS = re.compile(r"<script\b.*?</script>|<style\b.*?</style>|<[^>]+>", re.S | re.I)
_HTML_START = re.compile(
    r"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b", re.I | re.S
)
SNIFF = 20_000


# Lower-case substrings, one of which every pattern above needs: a cheap first pass.
_HINTS = (
    "wzws",
    "javascript",
    "验证",
    "访问",
    "access denied",
    "just a moment",
    "cf-ch",
    "cf_chl",
    "$_ts",
)


@dataclass(frozen=True, slots=True)
class Challenge:
    cause: str
    strong: bool  # blocked whatever the page contains; weak: only when it yields no items


def find_challenge(text: str, status: int) -> Challenge | None:
    """The anti-bot challenge markers in this response, if any."""
    head = text[:SNIFF]
    low = head.lower()
    if not any(hint in low for hint in _HINTS):
        return Challenge("HTTP 412 cookie page", True) if status == 412 else None
    found = [(cause, strong) for pattern, cause, strong in _CHALLENGES if pattern.search(head)]
    if found:
        causes = " ".join(dict.fromkeys(cause for cause, _strong in found))
        return Challenge(causes, status == 412 or any(strong for _cause, strong in found))
    if status == 412:
        return Challenge("HTTP 412 cookie page", True)
    return None


def challenge(text: str, status: int) -> str | None:
    """The name of the anti-bot challenge in this response (strong or weak markers), if any."""
    found = find_challenge(text, status)
    return None if found is None else found.cause


def blocked(found: Challenge, source_id: str, status: int) -> BlockedError:
    return BlockedError(source_id, f"anti-bot challenge ({found.cause})", http_status=status)


def check_blocked(text: str, status: int, source_id: str, *, weak: bool = True) -> None:
    """Raise BlockedError for a challenge; with ``weak=False`` only for strong markers (the
    caller then decides about weak ones after trying to read the page)."""
    found = find_challenge(text, status)
    if found is not None and (weak or found.strong):
        raise blocked(found, source_id, status)


def visible_text(html: str) -> str:
    return " ".join(_TAGS.sub(" ", html).split())


def looks_like_html(text: str) -> bool:
    return bool(_HTML_START.match(text[:2000]))


def check_shell(text: str, source_id: str, *, min_text: int = 40) -> None:
    """An Angular template or a page with (almost) no visible text is a shell, not content."""
    if _SHELL_MARKERS.search(text[:SNIFF]):
        raise LayoutChangedError(source_id, "JavaScript shell page (Angular template), no content")
    if len(visible_text(text)) < min_text:
        raise LayoutChangedError(source_id, "empty page shell (almost no visible text)")
