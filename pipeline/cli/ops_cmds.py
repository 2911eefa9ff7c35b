"""Operating commands: status, backup, search, prune (the daemon is in ``daemon_cmds``)."""

from __future__ import annotations

import logging
import sys
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click

from pipeline.cli.common import (
    EXIT_CONFIG,
    EXIT_STORE,
    database,
    fail,
    load,
)
from pipeline.cli.display import json_line, safe
from pipeline.cli.progress import print_table
from pipeline.config import Config
from pipeline.db import utcnow
from pipeline.errors import StoreError
from pipeline.lock import DataDirLock
from pipeline.slots import fetch_job_id, last_digest, next_slot
from pipeline.store import DAEMON_STARTED, NEXT_RUN_PREFIX, PRUNE_LAST, Store, StoredItem

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# status


def _fmt(dt: datetime | None, tz: ZoneInfo) -> str | None:
    return dt.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S") if dt is not None else None


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def collect_status(config: Config, store: Store) -> dict[str, Any]:
    tz = config.settings.tz
    now = utcnow()
    pid = DataDirLock.holder(config.settings.data_dir)
    running = pid is not None
    states = store.source_states()
    sources = []
    for src in config.sources:
        st = states.get(src.id)
        nxt = store.get_time(NEXT_RUN_PREFIX + fetch_job_id(src.every_seconds)) if running else None
        sources.append(
            {
                "id": src.id,
                "enabled": src.enabled,
                "every_seconds": src.every_seconds,
                "health": st.status if st else "never-fetched",
                "broken": bool(st and st.broken),
                "reason": st.reason if st else "",
                "consecutive_failures": st.consecutive_failures if st else 0,
                "last_run": _fmt(st.last_attempt if st else None, tz),
                "last_success": _fmt(st.last_success if st else None, tz),
                "next_run": _fmt(nxt, tz) if src.enabled else None,
            }
        )
    pending = store.list_deliveries(statuses=("pending", "failed"), limit=1000)
    db_path = config.settings.db_path
    wal = db_path.with_name(db_path.name + "-wal")
    next_digest = store.get_time(NEXT_RUN_PREFIX + "digest") if running else None
    return {
        "timezone": config.settings.timezone,
        "daemon": {
            "running": running,
            "pid": pid if pid and pid > 0 else None,
            "started": _fmt(store.get_time(DAEMON_STARTED), tz) if running else None,
        },
        "database": {
            "path": str(db_path),
            "bytes": _file_size(db_path),
            "wal_bytes": _file_size(wal),
        },
        "digest": {
            "at": config.digest.at,
            "last": _fmt(last_digest(store), tz),
            "next": _fmt(next_digest or next_slot(config.digest.at, tz, now), tz),
        },
        "retention": {
            "days": config.settings.retention_days,
            "last_pruned": _fmt(store.get_time(PRUNE_LAST), tz),
        },
        "deliveries": {
            "pending": len(pending),
            "failed": sum(1 for d in pending if d.status == "failed"),
            "items": [
                {
                    "id": d.id,
                    "kind": d.kind,
                    "target": d.target,
                    "status": d.status,
                    "attempts": d.attempts,
                    "last_error": d.last_error,
                }
                for d in pending
            ],
        },
        "sources": sources,
    }


