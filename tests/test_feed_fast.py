"""feedparser's fast paths (pipeline/fetch/feedfast.py, installed by rss ``_feedparser``): on
every feed of the conformance corpus and the recorded sources, feedparser gives the same result
with them as without them, twice in a row (the URL memo warm too); and the lookups they skip
behave as feedparser's own for aliases and special keys."""

from __future__ import annotations

import io
import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import feedparser
import feedparser.mixin as mixin
import feedparser.urls as urls
import pytest
from feedparser.util import FeedParserDict

from pipeline.fetch import feedfast, rss

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


def without_fast_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    for where, original in feedfast.REPLACED.items():
        owner, name = where.split(".", 1)
        monkeypatch.setattr(mixin if owner == "mixin" else FeedParserDict, name, original)


def test_the_fast_paths_are_installed_once() -> None:
    rss._feedparser()
    first = mixin._urljoin
    rss._feedparser()
    assert mixin._urljoin is first and hasattr(first, "cache_info")
    assert urls._urljoin is not first  # the library's own module keeps the plain function
    assert FeedParserDict.__getitem__ is not feedfast.REPLACED["FeedParserDict.__getitem__"]
    assert mixin.copy is not feedfast.REPLACED["mixin.copy"]


def test_the_fast_paths_change_no_result(monkeypatch: pytest.MonkeyPatch) -> None:
    rss._feedparser()
    docs = list(documents())
    assert len(docs) > 200
    fast = [parsed(data) for _, data in docs]
    again = [parsed(data) for _, data in docs]  # every URL pair already in the memo
    without_fast_paths(monkeypatch)
    assert mixin._urljoin is urls._urljoin  # really without
    plain = [parsed(data) for _, data in docs]
    for (name, _), a, b, c in zip(docs, fast, again, plain, strict=True):
        assert a == c, name
        assert b == c, name


def test_aliases_and_special_keys_still_take_feedparsers_path() -> None:
    rss._feedparser()
    d = FeedParserDict()
    d["description"] = "摘要"  # an alias: stored under its first real key
    d["channel"] = FeedParserDict(title="t")
    d["links"] = [FeedParserDict(rel="enclosure", href="https://x.cn/a.pdf", type="pdf")]
    assert dict.get(d, "summary") == "摘要" and d["description"] == "摘要"
    assert d.get("description") == "摘要" and d.get("subtitle", "-") == "-"
    assert d["feed"]["title"] == "t" and d.channel.title == "t"
    assert d["enclosures"] == [{"href": "https://x.cn/a.pdf", "type": "pdf"}]
    d["published"] = "Fri, 27 Nov 2026 09:30:00 +0800"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert d["updated"] == d["published"]  # feedparser's issue-310 fallback, with its warning
    assert [w.category for w in caught] == [DeprecationWarning]
    with pytest.raises(KeyError):
        d["absent"]
    assert d.get("absent", 0) == 0 and "absent" not in d and "summary" in d


def test_content_parameters_are_copied_deeply_where_it_matters() -> None:
    rss._feedparser()
    plain = FeedParserDict(type="text/html", language=None, base="https://x.cn/", mode=1)
    twin = mixin.copy.deepcopy(plain)
    assert twin == plain and twin is not plain and type(twin) is FeedParserDict
    nested = FeedParserDict(type="text/html", tags=[FeedParserDict(term="征信")])
    copied = mixin.copy.deepcopy(nested)
    assert copied == nested and copied["tags"] is not nested["tags"]  # still a deep copy
    aliased = FeedParserDict()
    dict.__setitem__(aliased, "description", "x")  # an alias as a raw key: feedparser's copy
    assert dict.get(mixin.copy.deepcopy(aliased), "summary") == "x"  # maps it, as deepcopy does
