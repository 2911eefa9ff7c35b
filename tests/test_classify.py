"""The classifier on the shipped rules.toml: data-driven cases, folding, offsets, explanations."""

from __future__ import annotations

import json
import random
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from pipeline.classify import Classifier
from pipeline.classify.docnum import find_doc_numbers, normalize_doc_number
from pipeline.classify.evaluate import evaluate
from pipeline.classify.normalize import fold, fold_term, prepare
from pipeline.models import Verdict

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules.toml"
CASES = tomllib.loads((Path(__file__).parent / "data" / "classify_cases.toml").read_text("utf-8"))
DEV = Path(__file__).resolve().parent / "data" / "eval" / "dev.jsonl"  # see its README
DOMAIN = Path(__file__).resolve().parent / "data" / "domain_headlines.jsonl"
# Gathered 2026-12-03 from stored public pages, after the rules were built (see their README):
# real headlines in three scripts, question-form page titles, and a held-out set.
FRESH = DEV.parent / "fresh.jsonl"
QA = DEV.parent / "qa.jsonl"
RESERVE = DEV.parent / "reserve.jsonl"


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier.from_file(RULES)


def _case_id(case: dict[str, Any]) -> str:
    return str(case["title"])[:40]


@pytest.mark.parametrize("case", CASES["case"], ids=_case_id)
def test_case(classifier: Classifier, case: dict[str, Any]) -> None:
    v = classifier.classify(
        case["title"],
        case.get("summary", ""),
        case.get("body", ""),
        issuer=case.get("issuer"),
        authority=case.get("authority"),
    )
    why = "\n".join(v.explanation)
    assert v.flagged is case["flagged"], why
    if "severity" in case:
        assert (v.severity or "none") == case["severity"], why
    if "topic" in case:
        assert case["topic"] in v.topics, why
    if "not_topic" in case:
        assert case["not_topic"] not in v.topics, why
    if "rule" in case:
        assert case["rule"] in {m.rule for m in v.matches}, why
    if "vetoed_by" in case:
        assert any(f"vetoed by exclusion {case['vetoed_by']}:" in line for line in v.explanation)
    if "doc_numbers" in case:
        assert list(v.doc_numbers) == case["doc_numbers"]
    if not v.flagged:
        assert v.severity is None


@pytest.mark.parametrize("case", CASES["fold"], ids=lambda c: str(c["text"]))
def test_fold(case: dict[str, str]) -> None:
    assert prepare(case["text"]).text == case["folded"]
    assert len(fold(case["text"])) == len(case["text"])


@pytest.mark.parametrize("case", CASES["docnum"], ids=lambda c: str(c["text"]))
def test_doc_numbers(case: dict[str, Any]) -> None:
    assert list(find_doc_numbers(case["text"])) == case["numbers"]


def test_normalize_one_doc_number() -> None:
    assert normalize_doc_number("银保监发［２０２０］９号") == "银保监发〔2020〕9号"
    assert normalize_doc_number("第9号文件") is None


def test_fold_keeps_length_on_any_text() -> None:
    rng = random.Random(7)
    alphabet = "借唄貸款ＡＢＣａｂｃ１２３％　…—-’İﬁ㈱①\t\n xyzXYZ網路小額" + "".join(
        chr(rng.randrange(0x20, 0xFFFF)) for _ in range(300)
    )
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 60)))
        if any(0xD800 <= ord(c) < 0xE000 for c in text):
            continue
        assert len(fold(text)) == len(text)


def test_fold_of_ascii_text_equals_the_general_path() -> None:
    """ASCII text takes a shortcut (lower + a few replacements); one full-width character
    appended sends the same text down the general path, which must agree."""
    rng = random.Random(11)
    alphabet = "abcXYZ019 \t\n\r\x0b\x0c-_.,'\"%+&/()[]Ss"
    for _ in range(500):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 40)))
        assert fold(text) == fold(text + "Ａ")[:-1]
        assert fold(text + "Ａ")[-1] == "a"


