"""The WZWS (网宿 "网站卫士") anti-bot challenge: recognise it, read it, answer it. No I/O.

Why over plain HTTP: www.pbc.gov.cn answers non-browser clients with the *classic* challenge, a
200 page whose script holds ``dynamicurl``, ``wzwsquestion``, ``wzwsfactor``, ``wzwsmethod`` and
``wzwsparams`` (plain ``var`` assignments or a packed ``eval(function(p,a,c,k,e,r)…)`` script).
The browser computes ``n = sum(char codes of wzwsquestion) * wzwsfactor + 111111`` and goes to
``dynamicurl?wzwschallenge=base64("WZWS_CONFIRM_PREFIX_LABEL" + n)``; the server then sets the
clearance cookie and redirects to the original page. Public scrapers of the site do the same;
the algorithm and the test vectors are in tests/fixtures/wzws/ with their provenance.

Newer variants (the ``wzws-waf-cgi`` page posting a fingerprint to ``/waf_zw_verify``, the text
and slider captchas, the hard 403 block, 360's look-alike HTTP 493 page, the legacy
``wzwstemplate`` page) are recognised by their markers and returned as ``Unsolvable`` naming the
variant, so a source reports ``blocked`` with a reason instead of "no news".

    recognise(status, body) -> Classic | Unsolvable | None
    confirm(challenge, page_url) -> Confirm      (the one request that answers it)
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode, urljoin

from pipeline.fetch.jspack import UnpackError, js_string, unpack_all

log = logging.getLogger(__name__)

LABEL = "WZWS_CONFIRM_PREFIX_LABEL"
OFFSET = 111111  # 0x1b207 in the page's obfuscated solver
SNIFF = 64_000  # challenge pages are a few KB; never scan a whole large page
_VAR = re.compile(
    r"\bvar\s+(?P<name>[A-Za-z_$][\w$]*)\s*=\s*"
    r"(?P<value>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|-?\d+(?:\.\d+)?)"
)
_CLASSIC_NAMES = ("dynamicurl", "wzwsquestion", "wzwsfactor")
_HINTS = ("wzws", "waf_", "拖动滑块")  # a cheap first pass: every marker below has one of these
# Placeholders left in the template when the original request was a GET.
_PLACEHOLDERS = frozenset({"WZWS_METHOD", "WZWS_PARAMS"})


@dataclass(frozen=True, slots=True)
class Classic:
    """A solvable classic challenge. ``method`` is "get" or "post"; ``params`` is the original
    form body for "post" (``k=v&k=v``), empty otherwise; ``packed`` says where the values were."""

    dynamicurl: str
    question: str
    factor: int
    method: str = "get"
    params: str = ""
    packed: bool = False

    variant = "classic"

    @property
    def target(self) -> str | None:
        """The original path and query that ``dynamicurl`` encodes (for logs and checks)."""
        return original_target(self.dynamicurl)


@dataclass(frozen=True, slots=True)
class Unsolvable:
    """A challenge this module does not answer; ``variant`` is a short stable name."""

    variant: str
    reason: str


@dataclass(frozen=True, slots=True)
class Confirm:
    """The request that answers a classic challenge, as the page's own script would send it."""

    method: str  # "GET" or "POST"
    url: str
    referer: str
    form: tuple[tuple[str, str], ...] = ()

    def body(self) -> bytes | None:
        return urlencode(self.form).encode("ascii") if self.method == "POST" else None

    def headers(self) -> dict[str, str]:
        headers = {"Referer": self.referer}
        if self.method == "POST":
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        return headers


def answer(question: str, factor: int) -> str:
    """The ``wzwschallenge`` value: base64 of the label and ``sum(codes) * factor + 111111``.

    JavaScript's ``charCodeAt`` counts UTF-16 code units; questions are ASCII in every sample,
    but a non-BMP character is counted as its two surrogates to stay faithful."""
    units = question.encode("utf-16-le")
    total = sum(int.from_bytes(units[i : i + 2], "little") for i in range(0, len(units), 2))
    n = total * factor + OFFSET
    return base64.b64encode(f"{LABEL}{n}".encode("ascii")).decode("ascii")


def original_target(dynamicurl: str) -> str | None:
    """``/WZWSRE`` + base64(path and query) -> the path and query, or None if it is not one."""
    if not dynamicurl.startswith("/WZWSRE"):
        return None
    encoded = dynamicurl[len("/WZWSRE") :].split("?", 1)[0]
    try:
        return base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None


def dynamic_url(target: str) -> str:
    """The ``dynamicurl`` the server writes for an original path and query (the inverse)."""
    return "/WZWSRE" + base64.b64encode(target.encode("utf-8")).decode("ascii")


