"""`lendwatch demo`: the whole pipeline on recorded page structures, offline, in seconds.

Six of the shipped sources (金融监管总局, 证监会, 国务院政策文件库 and 经济观察网 as JSON APIs; the
CFPB and the FCA as RSS) are served from a loopback HTTP server in the structure their real
sites answer with: each page is the source's recorded fixture (``tests/fixtures/sources``) with
its list rebuilt from real labelled headlines (``tests/data/eval/dev.jsonl``). The sources'
definitions are the shipped ones (``sources.toml``), with the URL pointed at the loopback
server and the detail pages left out (they would go to the real sites).

An ordinary day, twice: on day 1 every source is fetched for the first time, and its list is
stored and counted in the digest (a first fetch is backlog, ``pipeline.news``); on day 2 two new
items appear on top of each list, one of them posted months after its date, and the cycle
classifies them, alerts the serious ones and writes a digest with real entries to DIR/outbox.
DIR keeps a ``sources.toml`` pointing at its own database, so every command works on the demo.
"""

from __future__ import annotations

import copy
import html
import json
import logging
import random
import re
import threading
import zlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from pipeline.errors import ConfigError
from pipeline.models import SourceReport

log = logging.getLogger(__name__)

SOURCES = ("nfra-915", "csrc-news", "gov-policy", "eeo-kuaixun", "cfpb-newsroom", "fca-news")
MARKER = ".lendwatch-demo"
PER_LIST = 8  # items a list shows on day 1; day 2 adds NEW on top
NEW = 2
# the keys of a source that fetch detail pages, attachments or use a browser: left out
_DETAIL_KEYS = re.compile(r"^(detail\w*|attachments|browser|challenge)$")
_TYPES = {"json": "application/json; charset=utf-8", "rss": "application/rss+xml; charset=utf-8"}


class DemoError(Exception):
    """The demo cannot run (what is missing, or a folder it must not touch)."""


@dataclass(frozen=True, slots=True)
class Entry:
    guid: str
    title: str
    summary: str
    when: datetime


@dataclass(frozen=True, slots=True)
class Demo:
    """Where the demo is: its folder, configuration and the digests it wrote."""

    dir: Path
    config: Path
    digests: tuple[Path, ...]
    day1: str
    day2: str


def repo_root() -> Path:
    """The checkout lendwatch runs from: the demo reads its sources, rules, fixtures and
    headlines there."""
    root = Path(__file__).resolve().parents[1]
    for need in ("sources.toml", "rules.toml", "tests/fixtures/sources", "tests/data/eval"):
        if not (root / need).exists():
            raise DemoError(f"{root / need} not found: the demo runs from a lendwatch checkout")
    return root


def prepare(folder: Path | None) -> Path:
    """The demo's folder: a new temporary one, or ``folder`` when empty or a previous demo."""
    if folder is None:
        import tempfile

        return Path(tempfile.mkdtemp(prefix="lendwatch-demo-"))
    if folder.exists():
        if not folder.is_dir():
            raise DemoError(f"{folder} is not a folder")
        if any(folder.iterdir()) and not (folder / MARKER).exists():
            raise DemoError(
                f"{folder} is not empty and not a previous demo: choose an empty or new folder"
                " (nothing was changed)"
            )
        if (folder / MARKER).exists():
            import shutil

            for child in folder.iterdir():  # a previous demo: start again
                shutil.rmtree(child) if child.is_dir() else child.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# -- pages ---------------------------------------------------------------------------------------


