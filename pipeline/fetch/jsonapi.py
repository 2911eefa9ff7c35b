"""Kind ``json``: a JSON API. ``items`` is the dotted path to the list (or several paths, the
first present wins); ``title``/``link``/``date``/``summary`` name fields of each row (a list of
names = first non-empty). ``link_template`` builds the page link from row fields (NFRA:
``...ItemDetail.html?docId={docId}``); ``link_rules`` are conditional templates, the first whose
``field`` equals ``equals`` wins over a relative ``link`` (yicai: ``AppID == 0`` =>
``/vip{url}``; an absolute ``url`` is kept as it is, as RSSHub's yicai route does).
``status_path``/``status_ok``/``message_path`` check an error envelope (NFRA ``rptCode``);
``extra`` copies raw fields (doc numbers, ids) into the item.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from pipeline.errors import FetchError, LayoutChangedError
from pipeline.fetch import attachlinks
from pipeline.fetch.builder import Builder
from pipeline.fetch.items import COMMON_OPTIONS, _AnyKeys, common_problems, template_problems
from pipeline.fetch.jsonpath import MISSING as _MISSING
from pipeline.fetch.jsonpath import lookup
from pipeline.fetch.kind import Document, Kind, Option, Page
from pipeline.fetch.text import plain

OPTIONS: Mapping[str, Option] = MappingProxyType(
    {
        **COMMON_OPTIONS,
        "items": Option(
            (str, list),
            "dotted path to the list of rows, or a list of paths (the first present wins)",
        ),
        "title": Option(
            (str, list),
            "a field of the row, or a list of fields: the first non-empty wins (NFRA's"
            ' `["docSubtitle", "docTitle"]`)',
        ),
        "link": Option(
            (str, list), "field(s) of the link, as for `title` (this or `link_template` is needed)"
        ),
        "link_template": Option(
            str, 'the link built from the row\'s fields: `"…ItemDetail.html?docId={docId}"`'
        ),
        "link_rules": Option(
            list,
            "`[{ field, equals, template }]`: the first rule whose field equals its value builds"
            " the row's link (第一财经's `AppID == 0` → `/vip{url}`); a row whose `link` value is"
            " already absolute keeps it",
        ),
        "link_base": Option(str, "base URL for relative links (default: the source's `url`)"),
        "date": Option((str, list), "field(s) of the date, as for `title`"),
        "date_unit": Option(str, "`s` or `ms`: the date is an epoch number in that unit"),
        "summary": Option((str, list), "field(s) of the summary, as for `title`"),
        "guid": Option(str, "field that identifies a row (default: its link)"),
        "extra": Option(
            list, "raw fields kept on the item (document numbers, ids for `detail_url`)"
        ),
        "status_path": Option(
            str,
            "dotted path to the status of an error envelope: any value but `status_ok` fails"
            ' the fetch instead of reading as "no news" (NFRA\'s `rptCode`)',
        ),
        "status_ok": Option((int, str), "the status of a good response (default 200)"),
        "message_path": Option(
            str, "dotted path to the error message shown with that failure (default `msg`)"
        ),
    }
)


def first(row: Mapping[str, Any], fields: object) -> object:
    if isinstance(fields, str):
        names: list[object] = [fields]
    elif isinstance(fields, list):
        names = list(fields)
    else:
        names = []
    for name in names:
        value = lookup(row, str(name))
        if value is not _MISSING and value is not None and value != "":
            return value
    return None


def _items(data: object, doc: Document) -> list[Any]:
    opts = doc.source.options
    paths = opts["items"] if isinstance(opts["items"], list) else [opts["items"]]
    for path in paths:
        found = lookup(data, str(path))
        if isinstance(found, list):
            return found
    msg = ""
    for key in ("msg", "message", "error", "errmsg"):
        value = lookup(data, key)
        if isinstance(value, str | int) and value != "":
            msg = f" (server said: {value})"
            break
    keys = ", ".join(sorted(data)[:8]) if isinstance(data, Mapping) else type(data).__name__
    raise LayoutChangedError(
        doc.source.id, f"no item list at {' | '.join(map(str, paths))}; top level: {keys}{msg}"
    )


def _check_envelope(data: object, doc: Document) -> None:
    opts = doc.source.options
    path = opts.get("status_path")
    if not path:
        return
    status = lookup(data, path)
    ok = opts.get("status_ok", 200)
    if status is _MISSING or str(status) != str(ok):
        message = lookup(data, opts.get("message_path", "msg"))
        text = "" if message is _MISSING else f": {plain(message)}"
        shown = "missing" if status is _MISSING else status
        raise FetchError(doc.source.id, f"{path} {shown}{text}", http_status=doc.fetched.status)


def parse(doc: Document) -> Page:
    opts = doc.source.options
    data = load(doc.text, doc.source.id)
    _check_envelope(data, doc)
    builder = Builder(doc)
    base = opts.get("link_base") or doc.fetched.url
    template = opts.get("link_template")
    rules = opts.get("link_rules", [])
    extra_fields = [str(f) for f in opts.get("extra", [])]
    file_fields = [str(f) for f in opts.get("attachment_fields", [])]
    for n, row in enumerate(_items(data, doc)):
        if not isinstance(row, Mapping):
            continue
        with builder.entry(n):
            given = first(row, opts.get("link"))
            raw_link: object = None if _absolute(given) else _ruled_link(row, rules)
            if raw_link is None:
                raw_link = given
            if raw_link is None and template:
                raw_link = template.format_map(_Row(row))
            extra = {f: str(v) for f in extra_fields if (v := first(row, f)) is not None}
            files = attachlinks.json_links(row, file_fields, base) if file_fields else []
            guid_value = first(row, opts["guid"]) if opts.get("guid") else None
            builder.add(
                title=first(row, opts["title"]),
                link=builder.link(raw_link, base),
                date=first(row, opts.get("date")),
                summary=first(row, opts.get("summary")) or "",
                guid=f"{opts['guid']}:{guid_value}" if guid_value is not None else None,
                extra=extra,
                date_unit=opts.get("date_unit"),
                files=files,
            )
    return builder.finish()


def load(text: str, source_id: str, what: str = "") -> Any:
    """``json.loads`` whose failures, too deep a nesting included, are a LayoutChangedError."""
    try:
        return json.loads(text)
    except RecursionError as e:
        raise LayoutChangedError(source_id, f"{what}JSON nested too deeply to read") from e
    except ValueError as e:
        raise LayoutChangedError(
            source_id, f"{what}expected JSON, got unparseable text: {e}"
        ) from e


def _absolute(value: object) -> bool:
    """An absolute link (``https://``, ``//host``) is never rewritten by ``link_rules``."""
    return isinstance(value, str) and value.strip().lower().startswith(
        ("http://", "https://", "//")
    )


def _ruled_link(row: Mapping[str, Any], rules: list[Mapping[str, Any]]) -> str | None:
    """The link of the first rule whose field equals its value (compared as text), if any."""
    for rule in rules:
        value = lookup(row, str(rule["field"]))
        if value is not _MISSING and str(value) == str(rule["equals"]):
            return str(rule["template"]).format_map(_Row(row))
    return None


class _Row(_AnyKeys):
    def __init__(self, row: Mapping[str, Any]) -> None:
        super().__init__({k: "" if v is None else str(v) for k, v in row.items()})


def validate(options: Mapping[str, Any]) -> list[str]:
    problems = common_problems(options)
    if options.get("date_unit") not in (None, "s", "ms"):
        problems.append(f"date_unit: expected 's' or 'ms', got {options['date_unit']!r}")
    for key in ("items", "title", "link", "date", "summary", "extra"):
        value = options.get(key)
        if isinstance(value, list) and not all(isinstance(v, str) and v for v in value):
            problems.append(f"{key}: expected field names (non-empty strings)")
    if "link" not in options and "link_template" not in options:
        problems.append("link: json sources need 'link' or 'link_template'")
    problems += template_problems("link_template", options.get("link_template"))
    for n, rule in enumerate(options.get("link_rules", [])):
        where = f"link_rules[{n}]"
        if not isinstance(rule, Mapping) or set(rule) != {"field", "equals", "template"}:
            problems.append(f"{where}: expected {{ field = ..., equals = ..., template = ... }}")
        elif not (isinstance(rule["field"], str) and rule["field"]):
            problems.append(f"{where}.field: expected a field name")
        elif not isinstance(rule["equals"], str | int | bool) or not isinstance(
            rule["template"], str
        ):
            problems.append(f"{where}: equals must be a string or number, template a string")
        else:
            problems += template_problems(f"{where}.template", rule["template"])
    return problems


KIND = Kind(
    name="json",
    parse=parse,
    summary="a JSON API",
    options=OPTIONS,
    required=frozenset({"items", "title"}),
    validate=validate,
    expects="JSON",
)
