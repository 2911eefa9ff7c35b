"""The classifier's fast constructors build the same frozen objects as the dataclass ones."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from pipeline.classify import Classifier
from pipeline.models import Match, Verdict, new_match, new_verdict

ROOT = Path(__file__).resolve().parents[1]


def test_new_match_equals_match_and_stays_frozen() -> None:
    fast = new_match("借呗", "title", 2, 4, "platform-change", "products", "term")
    slow = Match("借呗", "title", 2, 4, "platform-change", "products", "term")
    assert fast == slow
    assert hash(fast) == hash(slow)
    assert repr(fast) == repr(slow)
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.start = 3  # type: ignore[misc]


def test_new_verdict_equals_verdict_and_stays_frozen() -> None:
    match = Match("借呗", "title", 2, 4, "platform-change", "products")
    numbers = ("银发〔2021〕1号",)
    fast = new_verdict(True, "high", 9.5, ("p2p",), (match,), ("why",), "央行", numbers, "…", "v")
    slow = Verdict(True, "high", 9.5, ("p2p",), (match,), ("why",), "央行", numbers, "…", "v")
    assert fast == slow
    assert fast.to_dict() == slow.to_dict()
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.flagged = False  # type: ignore[misc]


def test_classifier_verdicts_survive_a_round_trip() -> None:
    """Verdicts built the fast way compare equal to the same verdicts rebuilt from JSON."""
    classifier = Classifier.from_file(ROOT / "rules.toml")
    verdict = classifier.classify(
        "关于印发《小额贷款公司监督管理暂行办法》的通知（金规〔2025〕6号）",
        "金融监管总局发布办法，暂停部分网络小额贷款业务，叫停违规催收。",
        issuer="nfra",
    )
    assert verdict.flagged and verdict.matches
    assert Verdict.from_dict(verdict.to_dict()) == verdict