def test_fold_keeps_length_for_every_character() -> None:
    """Each code point between two others (lone surrogates and letters whose lower case is
    longer included): offsets into the folded text stay offsets into the original."""
    for cp in range(sys.maxunicode + 1):
        text = f"A{chr(cp)}中"
        assert len(fold(text)) == 3, hex(cp)
    assert fold("µ") == "μ"  # the micro sign folds to the Greek letter (NFKC), not to itself
    assert fold("İ") == "İ"  # its lower case is two characters: kept as is
    assert fold("ＬＯＡＮ貸") == "loan貸"  # the script is converted by ``prepare``, not here
    assert prepare("ＬＯＡＮ貸").text == "loan贷"


def test_fold_term_collapses_spaces() -> None:
    assert fold_term("  Buy  Now\tPay Later ") == "buy now pay later"


def test_offsets_point_into_the_original_text(classifier: Classifier) -> None:
    title = "【快讯】Ｐ２Ｐ網貸平臺……已全部清退"
    summary = "据悉，多地金融局表示，網絡小額貸款公司须在年底前完成整改。"
    v = classifier.classify(title, summary)
    assert v.flagged
    texts = {"title": title, "summary": summary}
    assert v.matches
    for m in v.matches:
        surface = texts[m.field][m.start : m.end]
        assert prepare(surface).text in {fold_term(m.term)} | {
            fold_term(p) for p in _patterns(classifier, m.term)
        }, m


def _patterns(classifier: Classifier, canonical: str) -> set[str]:
    return {
        p
        for vocab in classifier.engine.vocabs
        for term in vocab.terms
        if term.canonical == canonical
        for p in term.patterns
    }


def test_title_weighs_more_than_summary_and_body(classifier: Classifier) -> None:
    in_title = classifier.classify("网贷平台清退进展", "")
    in_summary = classifier.classify("行业观察", "网贷平台清退进展")
    in_body = classifier.classify("行业观察", "", "网贷平台清退进展")
    assert in_title.flagged and in_summary.flagged
    assert in_title.score > in_summary.score
    assert not in_body.flagged  # body-only mentions are reported, not flagged
    assert in_body.topics == ()
    assert in_body.explanation[0].startswith("not flagged: matches only in body")


def test_english_terms_match_whole_words_only(classifier: Classifier) -> None:
    assert not classifier.classify("Rebnplx and rubnpl are made-up words").flagged
    assert classifier.classify("BNPL firms face new affordability checks").flagged
    assert classifier.classify("Regulators target payday loans").flagged  # plural accepted


def test_severity_arithmetic_is_explained(classifier: Classifier) -> None:
    v = classifier.classify(
        "关于加强小额贷款公司监督管理的通知", issuer="nfra", authority="regulator"
    )
    assert v.flagged and v.severity == "high"
    line = next(x for x in v.explanation if x.startswith("severity:"))
    assert "relevance 3" in line and "authority 3" in line and "doctype 2.5" in line
    assert f"= {v.score:g} -> high" in line
    assert v.authority == "国家金融监督管理总局"
    assert v.snippet and "小额贷款公司" in v.snippet
    assert v.rules_version == classifier.version
    assert v.explanation[-1] == f"rules version {classifier.version}"


def test_authority_named_in_the_title_counts(classifier: Classifier) -> None:
    from_media = classifier.classify("网络小贷公司监管新规发布")
    named = classifier.classify("银保监会：网络小贷公司监管新规发布")
    assert named.score > from_media.score
    assert named.authority == "国家金融监督管理总局"


def test_issuer_by_key_or_name_and_unknown_issuer(classifier: Classifier) -> None:
    by_key = classifier.classify("小额贷款公司分类评级办法", issuer="local", authority="regulator")
    by_name = classifier.classify("小额贷款公司分类评级办法", issuer="地方金融监督管理局")
    unknown = classifier.classify("小额贷款公司分类评级办法", issuer="nowhere")
    assert by_key.score == by_name.score > unknown.score
    assert any("unknown issuer 'nowhere'" in line for line in unknown.explanation)


def test_not_flagged_explains_near_misses(classifier: Classifier) -> None:
    v = classifier.classify("借呗新版页面设计曝光", detail=True)
    assert not v.flagged
    assert any(line.startswith("rule platform-change not matched") for line in v.explanation)
    plain = classifier.classify("借呗新版页面设计曝光")
    assert plain.explanation[0] == "not flagged: no rule matched"
    assert not any("not matched" in line for line in plain.explanation)