def _print_status(data: dict[str, Any]) -> None:
    d = data["daemon"]
    if d["running"]:
        who = f"pid {d['pid']}" if d["pid"] else "pid unknown"
        since = f", since {d['started']}" if d["started"] else ""
        click.echo(f"daemon      running ({who}{since})")
    else:
        click.echo("daemon      not running")
    db = data["database"]
    size = _human(db["bytes"]) + (f" + {_human(db['wal_bytes'])} WAL" if db["wal_bytes"] else "")
    click.echo(f"database    {db['path']} ({size})")
    g = data["digest"]
    click.echo(
        f"digest      daily at {g['at']} {data['timezone']}; last {g['last'] or 'never'};"
        f" next {g['next']}" + ("" if d["running"] else " (when the daemon runs)")
    )
    dl = data["deliveries"]
    failed = f" ({dl['failed']} failed at least once, retried with backoff)" if dl["failed"] else ""
    click.echo(f"deliveries  {dl['pending']} pending{failed}")
    for p in dl["items"][:10]:
        error = f": {safe(p['last_error'])}" if p["last_error"] else ""
        target = safe(p["target"])
        click.echo(f"  #{p['id']} {p['kind']} -> {target} tries={p['attempts']}{error}")
    r = data["retention"]
    click.echo(
        f"retention   raw bodies {r['days']} days; last pruned {r['last_pruned'] or 'never'}"
    )
    click.echo(f"sources     ({len(data['sources'])}, times in {data['timezone']})")
    rows = []
    for s in data["sources"]:
        health = (
            "disabled" if not s["enabled"] else s["health"] + (" BROKEN" if s["broken"] else "")
        )
        reason = safe(s["reason"])
        if s["consecutive_failures"] > 1:
            reason = f"{reason} ({s['consecutive_failures']} failures in a row)"
        rows.append((s["id"], health, s["last_run"] or "never", s["next_run"] or "-", reason))
    if print_table(("ID", "HEALTH", "LAST RUN", "NEXT RUN", "REASON"), rows):
        return
    width = max((len(row[0]) for row in rows), default=2)
    click.echo(f"  {'id':<{width}}  {'health':<14} {'last run':<19}  {'next run':<19}  reason")
    for sid, health, last, nxt, reason in rows:
        click.echo(f"  {sid:<{width}}  {health:<14} {last:<19}  {nxt:<19}  {reason}".rstrip())


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Daemon, last and next run and health per source, pending deliveries, database size."""
    config = load(ctx)
    with database(config) as store:
        data = collect_status(config, store)
    if as_json:
        click.echo(json_line(data, indent=2))
    else:
        _print_status(data)


# ---------------------------------------------------------------------------------------------
# backup, prune, search


@click.command("backup")
@click.argument("target", metavar="PATH", type=click.Path())
@click.option("--force", is_flag=True, help="Replace PATH if it exists.")
@click.pass_context
def backup_(ctx: click.Context, target: str, force: bool) -> None:
    """Copy the database to PATH while lendwatch runs (SQLite online backup).

    PATH is a file, or a folder (existing, or ending in /) for a timestamped file.
    """
    config = load(ctx)
    path = Path(target)
    if target.endswith("/") or path.is_dir():
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = path / f"lendwatch-{utcnow().strftime('%Y%m%d-%H%M%S')}.db"
    if path.exists() and not force:
        fail(f"{path} exists; use --force to replace it", EXIT_STORE)
    store = database(config)
    try:
        size = store.backup(path)
    except StoreError as e:
        fail(str(e), EXIT_STORE)
    finally:
        store.close()
    click.echo(f"backed up {config.settings.db_path} to {path} ({_human(size)})")


@click.command()
@click.option("--days", type=click.IntRange(min=1), help="Default: [settings] retention_days.")
@click.pass_context
def prune(ctx: click.Context, days: int | None) -> None:
    """Drop the raw bodies of items first seen more than N days ago (titles stay)."""
    config = load(ctx)
    days = days or config.settings.retention_days
    with database(config) as store:
        count = store.prune_bodies(days)
    click.echo(f"pruned the bodies of {count} items older than {days} days")


def _snippet(item: StoredItem, snip: str, query: str, width: int = 40) -> str:
    """The store's snippet when it marks a hit, else a window around the first hit."""
    if "[" in snip and "]" in snip:
        return snip
    for text in (item.title, item.summary, item.body):
        at = text.find(query) if query else -1
        if at >= 0:
            start, end = max(at - width, 0), min(at + len(query) + width, len(text))
            window = text[start:at] + f"[{query}]" + text[at + len(query) : end]
            return ("…" if start else "") + window + ("…" if end < len(text) else "")
    return snip


def _highlight(snippet: str, color: bool) -> str:
    flat = " ".join(safe(snippet).split())
    if not color:
        return flat
    out: list[str] = []
    rest = flat
    while "[" in rest and "]" in rest[rest.index("[") :]:
        before, _, after = rest.partition("[")
        hit, _, rest = after.partition("]")
        out.extend((before, click.style(hit, fg="yellow", bold=True)))
    out.append(rest)
    return "".join(out)


@click.command("search")
@click.argument("query")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="JSON lines.")
@click.pass_context
def search_(ctx: click.Context, query: str, limit: int, as_json: bool) -> None:
    """Full-text search of titles and bodies (Chinese works: `lendwatch search 借呗`)."""
    config = load(ctx)
    query = query.strip()
    if not query:
        fail("empty query", EXIT_CONFIG)
    store = database(config)
    try:
        hits = store.search(query, limit=limit)
    except StoreError as e:
        fail(str(e), EXIT_STORE)
    finally:
        store.close()
    tz = config.settings.tz
    color = not as_json and sys.stdout.isatty()  # else hits stay marked with [brackets]
    for item, snip in hits:
        snippet = _snippet(item, snip, query)
        if as_json:
            record = item.to_export() | {"snippet": " ".join(safe(snippet).split())}
            click.echo(json_line(record))
            continue
        when = _fmt(item.published or item.first_seen, tz) or ""
        flag = f" [{item.severity}]" if item.flagged else ""
        title = safe(item.title)
        click.echo(f"{when[:10]}  {safe(item.source_id)}  {title}{flag}  ({item.id[:8]})")
        click.echo(f"    {_highlight(snippet, color)}")
        if item.url:
            click.echo(f"    {safe(item.url)}")
    if not as_json:
        click.echo(f"{len(hits)} result{'s' if len(hits) != 1 else ''}", err=True)


COMMANDS: list[click.Command] = [status, backup_, search_, prune]
