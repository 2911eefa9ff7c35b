"""Traditional -> simplified conversion before matching, and offsets back into the original.

Real Hong Kong and Taiwan headlines are in tests/data/eval/fresh.jsonl (lang zh-hant, scored by
test_classify.py); here the conversion itself: phrase-level, length changes, the alignment map,
and that the package is imported only when something is classified.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.classify import Classifier
from pipeline.classify.normalize import fold_term, prepare
from pipeline.classify.script import char_table, simplify

ROOT = Path(__file__).resolve().parents[1]
FRESH = Path(__file__).resolve().parent / "data" / "eval" / "fresh.jsonl"


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier.from_file(ROOT / "rules.toml")


def test_conversion_is_phrase_level_with_regional_vocabulary() -> None:
    # Taiwan's 網路 is the mainland's 网络 (character by character it would be 网路), 網際網路 is
    # 互联网, 帳戶 is 账户 (not 帐户); HK/TW corner brackets become quotation marks
    assert prepare("網路借貸平台").text == "网络借贷平台"
    assert prepare("網際網路借貸").text == "互联网借贷"
    assert prepare("開立數位帳戶").text == "开立数位账户"
    assert prepare("金管局就「先買後付」產品發通告").text == "金管局就“先买后付”产品发通告"
    # the character table agrees with the converter character by character
    assert char_table()["貸"] == "贷" and "贷" not in char_table()


def test_simplified_text_is_left_alone() -> None:
    text = "金融监管总局发布《小额贷款公司监督管理暂行办法》"
    assert prepare(text).text == text and prepare(text).alignment is None


def test_a_length_change_is_mapped_back_to_the_whole_phrase() -> None:
    original = "透過網際網路申請小額貸款公司借款"
    converted, alignment = simplify(original)
    assert converted == "透过互联网申请小额贷款公司借款"
    assert alignment is not None
    at = converted.index("互联网")
    start, end = alignment.span(at, at + 3)
    assert original[start:end] == "網際網路"
    at = converted.index("小额贷款公司")
    start, end = alignment.span(at, at + 6)
    assert original[start:end] == "小額貸款公司"


def test_phrases_that_shrink_and_grow_in_one_run_still_map_exactly() -> None:
    # 智慧型手機 (5) -> 智能手机 (4) and 太空梭 (3) -> 航天飞机 (4): the length is unchanged
    original = "太空梭智慧型手機貸款"
    converted, alignment = simplify(original)
    assert converted == "航天飞机智能手机贷款" and alignment is not None
    for needle, expected in (("航天飞机", "太空梭"), ("智能手机", "智慧型手機"), ("贷款", "貸款")):
        at = converted.index(needle)
        start, end = alignment.span(at, at + len(needle))
        assert original[start:end] == expected


PHRASES = [
    "網際網路",
    "網路",
    "軟體",
    "帳戶",
    "貸款",
    "借貸",
    "平台",
    "小額",
    "太空梭",
    "智慧型手機",
]
PHRASES += ["，", " ", "p2p"]


def test_every_span_maps_to_original_text_that_converts_to_it() -> None:
    """Random text from phrases that keep and change length: for every span of the converted
    text found in it, the original span it maps to converts to text containing it."""
    rng = random.Random(15)
    for _ in range(400):
        original = "".join(rng.choice(PHRASES) for _ in range(rng.randrange(1, 12)))
        converted, alignment = simplify(original)
        for needle in ("互联网", "网络", "软件", "账户", "贷款", "借贷", "小额", "航天飞机", "p2p"):
            at = converted.find(needle)
            if at < 0:
                continue
            start, end = (
                alignment.span(at, at + len(needle)) if alignment else (at, at + len(needle))
            )
            assert 0 <= start < end <= len(original)
            assert needle in simplify(original[start:end])[0], (original, needle)
        if alignment is not None:
            assert list(alignment.starts) == sorted(alignment.starts)
            assert list(alignment.ends) == sorted(alignment.ends)


def test_lone_surrogates_do_not_break_the_conversion() -> None:
    assert prepare("a\ud800網路").text == "a\ufffd网络"


def test_classifier_reports_offsets_in_the_original_traditional_text(
    classifier: Classifier,
) -> None:
    """A real Taiwan title (fresh set) with a summary from a real Taiwan page (卡優新聞網,
    cardu.com.tw/news/detail.php?ns_pk=30399, stored 2026-12-03) that starts with 網際網路,
    which becomes one character shorter: the matches after it still quote the original."""
    title = "網路借貸平台P2P指導原則出爐,金管會明訂4不、6大風控等措施"
    summary = "網際網路蓬勃發展,像是「P2P借貸平台」的新型商業模式因應而生。"
    v = classifier.classify(title, summary)
    assert v.flagged
    texts = {"title": title, "summary": summary}
    in_summary = [m for m in v.matches if m.field == "summary"]
    for m in v.matches:
        surface = texts[m.field][m.start : m.end]
        assert prepare(surface).text == fold_term(m.term) or fold_term(m.term) in {
            fold_term(p)
            for vocab in classifier.engine.vocabs
            for term in vocab.terms
            if term.canonical == m.term
            for p in term.patterns
        }, (m, surface)
    assert not in_summary or all(m.start >= summary.index("「") for m in in_summary)


def test_hong_kong_and_taiwan_headlines_of_the_fresh_set_quote_their_own_text(
    classifier: Classifier,
) -> None:
    """Every match in every traditional-script headline of the fresh set points at characters
    of that headline which convert to the matched pattern."""
    rows = [json.loads(line) for line in FRESH.read_text("utf-8").splitlines() if line.strip()]
    hant = [r for r in rows if r["lang"] == "zh-hant"]
    assert len(hant) >= 50
    patterns: dict[str, set[str]] = {}
    for vocab in classifier.engine.vocabs:
        for term in vocab.terms:
            patterns.setdefault(term.canonical, set()).update(term.patterns)
    checked = 0
    for row in hant:
        v = classifier.classify(row["title"])
        for m in v.matches:
            surface = row["title"][m.start : m.end]
            assert prepare(surface).text in patterns[m.term] | {fold_term(m.term)}, (row, m)
            checked += 1
    assert checked > 30


def test_the_converter_is_imported_only_when_text_is_prepared() -> None:
    code = (
        "import sys, pipeline.cli, pipeline.classify, pipeline.classify.normalize;"
        "print('zhconv_rs' in sys.modules);"
        "from pipeline.classify.normalize import prepare; prepare('借貸');"
        "print('zhconv_rs' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.split()
    assert out == ["False", "True"]
