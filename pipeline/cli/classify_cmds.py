"""Classifier commands: ``classify`` (JSON lines in/out), ``eval``, ``explain``, ``reclassify``."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from pipeline.classify import Classifier
from pipeline.classify.evaluate import EvalReport, Scored, evaluate, source_hints
from pipeline.classify.inputs import classify_fields
from pipeline.cli.common import EXIT_FAILURE, database, fail, load, load_rules
from pipeline.cli.display import json_line, safe
from pipeline.cli.progress import item_progress
from pipeline.config import Config, load_config
from pipeline.errors import ConfigError
from pipeline.jsonline import read_record
from pipeline.models import Source, Verdict

if TYPE_CHECKING:
    from pipeline.store import StoredItem

RULES_OPTION = click.option(
    "--rules",
    "rules_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Rules file (default: settings.rules of the configuration).",
)


def _setup(ctx: click.Context, rules_path: Path | None) -> tuple[Classifier, Config | None]:
    """The classifier, and the configuration when there is one (needed without --rules)."""
    if rules_path is None:
        loaded = load(ctx)
        return load_rules(loaded.settings.rules, loaded.settings.cache_dir), loaded
    config_path = Path(ctx.obj["config_path"])
    config: Config | None = None
    if config_path.exists():
        try:
            config = load_config(config_path)
        except ConfigError:
            config = None  # --rules given: the sources are only needed for "source" lookups
    return load_rules(rules_path), config


@dataclass(frozen=True, slots=True)
class _Input:
    id: Any
    title: str
    summary: str
    body: str
    issuer: str | None
    authority: str | None


def _parse_input(raw: str, sources: Mapping[str, Source] | None) -> _Input:
    record = read_record(raw)
    for key in ("summary", "body", "source", "authority"):
        if record.get(key) is not None and not isinstance(record[key], str):
            raise ValueError(f"{key!r} must be a string")
    issuer: str | None = None
    kind: str | None = None
    source_id = record.get("source")
    if source_id:
        if sources is None:
            raise ValueError(f"unknown source {source_id!r}: no configuration loaded")
        if source_id not in sources:
            raise ValueError(f"unknown source {source_id!r}; configured: {', '.join(sources)}")
        issuer, kind = sources[source_id].issuer, sources[source_id].authority
    named, named_kind = source_hints({"authority": record.get("authority")})
    return _Input(
        id=record["id"],
        title=record["title"],
        summary=record.get("summary") or "",
        body=record.get("body") or "",
        issuer=named or issuer,
        authority=named_kind or kind,
    )


def _id_of(raw: str) -> object:
    """The input's id when the line is a JSON object that has one, else None."""
    try:
        record = json.loads(raw)
    except json.JSONDecodeError:
        return None
    return record.get("id") if isinstance(record, dict) else None


@click.command()
@RULES_OPTION
@click.option("--detail", is_flag=True, help="Also explain rules that nearly matched.")
@click.pass_context
def classify(ctx: click.Context, rules_path: Path | None, detail: bool) -> None:
    """Classify JSON lines from stdin; write one JSON verdict line per input line.

    \b
    Input:  {"id": ..., "title": "...", "summary"?: "...", "body"?: "...",
             "source"?: "<configured source id>", "authority"?: "<issuer key or name,
             or regulator|association|media>"}
    Output: {"id", "flagged", "severity", "score", "topics", "matches", "explanation",
             "authority", "doc_numbers", "snippet", "rules_version"}

    A bad line gives {"id" (or null), "line", "error"} instead, is reported on stderr with its
    line number too, and does not stop the others: one output line per non-blank input line.
    Exit status: 0 if every line was classified, 1 if any line was bad, 2 if the rules or the
    configuration are invalid. No database is needed.
    """
    classifier, config = _setup(ctx, rules_path)
    sources = {s.id: s for s in config.sources} if config is not None else None
    bad = 0
    for number, raw in enumerate(sys.stdin, start=1):
        if not raw.strip():
            continue
        try:
            item = _parse_input(raw, sources)
        except ValueError as e:
            bad += 1
            click.echo(f"lendwatch: line {number}: {e}", err=True)
            # still one output line per input line, so outputs pair with inputs by position
            error = {"id": _id_of(raw), "line": number, "error": str(e)}
            click.echo(json_line(error))
            continue
        verdict = classifier.classify(
            item.title,
            item.summary,
            item.body,
            issuer=item.issuer,
            authority=item.authority,
            detail=detail,
        )
        click.echo(json_line({"id": item.id, **verdict.to_dict()}))
    if bad:
        click.echo(f"lendwatch: {bad} bad line(s) not classified", err=True)
        raise SystemExit(EXIT_FAILURE)


