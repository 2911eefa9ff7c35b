"""feedparser's per-element URL resolution is memoised (pipeline/fetch/rss.py ``_feedparser``):
on every feed of the conformance corpus, the recorded sources and a benchmark feed, feedparser
gives the same result with the memo as without it, twice in a row (a warm memo too)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import feedparser
import feedparser.mixin as mixin
import feedparser.urls as urls
import pytest

from pipeline.fetch import rss

ROOT = Path(__file__).resolve().parents[1]


def documents() -> Iterator[tuple[str, bytes]]:
    corpus = ROOT / "tests" / "data" / "conformance" / "feeds.jsonl"
    for line in corpus.read_text(encoding="utf-8").splitlines():
        case = json.loads(line)
        yield case["id"], case["feed"].encode("utf-8")
    for path in sorted((ROOT / "tests" / "fixtures" / "sources").glob("*.xml")):
        yield path.name, path.read_bytes()


def parsed(data: bytes) -> Any:
    result = feedparser.parse(
        io.BytesIO(data),
        response_headers=rss._HEADERS,
        sanitize_html=False,
        resolve_relative_uris=False,
    )
    return json.loads(json.dumps({"feed": result.feed, "entries": result.entries}, default=str))


def test_the_memo_is_installed_once() -> None:
    rss._feedparser()
    first = mixin._urljoin
    rss._feedparser()
    assert mixin._urljoin is first and hasattr(first, "cache_info")
    assert urls._urljoin is not first  # the library's own module keeps the plain function


def test_the_memo_changes_no_result(monkeypatch: pytest.MonkeyPatch) -> None:
    rss._feedparser()
    docs = list(documents())
    assert len(docs) > 200
    memo = [parsed(data) for _, data in docs]
    again = [parsed(data) for _, data in docs]  # every pair already in the memo
    monkeypatch.setattr(mixin, "_urljoin", urls._urljoin)
    monkeypatch.setattr(mixin, "make_safe_absolute_uri", urls.make_safe_absolute_uri)
    plain = [parsed(data) for _, data in docs]
    for (name, _), a, b, c in zip(docs, memo, again, plain, strict=True):
        assert a == c, name
        assert b == c, name
