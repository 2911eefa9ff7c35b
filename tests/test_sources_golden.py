"""Golden tests: every shipped source parses its recorded fixture to exactly these items.

The fixtures copy each real site's structure (see tests/fixtures/sources and shared/SOURCES.md).
Regenerate a golden file after a deliberate change with LENDWATCH_UPDATE_GOLDEN=1 and review the
diff by eye.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pipeline.fetch.parse import parse_page
from pipeline.models import Fetched, Item, Source
from tests.support.shipped import SOURCES

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures" / "sources"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".json": "application/json;charset=utf-8",
    ".xml": "application/rss+xml; charset=utf-8",
}


def fixture_for(source_id: str) -> Path:
    found = [p for p in FIXTURES.glob(f"{source_id}.*") if not p.name.endswith(".golden.json")]
    assert len(found) == 1, f"{source_id}: expected one fixture, found {found}"
    return found[0]


def fetched(path: Path, source: Source) -> Fetched:
    return Fetched(
        source_id=source.id,
        url=source.url,
        status=200,
        headers={"content-type": CONTENT_TYPES[path.suffix]},
        content=path.read_bytes(),
        fetched_at=datetime(2026, 7, 28, 4, 0, tzinfo=UTC),
    )


def as_golden(item: Item) -> dict[str, Any]:
    out: dict[str, Any] = {
        "title": item.title,
        "url": item.url,
        "guid": item.guid,
        "published": item.published.isoformat() if item.published else None,
        "published_raw": item.published_raw,
        "extra": dict(item.extra),
    }
    if item.attachment_links:  # files the list row names (NFRA pdfFileUrl, CSRC resList)
        out["attachment_links"] = [[f.name, f.url] for f in item.attachment_links]
    return out


def fixture_exists(source_id: str) -> bool:
    """A recorded page (not its golden file) for the source."""
    return any(not p.name.endswith(".golden.json") for p in FIXTURES.glob(f"{source_id}.*"))


# A shipped source whose real structure or titles could not be verified is shipped disabled, with
# a comment above its table saying what is unverified, instead of a made-up fixture.
WITH_FIXTURE = {sid: s for sid, s in SOURCES.items() if s.enabled or fixture_exists(sid)}


def comment_above(source_id: str) -> str:
    text = (ROOT / "sources.toml").read_text(encoding="utf-8")
    block = text.split(f'id = "{source_id}"', 1)[0].rsplit("[[sources]]", 1)[0]
    lines = block.rstrip().splitlines()
    comments: list[str] = []
    while lines and lines[-1].startswith("#"):
        comments.insert(0, lines.pop())
    return "\n".join(comments)


def test_every_shipped_source_has_a_golden_fixture() -> None:
    assert len(SOURCES) >= 20
    missing = [sid for sid in WITH_FIXTURE if not (FIXTURES / f"{sid}.golden.json").exists()]
    assert missing == []
    for sid in WITH_FIXTURE:
        fixture_for(sid)


def test_a_source_without_a_fixture_is_disabled_and_says_what_is_unverified() -> None:
    bare = [sid for sid in SOURCES if not fixture_exists(sid)]
    for sid in bare:
        assert not SOURCES[sid].enabled, sid
        assert "Unverified" in comment_above(sid), f"{sid}: no 'Unverified: ...' comment"


@pytest.mark.parametrize("source_id", sorted(WITH_FIXTURE))
def test_golden(source_id: str) -> None:
    source = SOURCES[source_id]
    page = parse_page(fetched(fixture_for(source_id), source), source)
    got = {"items": [as_golden(i) for i in page.items], "warnings": list(page.warnings)}
    golden = FIXTURES / f"{source_id}.golden.json"
    if os.environ.get("LENDWATCH_UPDATE_GOLDEN"):
        golden.write_text(json.dumps(got, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    assert got == json.loads(golden.read_text(encoding="utf-8"))
    assert page.items, "a golden fixture must yield items"
    for item in page.items:
        assert item.title == " ".join(item.title.split()) and "<" not in item.title
        assert item.url is None or item.url.startswith("https://") or item.url.startswith("http://")