def _listing(title: str, rows: tuple[Scored, ...]) -> None:
    click.echo(f"{title}: {len(rows)}")
    for s in rows:
        v = s.verdict
        click.echo(f"  line {s.line} [{s.id}] {s.title}")
        click.echo(f"      {v.explanation[0]}")
        for line in v.explanation[1:-1]:
            if line.startswith(("rule ", "severity")):
                click.echo(f"      {line}")


def _report(r: EvalReport) -> None:
    click.echo(
        f"label 2 (affects online lending): precision {r.precision:.3f}  recall {r.recall:.3f}"
        f"  F1 {r.f1:.3f}  (tp {r.true_positives}, fp {r.false_positives}, "
        f"fn {r.false_negatives}; {len(r.by_label(2))} items)"
    )
    click.echo(
        f"label 1 (neighbours, count neither way): {len(r.by_label(1))} items, "
        f"{len(r.label1_flagged)} flagged, {len(r.label1_high)} high"
    )
    flagged0 = sum(1 for s in r.by_label(0) if s.verdict.flagged)
    click.echo(f"label 0 (not relevant): {len(r.by_label(0))} items, {flagged0} flagged")
    languages = r.by_language()
    for lang, sub in languages.items() if len(languages) > 1 else ():
        click.echo(
            f"  lang {lang}: precision {sub.precision:.3f}  recall {sub.recall:.3f}  "
            f"(tp {sub.true_positives}, fp {sub.false_positives}, fn {sub.false_negatives}; "
            f"{len(sub.scored)} items)"
        )
    _listing("misses (label 2 not flagged)", r.misses)
    _listing("false alarms (label 0 flagged)", r.false_alarms)
    _listing("label 1 flagged", r.label1_flagged)


@click.command("eval")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@RULES_OPTION
@click.option("--min-precision", type=float, default=None, help="Exit 1 below this precision.")
@click.option("--min-recall", type=float, default=None, help="Exit 1 below this recall.")
@click.pass_context
def eval_cmd(
    ctx: click.Context,
    file: Path,
    rules_path: Path | None,
    min_precision: float | None,
    min_recall: float | None,
) -> None:
    """Measure the rules on labelled JSON lines (title, summary, label 0/1/2).

    Prints precision, recall and F1 for label 2, the label-1 counts (flagged, high), and every
    miss and false alarm with the reason. Exit status 1 if a line was bad or a --min-* bound
    was not met, 2 if the rules are invalid.
    """
    classifier, _ = _setup(ctx, rules_path)
    with file.open(encoding="utf-8") as fh:
        report = evaluate(classifier, fh)
    for number, message in report.bad_lines:
        click.echo(f"lendwatch: {file}:{number}: {message}", err=True)
    click.echo(f"rules {classifier.version} on {file}")
    _report(report)
    below = (min_precision is not None and report.precision < min_precision) or (
        min_recall is not None and report.recall < min_recall
    )
    if report.bad_lines or below:
        raise SystemExit(EXIT_FAILURE)


def _issuer_for(config: Config, source_id: str) -> tuple[str | None, str | None]:
    try:
        source = config.source(source_id)
    except KeyError:
        return None, None
    return source.issuer, source.authority


def _verdict_line(v: Verdict) -> str:
    state = "FLAGGED" if v.flagged else "not flagged"
    severity = f" {v.severity}" if v.severity else ""
    topics = f"  topics: {', '.join(v.topics)}" if v.topics else ""
    return f"{state}{severity} (score {v.score:g}){topics}"


def _print_verdict(v: Verdict) -> None:
    """A verdict quotes the item's text (terms, snippet): every line goes through ``safe``."""
    click.echo(f"  {safe(_verdict_line(v))}")
    for line in v.explanation:
        click.echo(f"    {safe(line)}")
    for m in v.matches:
        where = f"{m.field}[{m.start}:{m.end}] rule {m.rule} ({m.kind})"
        click.echo(f"    match {safe(repr(m.term))} {safe(where)}")
    if v.snippet:
        click.echo(f"    snippet: {safe(v.snippet)}")


