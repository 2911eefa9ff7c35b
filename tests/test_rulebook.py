"""The online-lending rulebook (rulebook.toml) against the shipped rules: no silence on the
documents that define online lending, whether the regulator publishes the title or the press
shortens it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from pipeline.classify import Classifier
from pipeline.models import Verdict

ROOT = Path(__file__).resolve().parents[1]
RULEBOOK = tomllib.loads((ROOT / "rulebook.toml").read_text("utf-8"))["document"]
CORE = [d for d in RULEBOOK if d["scope"] == "core"]
RELATED = [d for d in RULEBOOK if d["scope"] == "related"]
FIELDS = {
    "id": str,
    "title": str,
    "short_titles": list,
    "issuer": str,
    "issuer_key": str,
    "doc_number": str,
    "date": str,
    "kind": str,
    "area": str,
    "scope": str,
    "changes_lending": bool,
    "source": str,
    "checked": str,
}
OPTIONAL = {"summary": str, "related_why": str}
RANK = {None: 0, "low": 1, "medium": 2, "high": 3}


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier.from_file(ROOT / "rules.toml")


def test_the_inventory_is_complete_and_well_formed(classifier: Classifier) -> None:
    assert len(CORE) >= 60
    ids = [d["id"] for d in RULEBOOK]
    assert len(ids) == len(set(ids))
    issuers = {a.key for a in classifier.ruleset.authorities}
    for d in RULEBOOK:
        assert set(d) <= set(FIELDS) | set(OPTIONAL), d["id"]
        for key, kind in {**FIELDS, **{k: v for k, v in OPTIONAL.items() if k in d}}.items():
            assert isinstance(d[key], kind), (d["id"], key)
        assert d["title"] and d["short_titles"] and d["source"] and d["issuer"], d["id"]
        assert d["scope"] in ("core", "related"), d["id"]
        assert ("related_why" in d) == (d["scope"] == "related"), d["id"]
        assert d["issuer_key"] in issuers, d["id"]
        assert d["date"] == "" or re.fullmatch(r"20(1[5-9]|2\d)-\d\d-\d\d", d["date"]), d["id"]
        assert d["doc_number"] == "" or re.search(r"号|JR/T", d["doc_number"]), d["id"]


def _as_published(classifier: Classifier, d: dict[str, Any]) -> Verdict:
    """The title on the regulator's own list: its issuer, a regulator's source (and, for a
    document titled by its number only, its opening sentence as the summary)."""
    return classifier.classify(
        d["title"], d.get("summary", ""), issuer=d["issuer_key"], authority="regulator"
    )


def _why(d: dict[str, Any], title: str, v: Verdict) -> str:
    return f"{d['id']} {title!r}: {v.severity}\n" + "\n".join(v.explanation)


@pytest.mark.parametrize("doc", CORE, ids=lambda d: str(d["id"]))
def test_every_core_document_is_flagged_as_published_and_as_headlines_shorten_it(
    classifier: Classifier, doc: dict[str, Any]
) -> None:
    """Flagged, at least medium; high when it changes who may lend, at what price, or how."""
    needed = "high" if doc["changes_lending"] else "medium"
    v = _as_published(classifier, doc)
    assert v.flagged and RANK[v.severity] >= RANK[needed], _why(doc, doc["title"], v)
    for title in doc["short_titles"]:
        v = classifier.classify(title, authority="media")
        assert v.flagged and RANK[v.severity] >= RANK["medium"], _why(doc, title, v)


@pytest.mark.parametrize("doc", RELATED, ids=lambda d: str(d["id"]))
def test_related_documents_are_never_high(classifier: Classifier, doc: dict[str, Any]) -> None:
    """General rules next to the rulebook (label 1 in the labelled sets): never ``high`` as
    published. (A headline about the part of one that concerns lenders, such as 消保新规：不得暴力
    催收, is a lending story and may be.)"""
    v = _as_published(classifier, doc)
    assert v.severity != "high", _why(doc, doc["title"], v)
