"""The extractor on the labelled real texts of tests/data/extract (see its README): per-field
accuracy held as floors, deadlines and effective dates >= 0.95, and no wrong dates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.extract.score import DATE_FIELDS, FIELDS, ScoreReport, score_lines

DATA = Path(__file__).parent / "data" / "extract"

# The figures reached when these floors were set; a change that lowers one is a regression.
DEV_FLOORS = dict.fromkeys(FIELDS, 1.0)
HELDOUT_FLOORS = {**dict.fromkeys(FIELDS, 1.0), "stage": 24 / 25}


def _score(name: str) -> ScoreReport:
    with (DATA / name).open(encoding="utf-8") as fh:
        return score_lines(fh)


@pytest.fixture(scope="module")
def dev() -> ScoreReport:
    return _score("extract_set.jsonl")


@pytest.fixture(scope="module")
def heldout() -> ScoreReport:
    return _score("heldout.jsonl")


def test_the_sets_are_real_and_big_enough() -> None:
    rows = [
        json.loads(line)
        for name in ("extract_set.jsonl", "heldout.jsonl")
        for line in (DATA / name).read_text(encoding="utf-8").splitlines()
    ]
    assert len(rows) >= 60
    assert all(r.get("source_url") for r in rows), "every text names where it was copied from"
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids))
    stages = {r["expected"]["stage"] for r in rows}
    assert stages == {
        "draft",
        "final",
        "amendment",
        "repeal",
        "interpretation",
        "enforcement",
        "news",
        "other",
    }


@pytest.mark.parametrize("field", FIELDS)
def test_dev_set_floor(dev: ScoreReport, field: str) -> None:
    assert dev.bad_lines == []
    assert dev.items == 98
    misses = [m for m in dev.misses if m.field == field]
    assert dev.accuracy(field) >= DEV_FLOORS[field], misses


@pytest.mark.parametrize("field", FIELDS)
def test_heldout_floor(heldout: ScoreReport, field: str) -> None:
    assert heldout.bad_lines == []
    assert heldout.items == 25
    misses = [m for m in heldout.misses if m.field == field]
    assert heldout.accuracy(field) >= HELDOUT_FLOORS[field], misses


def test_deadlines_and_effective_dates_at_least_095(dev: ScoreReport, heldout: ScoreReport) -> None:
    for report in (dev, heldout):
        assert report.accuracy("comment_deadline") >= 0.95
        assert report.accuracy("effective") >= 0.95


def test_no_wrong_dates(dev: ScoreReport, heldout: ScoreReport) -> None:
    """A wrong date is worse than none: on both sets no date field gives a different date."""
    for report in (dev, heldout):
        assert {f: report.wrong[f] for f in DATE_FIELDS} == dict.fromkeys(DATE_FIELDS, 0)


def test_the_labelled_fields_are_exercised(dev: ScoreReport) -> None:
    """The set has real cases for every field, not only nulls that an empty extractor meets."""
    assert dev.labelled["comment_deadline"] >= 15
    assert dev.labelled["effective"] >= 30
    assert dev.labelled["transition_end"] >= 5
    assert dev.labelled["repeals"] >= 20
    assert dev.labelled["doc_number"] >= 40
    assert dev.labelled["penalty.parties"] >= 10


def test_violations_overlap_is_reported(dev: ScoreReport) -> None:
    assert 0.7 <= dev.violations <= 1.0