def variables(text: str) -> tuple[dict[str, str], bool]:
    """The ``var name = value`` assignments of the page, packed scripts unpacked; and whether
    any came from a packed script. The first assignment of a name wins."""
    found: dict[str, str] = {}
    packed = False
    for source, from_packed in [(text, False), *((u, True) for u in unpack_all(text))]:
        for m in _VAR.finditer(source):
            name, raw = m["name"], m["value"]
            if name in found:
                continue
            found[name] = js_string(raw) if raw[0] in "'\"" else raw
            packed = packed or (from_packed and name in _CLASSIC_NAMES)
    return found, packed


def _variant(status: int, text: str, low: str, powered_by: bool) -> Unsolvable | None:
    """The unsolvable variants, by the markers public clients and WAF detectors use."""
    if status == 493 or powered_by:
        return Unsolvable("360wzb", f"360 网站卫士 block page (HTTP {status})")
    if status == 403 and ("reason:urlacl" in low or "-waf02" in low or "eventid:" in low):
        return Unsolvable("hard-block", "WZWS hard block (HTTP 403, reason:UrlACL): IP refused")
    if "waf_zw_verify" in low or ("wzws-waf-cgi" in low and "wzwsquestion" in low):
        return Unsolvable(
            "waf-zw-verify",
            "WZWS wzws-waf-cgi variant (fingerprint posted to /waf_zw_verify): needs a browser",
        )
    if "waf_text_captcha" in low or "waf_text_verify" in low:
        return Unsolvable("text-captcha", "WZWS text captcha (访问验证, /waf_text_captcha)")
    if "waf_slider" in low or "拖动滑块" in text:
        return Unsolvable("slider", "WZWS slider captcha (拖动滑块)")
    return None


def recognise(
    status: int, body: bytes | str, headers: Mapping[str, str] | None = None
) -> Classic | Unsolvable | None:
    """What kind of WZWS challenge this response is, or None when it is none.

    ``headers`` are the response headers with lower-case names (only ``x-powered-by-360wzb``
    is read). Only WZWS-specific markers count: a normal PBOC page also carries a
    ``<noscript>请开启JavaScript…</noscript>``, which alone is not a challenge."""
    text = body[:SNIFF].decode("utf-8", "replace") if isinstance(body, bytes) else body[:SNIFF]
    low = text.lower()
    powered_by = "x-powered-by-360wzb" in (headers or {})  # 360's header (wafw00f's rule)
    if not any(hint in low for hint in _HINTS) and status not in (403, 493) and not powered_by:
        return None
    found = _variant(status, text, low, powered_by)
    if found is not None:
        return found
    if "wzws" not in low:
        return None
    try:
        values, packed = variables(text)
    except UnpackError as e:
        return Unsolvable("unreadable", f"WZWS challenge script cannot be unpacked: {e}")
    if "wzwschallengex" in values or ("template" in values and "wzwschallenge" in values):
        return Unsolvable(
            "legacy-template", "legacy WZWS template challenge (wzwstemplate cookie): not supported"
        )
    missing = [n for n in _CLASSIC_NAMES if n not in values]
    if missing:
        if "wzwsquestion" in low or "/wzwsre" in low:
            return Unsolvable(
                "unreadable", f"WZWS challenge without {', '.join(missing)} in its scripts"
            )
        return None  # a page that merely mentions wzws (e.g. a cookie name in a script)
    try:
        factor = int(values["wzwsfactor"])
    except ValueError:
        return Unsolvable("unreadable", f"WZWS factor is not a number: {values['wzwsfactor']!r}")
    method = values.get("wzwsmethod", "get")
    params = values.get("wzwsparams", "")
    is_post = method.strip().lower() == "post"
    return Classic(
        dynamicurl=values["dynamicurl"],
        question=values["wzwsquestion"],
        factor=factor,
        method="post" if is_post else "get",
        params=params if is_post and params not in _PLACEHOLDERS else "",
        packed=packed,
    )


def form_fields(params: str) -> tuple[tuple[str, str], ...]:
    """``wzwsparams`` as the page's script turns it into hidden inputs: split on ``&`` then on
    the first ``=``, values taken as they are (the browser form-encodes them when posting)."""
    fields: list[tuple[str, str]] = []
    for pair in params.split("&"):
        if pair:
            name, _, value = pair.partition("=")
            fields.append((name, value))
    return tuple(fields)


def confirm(challenge: Classic, page_url: str) -> Confirm:
    """The answering request: ``dynamicurl?wzwschallenge=<answer>`` resolved against the page,
    with the page as Referer; for ``post`` a form POST of the original parameters.

    The answer is appended as is (``+``, ``/`` and ``=`` unescaped), as the page's
    ``window.location = dynamicurl + "?wzwschallenge=" + answer`` does."""
    joiner = "&" if "?" in challenge.dynamicurl else "?"
    solved = answer(challenge.question, challenge.factor)
    url = urljoin(page_url, f"{challenge.dynamicurl}{joiner}wzwschallenge={solved}")
    if challenge.method == "post":
        return Confirm("POST", url, page_url, form_fields(challenge.params))
    return Confirm("GET", url, page_url)