def headlines(root: Path) -> dict[str, list[tuple[str, str]]]:
    """Real labelled headlines, relevant ones first per language (title, summary)."""
    rows = [
        json.loads(line)
        for line in (root / "tests/data/eval/dev.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    out: dict[str, list[tuple[str, str]]] = {"zh": [], "en": []}
    # the most relevant first, those about 助贷 (the README's example search) first of all
    rows.sort(key=lambda r: (-r["label"], "助贷" not in r["title"] + r["summary"]))
    for row in rows:
        out["en" if row["lang"] == "en" else "zh"].append((row["title"], row["summary"]))
    return out


def lists(root: Path, now: datetime) -> dict[str, tuple[list[Entry], list[Entry]]]:
    """Each source's day-1 list and day-2 list (newest first)."""
    pool = headlines(root)
    rng = random.Random(2026)
    news = {lang: titles[: len(SOURCES) * NEW] for lang, titles in pool.items()}
    rest = {lang: titles[len(SOURCES) * NEW :] for lang, titles in pool.items()}
    for titles in rest.values():
        rng.shuffle(titles)
    out: dict[str, tuple[list[Entry], list[Entry]]] = {}
    for k, sid in enumerate(SOURCES):
        lang = "en" if sid in ("cfpb-newsroom", "fca-news") else "zh"
        fresh = news[lang][k * NEW : (k + 1) * NEW] or news[lang][:NEW]
        pool_rest = rest[lang]
        older = [pool_rest[(k * PER_LIST + n) % len(pool_rest)] for n in range(PER_LIST)]
        day1 = [
            Entry(f"{sid}-old-{n}", t, s, now - timedelta(days=1 + n, hours=k))
            for n, (t, s) in enumerate(older)
        ]
        day2 = [
            Entry(f"{sid}-new-0", *fresh[0], now - timedelta(hours=2 + k)),
            # posted today, dated four months ago: news all the same (it appeared on top)
            Entry(f"{sid}-new-1", *fresh[-1], now - timedelta(days=120)),
        ]
        out[sid] = (day1, day2 + day1)
    return out


def rss_page(template: str, entries: list[Entry], base: str) -> bytes:
    """The fixture's channel with ``entries`` as its items (its first item the pattern)."""
    items = re.findall(r"<item>.*?</item>", template, flags=re.S)
    if not items:
        raise DemoError("an RSS fixture without items")
    head, _, _ = template.partition(items[0])
    _, _, tail = template.rpartition(items[-1])
    built = []
    for e in entries:
        link = html.escape(f"{base}/{e.guid}.html")
        built.append(
            f"<item><title>{html.escape(e.title)}</title><link>{link}</link><guid>{link}</guid>"
            f"<description>{html.escape(e.summary)}</description>"
            f"<pubDate>{e.when.strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate></item>"
        )
    return (head + "\n".join(built) + tail).encode("utf-8")


def _fields(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value] if isinstance(value, list) else []


def _get(doc: Any, path: str) -> Any:
    for part in path.split("."):
        doc = doc.get(part) if isinstance(doc, dict) else None
    return doc


def _set(row: dict[str, Any], path: str, value: object) -> None:
    *parents, last = path.split(".")
    for part in parents:
        row = row.setdefault(part, {})
    row[last] = value


def _when(template: object, when: datetime, unit: str | None) -> object:
    """``when`` in the template value's own form: epoch seconds or ms, or its date text."""
    if isinstance(template, int | float) and not isinstance(template, bool):
        seconds = when.timestamp()
        return int(seconds * 1000) if unit == "ms" else int(seconds)
    text = str(template)
    local = when.astimezone(UTC) + timedelta(hours=8)  # Beijing time, as these sites write
    text = re.sub(r"\d{4}-\d{2}-\d{2}", local.strftime("%Y-%m-%d"), text, count=1)
    return re.sub(r"\d{2}:\d{2}(:\d{2})?", local.strftime("%H:%M:%S"), text, count=1)


def json_page(template: Any, options: dict[str, Any], entries: list[Entry], base: str) -> bytes:
    """The fixture's document with its (first) items list rebuilt from ``entries``, each row a
    copy of the fixture's first row with the fields the source reads set."""
    doc = copy.deepcopy(template)
    path = _fields(options.get("items"))[0]
    rows = _get(doc, path)
    if not isinstance(rows, list) or not rows:
        raise DemoError(f"a JSON fixture without rows at {path}")
    pattern = rows[0]
    titles = _fields(options.get("title"))
    links = _fields(options.get("link"))
    dates = _fields(options.get("date"))
    summaries = _fields(options.get("summary"))
    ids = _fields(options.get("extra"))
    out = []
    for n, e in enumerate(entries):
        row = copy.deepcopy(pattern)
        for k, name in enumerate(titles):
            _set(row, name, e.title if k == len(titles) - 1 else "")
        for name in links:
            _set(row, name, f"{base}/{e.guid}.html")
        for name in dates:
            _set(row, name, _when(_get(pattern, name), e.when, options.get("date_unit")))
        for name in summaries:
            _set(row, name, e.summary)
        for name in ids:
            if isinstance(_get(pattern, name), str) and name.lower().endswith("id"):
                _set(row, name, f"{e.guid}-{n}")
        if "docId" in row:  # the NFRA link template's key
            row["docId"] = zlib.crc32(e.guid.encode()) % 10_000_000
        out.append(row)
    parent = _get(doc, path.rpartition(".")[0]) if "." in path else doc
    parent[path.rpartition(".")[2]] = out
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")


# -- the server and the day ---------------------------------------------------------------------


class _Pages:
    def __init__(self) -> None:
        self.pages: dict[str, tuple[bytes, str]] = {}


@contextmanager
def serve(pages: _Pages) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            page = pages.pages.get(self.path.split("?", 1)[0])
            if page is None:
                self.send_error(404)
                return
            body, kind = page
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _toml(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)  # TOML basic strings, arrays, numbers, bools


def write_config(root: Path, folder: Path, base: str) -> Path:
    """DIR/sources.toml: the shipped definitions of the demo's sources, served from ``base``."""
    import tomllib

    shipped = tomllib.loads((root / "sources.toml").read_text(encoding="utf-8"))
    by_id = {s["id"]: s for s in shipped.get("sources", [])}
    lines = [
        "# Written by `lendwatch demo`: the shipped definitions of six sources, their URLs",
        "# pointed at the demo's loopback server (gone once the demo ends), detail pages left out.",
        "[settings]",
        'data_dir = "data"',
        f"rules = {_toml(str(root / 'rules.toml'))}",
        "",
    ]
    for sid in SOURCES:
        source = by_id.get(sid)
        if source is None:
            raise DemoError(f"source {sid} is no longer in {root / 'sources.toml'}")
        lines.append("[[sources]]")
        for key, value in source.items():
            if _DETAIL_KEYS.match(key):
                continue
            if key == "url":
                value = f"{base}/{sid}"
            if isinstance(value, dict):
                inner = ", ".join(f"{_toml(k)} = {_toml(v)}" for k, v in value.items())
                lines.append(f"{key} = {{ {inner} }}")
            else:
                lines.append(f"{key} = {_toml(value)}")
        lines.append("")
    path = folder / "sources.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def day_pages(
    root: Path, config_path: Path, base: str, day: int, now: datetime
) -> dict[str, tuple[bytes, str]]:
    from pipeline.config import load_config

    config = load_config(config_path)
    built = lists(root, now)
    pages: dict[str, tuple[bytes, str]] = {}
    for source in config.sources:
        entries = built[source.id][day - 1]
        fixture = next(
            p
            for p in (root / "tests/fixtures/sources").glob(f"{source.id}.*")
            if not p.name.endswith(".golden.json")
        )
        text = fixture.read_text(encoding="utf-8")
        link_base = f"https://demo.{source.id}.example.cn"
        if source.kind == "json":
            body = json_page(json.loads(text), dict(source.options), entries, link_base)
        else:
            body = rss_page(text, entries, link_base)
        pages[f"/{source.id}"] = (body, _TYPES[source.kind])
    return pages


def run(
    folder: Path | None,
    *,
    say: Callable[[str], None] = lambda _: None,
    progress: Callable[[int], AbstractContextManager[Callable[[SourceReport], None] | None]]
    | None = None,
) -> Demo:
    """The demo into ``folder`` (a new temporary folder when None); see the module doc.
    ``progress(total)``: a context giving the callback each source's report is told to."""
    from pipeline.config import load_config
    from pipeline.digest import send_alerts, send_digest
    from pipeline.run import run_cycle
    from pipeline.store import Store

    root = repo_root()
    folder = prepare(folder)
    (folder / MARKER).write_text("lendwatch demo\n", encoding="utf-8")
    pages = _Pages()
    now = datetime.now(UTC)
    with serve(pages) as base:
        config_path = write_config(root, folder, base)
        try:
            config = load_config(config_path)
        except ConfigError as e:  # the shipped sources changed under the demo: say which
            raise DemoError(f"the demo's configuration does not load: {e}") from e
        reports = []
        for day in (1, 2):
            pages.pages = day_pages(root, config_path, base, day, now)
            say(f"day {day}: fetching {len(config.sources)} sources from {base} …")
            with Store.open(config.settings.db_path) as store:
                if progress is None:
                    report = run_cycle(config, store)
                else:
                    with progress(len(config.sources)) as on_report:
                        report = run_cycle(config, store, on_report=on_report)
                send_alerts(store, config)
                send_digest(store, config)
            new = sum(r.new for r in report.sources)
            flagged = sum(r.flagged for r in report.sources)
            backlog = sum(r.backlog for r in report.sources)
            failed = [r.source_id for r in report.sources if r.status != "ok"]
            line = f"day {day}: {new} new items, {flagged} flagged, {backlog} counted as backlog"
            reports.append(line + (f", failed: {', '.join(failed)}" if failed else ""))
            say(reports[-1])
    digests = tuple(sorted(config.settings.outbox_dir.glob("digest-*.html")))
    return Demo(folder, config_path, digests, *reports)
