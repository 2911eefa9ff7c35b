"""Verdicts as JSON: every field out and back, and the objects stay frozen."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from pipeline.classify import Classifier
from pipeline.models import Match, Verdict

ROOT = Path(__file__).resolve().parents[1]


def test_a_verdict_with_every_field_set_round_trips_through_json() -> None:
    match = Match("借呗", "title", 2, 4, "platform-change", "products", "term")
    verdict = Verdict(
        flagged=True,
        severity="high",
        score=9.5,
        topics=("platform-change", "enforcement"),
        matches=(match, Match("公告", "title", 11, 13, "", "severity", "doctype:normative")),
        explanation=("flagged: 1 rule(s) say it affects online lending", "rules version v"),
        authority="中国人民银行",
        doc_numbers=("银发〔2021〕1号",),
        snippet="…借呗暂停…",
        rules_version="v",
    )
    data = json.loads(verdict.to_json())
    assert list(data) == [
        "flagged",
        "severity",
        "score",
        "topics",
        "matches",
        "explanation",
        "authority",
        "doc_numbers",
        "snippet",
        "rules_version",
    ]
    assert data["matches"][0] == {
        "term": "借呗",
        "field": "title",
        "start": 2,
        "end": 4,
        "topic": "platform-change",
        "rule": "products",
        "kind": "term",
    }
    assert "借呗" in verdict.to_json()  # Chinese as is, not \u escapes
    assert Verdict.from_dict(data) == verdict
    with pytest.raises(dataclasses.FrozenInstanceError):
        verdict.flagged = False  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        match.start = 3  # type: ignore[misc]


def test_classifier_verdicts_survive_a_round_trip() -> None:
    classifier = Classifier.from_file(ROOT / "rules.toml")
    verdict = classifier.classify(
        "关于印发《小额贷款公司监督管理暂行办法》的通知（金规〔2025〕6号）",
        "金融监管总局发布办法，暂停部分网络小额贷款业务，叫停违规催收。",
        issuer="nfra",
    )
    assert verdict.flagged and verdict.matches and verdict.doc_numbers
    assert Verdict.from_dict(json.loads(verdict.to_json())) == verdict