@click.command()
@click.argument("item_id")
@RULES_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print the current verdict as JSON.")
@click.pass_context
def explain(ctx: click.Context, item_id: str, rules_path: Path | None, as_json: bool) -> None:
    """Show why a stored item was or was not flagged (ITEM_ID or a unique prefix)."""
    config = load(ctx)
    classifier = load_rules(rules_path or config.settings.rules, config.settings.cache_dir)
    with database(config) as store:
        item = store.get_item(item_id)
    if item is None:
        fail(f"no item {item_id!r} (or the prefix is ambiguous)", EXIT_FAILURE)
    issuer, kind = _issuer_for(config, item.source_id)
    current = classifier.classify(
        *classify_fields(item.title, item.summary, item.body, item.penalty, item.attachments),
        issuer=issuer,
        authority=kind,
        detail=True,
    )
    if as_json:
        stated = item.facts.to_dict() if item.facts is not None else None
        click.echo(json_line({"id": item.id, **current.to_dict(), "facts": stated}))
        return
    published = item.published or "-"
    click.echo(f"item {item.id}  source {safe(item.source_id)}  published {published}")
    click.echo(f"title: {safe(item.title)}")
    if item.url:
        click.echo(f"url: {safe(item.url)}")
    stored = item.verdict
    if stored is None:
        click.echo("stored verdict: none (never classified)")
    else:
        click.echo(f"stored verdict (rules {stored.rules_version or item.rules_version}):")
        _print_verdict(stored)
    if stored is None or stored.rules_version != classifier.version:
        click.echo(f"with the current rules ({classifier.version}):")
        _print_verdict(current)
    if stored is not None and _change(stored, current):
        click.echo("note: the current rules decide differently; `lendwatch reclassify` stores it")
    _print_facts(item)


def _print_facts(item: StoredItem) -> None:
    """The stored lifecycle and enforcement facts, one line per field that says something."""
    if item.facts is None:
        click.echo("facts: none stored (`lendwatch reclassify` extracts them)")
        return
    click.echo("facts:")
    for name, value in item.facts.to_dict().items():
        if value in (None, []):
            continue
        if name == "penalty":
            value = {**value, "records": len((item.facts.penalty or {}).get("records") or [])}
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        click.echo(f"  {name}: {safe(shown)}")


def _change(old: Verdict | None, new: Verdict) -> str:
    """A short description of what changed, or "" when the decision is the same."""
    if old is None:
        return f"new: {_verdict_line(new)}"
    parts: list[str] = []
    if old.flagged != new.flagged:
        parts.append("flagged" if new.flagged else "unflagged")
    if old.severity != new.severity:
        parts.append(f"severity {old.severity or '-'} -> {new.severity or '-'}")
    if set(old.topics) != set(new.topics):
        parts.append(f"topics {','.join(old.topics) or '-'} -> {','.join(new.topics) or '-'}")
    return "; ".join(parts)


@click.command()
@RULES_OPTION
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Only items published (or first seen) on or after this date (UTC).",
)
@click.option("--flagged-only", is_flag=True, help="Only items flagged now.")
@click.option("--dry-run", is_flag=True, help="Report what would change; store nothing.")
@click.pass_context
def reclassify(
    ctx: click.Context,
    rules_path: Path | None,
    since: datetime | None,
    flagged_only: bool,
    dry_run: bool,
) -> None:
    """Re-run the current rules over stored items; store the verdicts and report changes."""
    config = load(ctx)
    classifier = load_rules(rules_path or config.settings.rules, config.settings.cache_dir)
    with database(config) as store:
        since_utc = since.replace(tzinfo=UTC) if since is not None else None
        items = list(store.iter_items(flagged_only=flagged_only, since=since_utc))
        verdicts: list[tuple[str, Verdict]] = []
        changes: list[tuple[str, str, str]] = []
        with item_progress(len(items)) as told:
            for item in items:
                issuer, kind = _issuer_for(config, item.source_id)
                new = classifier.classify(
                    *classify_fields(
                        item.title, item.summary, item.body, item.penalty, item.attachments
                    ),
                    issuer=issuer,
                    authority=kind,
                )
                verdicts.append((item.id, new))
                change = _change(item.verdict, new)
                if change:
                    changes.append((item.id, change, item.title))
                if told is not None:
                    told(bool(change))
        extracted = 0
        if not dry_run:
            store.save_verdicts(verdicts)
            extracted = store.save_facts(items)
    action = "would change" if dry_run else "changed"
    facts = "" if dry_run else f"; facts extracted again for {extracted} item(s)"
    click.echo(
        f"reclassified {len(items)} item(s) with rules {classifier.version}: "
        f"{len(changes)} {action}{facts}"
    )
    for iid, change, title in changes:
        click.echo(f"  {iid}  {safe(change)}  {safe(title)}")


COMMANDS: list[click.Command] = [classify, eval_cmd, explain, reclassify]
