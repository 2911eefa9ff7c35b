"""Source commands: ``sources`` (configured sources with their health) and ``test-source``."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from pipeline.cli.common import EXIT_CONFIG, EXIT_FAILURE, database, fail, load
from pipeline.cli.display import json_line, redact_url, safe
from pipeline.cli.progress import print_table
from pipeline.fetch.http import probe_source
from pipeline.fetch.parse import result
from pipeline.models import Fetched, Item, Source, SourceResult
from pipeline.store import SourceState


def _every(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if value else "-"


def _row(source: Source, state: SourceState) -> dict[str, object]:
    row: dict[str, object] = {
        "id": source.id,
        "name": source.name,
        "kind": source.kind,
        "authority": source.authority,
        "issuer": source.issuer,
        "every": _every(source.every_seconds),
        "enabled": source.enabled,
    }
    row.update(state.to_json())
    row["id"] = source.id
    return row


@click.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_context
def sources(ctx: click.Context, as_json: bool) -> None:
    """List the configured sources with their health (ok, blocked, layout-changed, error)."""
    config = load(ctx)
    with database(config) as store:
        states = store.source_states()
    rows = [_row(s, states.get(s.id) or SourceState.never(s.id)) for s in config.sources]
    if as_json:
        for row in rows:
            click.echo(json_line(row))
        return
    header = ("ID", "KIND", "AUTHORITY", "EVERY", "STATUS", "FAILS", "LAST SUCCESS (UTC)", "REASON")
    table = [header]
    for s, row in zip(config.sources, rows, strict=True):
        state = states.get(s.id) or SourceState.never(s.id)
        status = str(row["status"]) + ("" if s.enabled else " (disabled)")
        table.append(
            (
                s.id,
                s.kind,
                s.authority,
                str(row["every"]),
                status,
                str(state.consecutive_failures),
                _when(state.last_success),
                safe(state.reason),
            )
        )
    if print_table(header, table[1:]):
        return
    widths = [max(len(r[i]) for r in table) for i in range(len(header) - 1)]
    for r in table:
        cells = [c.ljust(w) for c, w in zip(r[:-1], widths, strict=True)]
        click.echo("  ".join([*cells, r[-1]]).rstrip())


def _from_file(path: Path, source: Source) -> SourceResult:
    content_type = {".json": "application/json", ".xml": "application/xml"}.get(
        path.suffix, "text/html"
    )
    fetched = Fetched(
        source_id=source.id,
        url=source.url,
        status=200,
        headers={"content-type": content_type},
        content=path.read_bytes(),
        fetched_at=datetime.now(UTC),
    )
    return result(fetched, source)


@click.command("test-source")
@click.argument("source_id")
@click.option(
    "--file",
    "file_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Parse this saved response instead of fetching the source.",
)
@click.option("--detail", is_flag=True, help="Also fetch detail pages (when configured).")
@click.option("--limit", default=30, show_default=True, help="Items to print.")
@click.pass_context
def test_source(
    ctx: click.Context, source_id: str, file_path: Path | None, detail: bool, limit: int
) -> None:
    """Fetch and parse one source and print what was found; nothing is stored."""
    config = load(ctx)
    try:
        source = config.source(source_id)
    except KeyError:
        known = ", ".join(s.id for s in config.sources)
        fail(f"unknown source {source_id!r}; configured: {known}", EXIT_CONFIG)
    wants = detail and bool(source.options.get("detail") or source.options.get("attachments"))
    if file_path is not None:
        res = _from_file(file_path, source)
        items = list(res.items)
    else:
        res, items = probe_source(source, config.settings, details=limit if wants else 0)
    http = res.http_status if res.http_status is not None else "-"
    click.echo(f"{source.id} ({source.kind}) {redact_url(source.url)}")
    click.echo(f"health: {res.status}{': ' + safe(res.reason) if res.reason else ''}")
    click.echo(f"http: {http}  items: {len(res.items)}  elapsed: {res.elapsed_seconds:.2f}s")
    if res.challenge:
        click.echo(f"challenge: {res.challenge}")
    undated = sum(1 for i in res.items if i.published is None)
    if undated:
        click.echo(f"items without a parseable date: {undated}")
    for warning in res.warnings:
        click.echo(f"warning: {safe(warning)}")
    for item in items[:limit]:
        when = _when(item.published) if item.published else "no date"
        click.echo(f"- {when}  [{safe(item.published_raw or '-')}]  {safe(item.title)}")
        click.echo(f"    {safe(item.url or item.guid)}")
        if item.body:
            body = safe(item.body[:120])
            click.echo(f"    body: {body}{'…' if len(item.body) > 120 else ''}")
        _show_facts(item, listed=not wants)
    if wants:
        _show_totals(items[:limit])
    if res.status != "ok":
        raise SystemExit(EXIT_FAILURE)


def _yuan(value: object) -> str:
    return "no amount" if value is None else f"{value} yuan"


def _show_facts(item: Item, *, listed: bool) -> None:
    """The penalty table and the attachments the detail stage found (``listed``: only the
    links the list row names, not downloaded)."""
    if item.penalty:
        p = item.penalty
        parties = list(p.get("parties") or [])
        shown = "、".join(parties[:3]) + (f" … (+{len(parties) - 3})" if len(parties) > 3 else "")
        authority = p.get("authority") or "no authority"
        click.echo(
            f"    table: {len(p.get('records') or [])} record(s), parties {safe(shown)};"
            f" total {_yuan(p.get('amount_yuan'))}; {safe(authority)};"
            f" {safe(p.get('decision_date') or 'no date')}"
        )
    for a in item.attachments:
        why = f" ({safe(a.reason)})" if a.reason else ""
        click.echo(
            f"    attachment: {safe(a.name)} [{a.kind}] {a.status}, {len(a.text)} chars{why}"
        )
        click.echo(f"      {safe(redact_url(a.url))}")
    if listed:
        for link in item.attachment_links:
            click.echo(
                f"    attachment link: {safe(link.name or '-')}  {safe(redact_url(link.url))}"
            )


def _show_totals(items: list[Item]) -> None:
    files = [a for i in items for a in i.attachments]
    read = sum(1 for a in files if a.status == "ok")
    tables = sum(1 for i in items if i.penalty)
    click.echo(
        f"detail: {len(items)} item(s); tables parsed: {tables}; attachments: {len(files)},"
        f" text read from {read}"
    )


COMMANDS: list[click.Command] = [sources, test_source]