def test_verdict_round_trips_through_json(classifier: Classifier) -> None:
    v = classifier.classify("支付宝借呗暂停部分用户借款服务", "据悉，关闭原因是风控调整。")
    again = Verdict.from_dict(json.loads(v.to_json()))
    assert again == v


def test_nothing_matched_is_a_plain_verdict(classifier: Classifier) -> None:
    v = classifier.classify("宝马8月在华销量近腰斩", "")
    assert (v.flagged, v.severity, v.score, v.topics, v.matches) == (False, None, 0.0, (), ())
    assert v.explanation[0] == "not flagged: no rule matched"


@pytest.mark.parametrize("path", [DEV, DOMAIN, FRESH, QA], ids=["dev", "domain", "fresh", "qa"])
def test_eval_on_labelled_headlines(classifier: Classifier, path: Path) -> None:
    """Precision and recall >= 0.95 for "affects online lending", no neighbour rated high.

    ``dev``: 165 real headlines, labelled (a copy of the steering repo's shared/eval).
    ``domain``: 957 items written from domain knowledge to probe the lexicon (regulator titles,
    press, English, traditional Chinese, the hard negatives, a realistic week, many with a
    summary that decides).
    ``fresh``: 189 real headlines gathered after the rules were built, a third each in
    simplified Chinese, traditional Chinese (Hong Kong, Taiwan, reprints) and English, 39 %
    hard negatives. ``qa``: 40 question-form page titles; only those that report a change or
    explain a new rule affect online lending."""
    with path.open(encoding="utf-8") as fh:
        report = evaluate(classifier, fh)
    assert not report.bad_lines
    assert report.precision >= 0.95, [s.title for s in report.false_alarms]
    assert report.recall >= 0.95, [s.title for s in report.misses]
    assert not report.label1_high


def test_fresh_set_holds_in_every_script(classifier: Classifier) -> None:
    """Simplified, traditional and English each >= 0.95 on the fresh set (no script carried
    by the others)."""
    with FRESH.open(encoding="utf-8") as fh:
        languages = evaluate(classifier, fh).by_language()
    assert set(languages) == {"zh", "zh-hant", "en"}
    for lang, report in languages.items():
        assert report.precision >= 0.95 and report.recall >= 0.95, (lang, report.misses)


@pytest.mark.parametrize(
    "path", [DEV, DOMAIN, FRESH, QA, RESERVE], ids=["dev", "domain", "fresh", "qa", "reserve"]
)
def test_nothing_that_does_not_affect_online_lending_is_high(
    classifier: Classifier, path: Path
) -> None:
    """``high`` is for what changes the availability, price or rules of online credit: no
    item labelled 0 or 1 in any labelled set is rated high."""
    with path.open(encoding="utf-8") as fh:
        report = evaluate(classifier, fh)
    high = [s.title for s in report.scored if s.label < 2 and s.verdict.severity == "high"]
    assert high == []


def test_dev_set_does_not_regress(classifier: Classifier) -> None:
    """The real headlines at today's figures (precision 1.000, recall 0.981): no false alarm,
    no neighbour flagged, and no miss but the UK statutory instrument that names no lending
    term (d124, "Financial Services and Markets Act 2000 (Regulated Activities etc.)
    (Amendment) Order 2025")."""
    with DEV.open(encoding="utf-8") as fh:
        report = evaluate(classifier, fh)
    assert len(report.scored) == 165
    assert [s.id for s in report.false_alarms] == []
    assert [s.id for s in report.label1_flagged] == []
    assert {s.id for s in report.misses} <= {"d124"}
    assert report.true_positives >= 53


def test_the_document_type_and_action_that_weighed_severity_are_reported_as_matches(
    classifier: Classifier,
) -> None:
    verdict = classifier.classify("关于暂停借呗新增授信的公告")
    marks = [
        (m.term, m.field, m.start, m.end, m.kind) for m in verdict.matches if m.rule == "severity"
    ]
    assert marks == [
        ("公告", "title", 11, 13, "doctype:normative"),
        ("暂停", "title", 2, 4, "action:closure"),
    ]
    # a news item with no document type and no action reports neither
    plain = classifier.classify("网络小贷行业观察")
    assert not [m for m in plain.matches if m.rule == "severity"]
