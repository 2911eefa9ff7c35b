"""``lendwatch extract``: lifecycle and enforcement facts of JSON-lines items, or ``--score`` a
labelled file. ``pipeline.extract`` is imported inside the command, so ``lendwatch --help``
stays fast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from pipeline.jsonline import read_record

if TYPE_CHECKING:
    from pipeline.extract.score import ScoreReport

EXIT_BAD_INPUT = 1  # as `lendwatch classify`: some line was bad, the others were processed


def _parse_line(raw: str) -> tuple[Any, str, str, Any, tuple[str, ...]]:
    """(id, title, body, published date or None, attachments); ValueError names the problem."""
    from pipeline.extract import parse_published

    record = read_record(raw)
    if record.get("body") is not None and not isinstance(record["body"], str):
        raise ValueError("'body' must be a string or null")
    published = record.get("published")
    if published is not None and not isinstance(published, str):
        raise ValueError("'published' must be YYYY-MM-DD, an ISO datetime or null")
    try:
        day = parse_published(published)
    except ValueError as e:
        raise ValueError(f"'published' {published!r} is not YYYY-MM-DD or an ISO datetime") from e
    attachments = record.get("attachments") or []
    if not isinstance(attachments, list) or not all(isinstance(a, str) for a in attachments):
        raise ValueError("'attachments' must be a list of strings")
    return record["id"], record["title"], record.get("body") or "", day, tuple(attachments)


def _id_of(raw: str) -> object:
    try:
        record = json.loads(raw)
    except json.JSONDecodeError:
        return None
    return record.get("id") if isinstance(record, dict) else None


def _print_score(path: Path, report: ScoreReport) -> None:
    from pipeline.extract.score import DATE_FIELDS, FIELDS

    click.echo(f"{path}: {report.items} items")
    for name in FIELDS:
        line = (
            f"  {name:22} {report.accuracy(name):.3f}  ({report.hits[name]}/{report.items}; "
            f"{report.labelled[name]} labelled non-empty"
        )
        if name in DATE_FIELDS:
            line += f"; missed {report.missed[name]}, wrong {report.wrong[name]}"
        click.echo(line + ")")
    click.echo(f"  {'penalty.violations':22} {report.violations:.3f}  (mean overlap, lenient)")
    click.echo(f"misses: {len(report.misses)}")
    for miss in report.misses:
        got = json.dumps(miss.got, ensure_ascii=False, default=str)
        want = json.dumps(miss.want, ensure_ascii=False, default=str)
        click.echo(f"  [{miss.id}] {miss.field}: got {got}, expected {want}")


@click.command("extract")
@click.option(
    "--score",
    "score_path",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    help="Score a labelled JSON-lines file instead: per-field accuracy and every miss.",
)
def extract_cmd(score_path: Path | None) -> None:
    """Lifecycle and enforcement facts of JSON lines on stdin, one JSON line out per item.

    \b
    Input:  {"id": ..., "title": "...", "body"?: "<text or HTML>",
             "published"?: "YYYY-MM-DD" | "<ISO datetime>" | null,
             "attachments"?: ["<attachment text>", ...]}
    Output: {"id", "stage", "comment_deadline", "effective", "effective_raw",
             "transition_end", "repeals", "doc_number", "penalty"}
             dates YYYY-MM-DD or null; penalty null or
             {"parties", "amount_yuan", "authority", "decision_date", "violations"}

    A bad line gives {"id" (or null), "line", "error"} instead, is reported on stderr with its
    line number, and does not stop the others: one output line per non-blank input line.
    Exit status: 0 if every line was read, 1 if any line was bad. No configuration or database
    is needed. With --score FILE: exit 1 if a line of FILE was bad.
    """
    if score_path is not None:
        from pipeline.extract.score import score_lines

        with score_path.open(encoding="utf-8") as fh:
            report = score_lines(fh)
        for number, message in report.bad_lines:
            click.echo(f"lendwatch: {score_path}:{number}: {message}", err=True)
        _print_score(score_path, report)
        if report.bad_lines:
            raise SystemExit(EXIT_BAD_INPUT)
        return

    from pipeline.extract import extract

    bad = 0
    for number, raw in enumerate(sys.stdin, start=1):
        if not raw.strip():
            continue
        try:
            item_id, title, body, published, attachments = _parse_line(raw)
        except ValueError as e:
            bad += 1
            click.echo(f"lendwatch: line {number}: {e}", err=True)
            error = {"id": _id_of(raw), "line": number, "error": str(e)}
            click.echo(json.dumps(error, ensure_ascii=False))
            continue
        facts = extract(title, body, published, attachments)
        click.echo(json.dumps({"id": item_id, **facts.to_dict()}, ensure_ascii=False))
    if bad:
        click.echo(f"lendwatch: {bad} bad line(s) not extracted", err=True)
        raise SystemExit(EXIT_BAD_INPUT)


COMMANDS: list[click.Command] = [extract_cmd]
