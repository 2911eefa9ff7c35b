"""Options every kind accepts (``date_format``, ``detail`` …) and their validation; the
``Builder`` that turns each kind's entries into ``Item``s lives in ``builder``."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from pipeline.fetch.datewords import CST_CHOICES
from pipeline.fetch.kind import Option

_HOST = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$")
_ATTR_SELECTOR = re.compile(r"^(.*?)\s*@([\w:-]+)$", re.S)


@functools.cache
def plain_selector() -> re.Pattern[str]:
    """A conservative grammar of the CSS selectors configurations use (tags, classes, ids,
    attributes, combinators, lists, ``:nth-*(N)``, ``:first-child`` …, ``:has(> …)``). A selector
    it accepts is valid for soupsieve (``tests/test_fetch_units.py`` holds that on a corpus);
    anything else goes to soupsieve, whose import and first compile cost about 0.3 s of every
    command that loads the configuration. Compiled on first use (itself about 50 ms): a
    configuration without selectors never pays for it."""
    ident = r"-?[_a-zA-Z][_a-zA-Z0-9-]*"
    value = rf"(?:{ident}|'[^'\\\n]*'|\"[^\"\\\n]*\")"
    attr = rf"\[\s*{ident}\s*(?:[~|^$*]?=\s*{value}\s*)?\]"
    nth = r":(?:nth-child|nth-of-type|nth-last-child|nth-last-of-type)\(\s*[0-9]+\s*\)"
    pseudo = r":(?:first-child|last-child|only-child|first-of-type|last-of-type|only-of-type)"
    sub = rf"(?:\.{ident}|#{ident}|{attr}|{nth}|{pseudo})"
    compound = rf"(?:(?:{ident}|\*){sub}*|{sub}+)"
    complex_ = rf"{compound}(?:\s*[>+~]\s*{compound}|\s+{compound})*"
    has = rf":has\(\s*(?:[>+~]\s*)?{complex_}\s*\)"
    outer_sub = rf"(?:{sub}|{has})"
    outer_compound = rf"(?:(?:{ident}|\*){outer_sub}*|{outer_sub}+)"
    outer = rf"{outer_compound}(?:\s*[>+~]\s*{outer_compound}|\s+{outer_compound})*"
    return re.compile(rf"\s*{outer}(?:\s*,\s*{outer})*\s*")


COMMON_OPTIONS: Mapping[str, Option] = MappingProxyType(
    {
        "date_format": Option(str, "strptime format, for dates the generic parser cannot read"),
        "https_links": Option(bool, "`true` rewrites `http://` item links to `https://`"),
        "detail": Option(
            str,
            "CSS selector of the body on each *new* item's page, fetched once, for the classifier",
        ),
        "detail_url": Option(
            str,
            "the detail page's URL as a template over the item's `extra` fields"
            ' (`"…data_docId={docId}.json"`; default: the item\'s link)',
        ),
        "detail_json": Option(str, "dotted path to an HTML string when the detail page is JSON"),
        "detail_hosts": Option(
            list, "other hosts detail pages may come from (by default only the source's own host)"
        ),
        "cst": Option(
            str,
            "what `CST` in the source's dates means: `china` (+08:00, the default when the"
            " source's `timezone` is a China zone) or `us` (US Central, −06:00, the default"
            " otherwise); `北京时间` is always +08:00",
        ),
        "redirect_hosts": Option(
            list,
            "hosts a redirect may lead to besides the source's own registrable domain"
            " (`www.pbc.gov.cn` → `pbc.gov.cn`); a listed name allows its subdomains too."
            " Other redirects fail the fetch",
        ),
        "fetch": Option(
            str,
            '`"http"` (the default) or `"browser"`: the list page is rendered by the system\'s'
            " headless Chromium (for a challenge plain HTTP cannot pass; needs `pip install"
            " 'lendwatch[browser]'` and Chromium with its chromedriver); detail pages and files"
            " then go over HTTP with the cookies Chromium won",
        ),
        "attachments": Option(
            bool,
            "`true`: download the files each *new* item links to (detail page links, "
            "`attachment_fields`), read PDF/DOCX text for the classifier; every file is kept"
            " with its status and reason",
        ),
        "attachment_links": Option(
            str,
            "CSS selector of the attachment links on the detail page (default: links in the"
            " `detail` body whose URL or text names a document file, or a download endpoint)",
        ),
        "attachment_fields": Option(
            list,
            "dotted paths, in the list row or the detail JSON, of file URLs or lists of file"
            " objects (NFRA's `pdfFileUrl`, `data.attachmentInfoVOList`; CSRC's `resList`)",
        ),
        "attachment_max_bytes": Option(
            int, "size cap of one attachment (default 4 MB; Content-Length first, then streamed)"
        ),
        "attachment_timeout": Option(
            (int, float), "seconds to download one attachment (default 15)"
        ),
        "private_network": Option(
            bool,
            "`true`: the source is on a private network, so its requests may reach private,"
            " loopback and link-local addresses (never cloud metadata endpoints); by default"
            " only public addresses, or the address written in `url`",
        ),
    }
)


def split_attr(selector: str) -> tuple[str, str | None]:
    """``"a[istitle] @title"`` -> ``("a[istitle]", "title")``; no ``@`` -> text content."""
    m = _ATTR_SELECTOR.match(selector.strip())
    if m and "[" not in m.group(2):
        return m.group(1).strip(), m.group(2)
    return selector.strip(), None


def selector_problems(key: str, value: object) -> list[str]:
    if not isinstance(value, str):
        return []
    css, _attr = split_attr(value)
    if css in ("", "."):
        return []  # the item element itself
    if plain_selector().fullmatch(css):
        return []  # valid by construction: soupsieve need not be imported (see above)
    import soupsieve  # only a config with selectors pays for its import

    try:
        soupsieve.compile(css)
    except Exception as e:  # soupsieve raises SelectorSyntaxError and friends
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        return [f"{key}: invalid CSS selector {value!r}: {first}"]
    return []


def common_problems(options: Mapping[str, Any]) -> list[str]:
    problems = selector_problems("detail", options.get("detail"))
    if ("detail_url" in options or "detail_json" in options) and "detail" not in options:
        problems.append("detail_url/detail_json: need 'detail' (the body selector) as well")
    problems += template_problems("detail_url", options.get("detail_url"))
    for key in ("detail_hosts", "redirect_hosts"):
        hosts = options.get(key, [])
        if not all(isinstance(h, str) and _HOST.match(h) for h in hosts):
            problems.append(f"{key}: expected a list of host names, e.g. ['www.pbc.gov.cn']")
    if options.get("fetch", "http") not in ("http", "browser"):
        problems.append(f"fetch: expected 'http' or 'browser', got {options['fetch']!r}")
    problems += selector_problems("attachment_links", options.get("attachment_links"))
    fields = options.get("attachment_fields", [])
    if not all(isinstance(f, str) and f for f in fields):
        problems.append("attachment_fields: expected dotted paths (non-empty strings)")
    for key in ("attachment_max_bytes", "attachment_timeout"):
        value = options.get(key)
        if value is not None and not value > 0:
            problems.append(f"{key}: must be more than 0, got {value!r}")
    cst = options.get("cst")
    if cst is not None and cst not in CST_CHOICES:
        problems.append(f"cst: expected one of {', '.join(CST_CHOICES)}, got {cst!r}")
    return problems


def template_problems(key: str, template: object) -> list[str]:
    """A ``str.format`` template over named fields (``"...?docId={docId}"``) that cannot fail."""
    if not isinstance(template, str):
        return []
    try:
        template.format_map(_AnyKeys())
    except (ValueError, IndexError, AttributeError, TypeError) as e:
        return [f"{key}: bad template {template!r}: {e}"]
    return []


class _AnyKeys(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""
