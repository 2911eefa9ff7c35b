"""Recognise responses that are not the content we asked for, before any parser sees them.

Each check raises a ``FetchError`` subclass whose reason names the cause: an anti-bot challenge
(``blocked``), an Angular/empty shell or the wrong format (``layout-changed``).
"""

from __future__ import annotations

import re

from pipeline.errors import BlockedError, LayoutChangedError

# (regex over the first bytes of the body, human-readable cause)
_CHALLENGES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"wzws(?:question|cid|challenge|confirm|vtime)|/WZWS", re.I), "WZWS"),
    (re.compile(r"请开启\s*JavaScript|开启JavaScript并刷新", re.I), "请开启JavaScript"),
    (re.compile(r"<title>\s*(?:安全验证|验证码|访问验证|人机验证)", re.I), "验证码 page"),
    (
        re.compile(r"<title>[^<]*(?:访问被拒绝|访问被阻断|Access Denied)", re.I),
        "access denied page",
    ),
    (re.compile(r"Just a moment\.\.\.|cf-challenge|__cf_chl_", re.I), "Cloudflare challenge"),
    (re.compile(r"\$_ts\s*=\s*window\["), "Ruishu dynamic-cookie script"),
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


def challenge(text: str, status: int) -> str | None:
    """The name of the anti-bot challenge in this response, if any."""
    head = text[:SNIFF]
    low = head.lower()
    if not any(hint in low for hint in _HINTS):
        return "HTTP 412 cookie page" if status == 412 else None
    causes = [cause for pattern, cause in _CHALLENGES if pattern.search(head)]
    if causes:
        return " ".join(dict.fromkeys(causes))
    if status == 412:
        return "HTTP 412 cookie page"
    return None


def check_blocked(text: str, status: int, source_id: str) -> None:
    cause = challenge(text, status)
    if cause is not None:
        raise BlockedError(source_id, f"anti-bot challenge ({cause})", http_status=status)


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
