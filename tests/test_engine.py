"""Rule evaluation at its edges, on small rule files: what fires, what is vetoed, which hits.

Proximity (``near``, ``within``) at the limit, one under and one over, in either order; masks
nested in longer terms and masks in one field next to the same term in another; rules with
many requirements; vetoes limited to fields, to a distance, cancelled by ``unless``; ASCII word
edges and plurals; topic terms inside longer topic terms, and overlaps of equal length.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.classify import Classifier, parse_rules
from pipeline.classify.engine import Engine, Outcome

ROOT = Path(__file__).resolve().parents[1]
GAP = "一"  # filler: a character no test lexicon contains


def engine(body: str) -> Engine:
    return Engine(parse_rules('[meta]\nversion = "e"\n' + body, Path("engine-test.toml")))


def fired(e: Engine, *texts: str) -> list[str]:
    return [f.rule.name for f in e.evaluate(texts).fired]


def vetoed(e: Engine, *texts: str) -> list[tuple[str, str]]:
    return [(v.rule.name, v.exclusion.exclusion.name) for v in e.evaluate(texts).vetoed]


def hits_of(outcome: Outcome, rule: str) -> list[tuple[int, int, int]]:
    """(field, start, end) of each hit that made ``rule`` fire."""
    found = next(f for f in outcome.fired if f.rule.name == rule)
    return [h[:3] for _, h in found.hits]


def missed(e: Engine, *texts: str) -> list[tuple[str, str]]:
    outcome = e.evaluate(texts, detail=True)
    return [(m.rule.name, m.rule.reason(m.missing)) for m in outcome.missed]


# ------------------------------------------------------------------ proximity: near


NEAR = """
[topics.t]
title = "T"
terms = ["网贷"]
[groups.g]
terms = ["暂停"]
[[rules]]
name = "near"
topic = "t"
require = ["t", "g"]
near = 5
"""


def test_near_counts_the_characters_between_the_terms_in_either_order() -> None:
    e = engine(NEAR)
    for gap, fires in ((4, True), (5, True), (6, False)):
        between = GAP * gap
        assert (fired(e, f"网贷{between}暂停") == ["near"]) is fires, gap
        assert (fired(e, f"暂停{between}网贷") == ["near"]) is fires, gap
        assert (fired(e, "", f"前文网贷{between}暂停") == ["near"]) is fires, gap
    assert missed(e, f"网贷{GAP * 6}暂停") == [("near", "terms of t, g not within 5 characters")]


def test_near_needs_one_field() -> None:
    e = engine(NEAR)
    assert fired(e, "网贷", "暂停") == []
    assert missed(e, "网贷", "暂停") == [("near", "terms of t, g not within 5 characters")]


def test_near_tries_every_anchor_hit() -> None:
    e = engine(NEAR)
    text = f"网贷{GAP * 20}网贷{GAP}暂停"  # the first 网贷 is too far, the second is not
    outcome = e.evaluate((text,))
    assert hits_of(outcome, "near") == [(0, 22, 24), (0, 25, 27)]


def test_a_huge_near_is_just_far() -> None:
    e = engine(NEAR.replace("near = 5", "near = 2147483648"))
    assert fired(e, f"网贷{GAP * 1000}暂停") == ["near"]


def test_without_near_the_weakest_field_decides_the_relevance() -> None:
    e = engine(NEAR.replace("near = 5\n", "weight = 4\n"))
    outcome = e.evaluate(("网贷", "暂停", ""))
    (f,) = outcome.fired
    assert hits_of(outcome, "near") == [(0, 0, 2), (1, 0, 2)]
    assert (f.field, f.relevance) == (1, 4 * 0.6)  # summary: field weight 0.6


# ------------------------------------------------------------------ many requirements

TEN = "甲乙丙丁戊己庚辛壬癸"
WIDE = (
    '[topics.t]\ntitle = "T"\n'
    + "".join(f'[groups.g{i}]\nterms = ["{ch}"]\n' for i, ch in enumerate(TEN))
    + '[[rules]]\nname = "all-ten"\ntopic = "t"\nnear = 30\nrequire = ['
    + ", ".join(f'"g{i}"' for i in range(10))
    + "]\n"
)


def test_a_rule_with_ten_requirements_fires_when_all_ten_are_there() -> None:
    e = engine(WIDE)
    outcome = e.evaluate((TEN,))
    assert hits_of(outcome, "all-ten") == [(0, i, i + 1) for i in range(10)]
    shuffled = "癸" + GAP + "乙甲" + GAP * 3 + "丁丙己戊" + GAP + "辛庚壬"
    assert fired(e, shuffled) == ["all-ten"]
    assert fired(e, "", "", TEN) == ["all-ten"]


def test_a_rule_with_ten_requirements_names_the_one_missing() -> None:
    e = engine(WIDE)
    assert fired(e, TEN[:-1]) == []
    assert missed(e, TEN[:-1]) == [("all-ten", "needs a term of 'g9'")]
    assert missed(e, TEN[1:]) == []  # without its anchor (甲) a rule is not even a near miss


def test_near_is_measured_from_the_anchor_not_between_the_others() -> None:
    e = engine(WIDE)
    # 乙 30 characters before 甲, the rest 30 after it: 60 apart from each other, fine.
    text = "乙" + GAP * 30 + "甲" + GAP * 22 + "丙丁戊己庚辛壬癸"
    assert fired(e, text) == ["all-ten"]
    too_far = "乙" + GAP * 31 + "甲" + "丙丁戊己庚辛壬癸"
    assert fired(e, too_far) == []
    assert missed(e, too_far) == [
        ("all-ten", f"terms of {', '.join(f'g{i}' for i in range(10))} not within 30 characters")
    ]


# ------------------------------------------------------------------ vetoes

VETOES = """
[topics.t]
title = "T"
terms = ["网贷"]
[groups.reg]
terms = ["监管"]
[exclusions.howto]
mode = "veto"
fields = ["title"]
unless = ["reg"]
terms = ["怎么"]
[exclusions.merchant]
mode = "veto"
within = 3
terms = ["商家"]
[[rules]]
name = "plain"
topic = "t"
require = ["t"]
exclude = ["howto", "merchant"]
"""


def test_a_veto_within_a_distance_in_either_order() -> None:
    e = engine(VETOES)
    for gap, veto in ((2, True), (3, True), (4, False)):
        between = GAP * gap
        for text in (f"网贷{between}商家", f"商家{between}网贷"):
            assert (vetoed(e, text) == [("plain", "merchant")]) is veto, text
            assert (fired(e, text) == ["plain"]) is not veto, text


def test_a_veto_within_a_distance_needs_the_rules_field() -> None:
    e = engine(VETOES)
    assert fired(e, "网贷", "商家") == ["plain"]  # both at offset 0, but not in one field
    assert vetoed(e, "网贷", "商家") == []


def test_a_veto_limited_to_fields_and_cancelled_by_unless() -> None:
    e = engine(VETOES)
    assert vetoed(e, "网贷怎么还") == [("plain", "howto")]
    assert fired(e, "网贷", "怎么还") == ["plain"]  # 怎么 outside the exclusion's fields
    assert fired(e, "网贷怎么监管") == ["plain"]  # unless: 监管 in the title cancels it
    # 监管 in the summary does not: ``unless`` counts in the exclusion's fields only
    assert vetoed(e, "网贷怎么还", "监管") == [("plain", "howto")]


def test_the_first_exclusion_listed_is_the_one_reported() -> None:
    e = engine(VETOES)
    outcome = e.evaluate(("网贷商家怎么",))
    assert [(v.rule.name, v.exclusion.exclusion.name, v.hit[:3]) for v in outcome.vetoed] == [
        ("plain", "howto", (0, 4, 6))
    ]


# ------------------------------------------------------------------ masks

MASK = """
[topics.t]
title = "T"
terms = ["甲乙丙丁"]
[groups.g]
terms = ["丙"]
[exclusions.m]
mode = "mask"
terms = ["甲乙"]
[[rules]]
name = "long-term"
topic = "t"
require = ["t"]
[[rules]]
name = "inner"
topic = "t"
require = ["g"]
"""


def test_a_mask_nested_in_a_longer_term_hides_it_and_not_what_follows() -> None:
    # Regression from the compiled kernel: a kept hit between a mask and the hit it overlaps
    # once overwrote the mask. 甲乙 hides 甲乙丙丁; 丙, after the mask, stays.
    e = engine(MASK)
    outcome = e.evaluate(("甲乙丙丁",))
    assert [f.rule.name for f in outcome.fired] == ["inner"]
    assert hits_of(outcome, "inner") == [(0, 2, 3)]
    assert fired(e, "丙丁甲乙丙丁") == ["inner"]  # the same with 丙 before the mask too


def test_a_mask_over_the_middle_hides_everything_it_touches() -> None:
    e = engine(MASK.replace('terms = ["甲乙"]', 'terms = ["乙丙"]'))
    assert fired(e, "甲乙丙丁") == []
    assert fired(e, "甲乙丙丁", "丙") == ["inner"]


def test_a_mask_acts_in_its_own_field_only() -> None:
    # The masked term in one field, the same term alone at the same offsets in another.
    e = engine(MASK.replace('terms = ["甲乙"]', 'terms = ["乙丙"]'))
    for texts, field in (
        (("甲乙丙", "一一丙"), 1),
        (("一一丙", "甲乙丙"), 0),
        (("甲乙丙", "", "一一丙"), 2),
    ):
        outcome = e.evaluate(texts)
        assert hits_of(outcome, "inner") == [(field, 2, 3)], texts


def test_the_shipped_rules_mask_an_authority_run_into_a_longer_term() -> None:
    # 外汇风险准备金 masks the 金融监管总局 it runs into: no authority is named.
    classifier = Classifier.from_file(ROOT / "rules.toml")
    verdict = classifier.classify("外汇风险准备金融监管总局 借呗")
    assert verdict.authority is None
    assert "金融监管总局" not in {m.term for m in verdict.matches}
    assert classifier.classify("金融监管总局 借呗暂停").authority == "国家金融监督管理总局"


# ------------------------------------------------------------------ topic containment

TOPICS = """
[topics.p2p]
title = "P2P"
terms = ["网贷", "loans"]
[topics.online]
title = "online"
terms = ["互联网贷款", "payday loan"]
[topics.other]
title = "other"
terms = ["联网贷"]
[[rules]]
name = "r-p2p"
topic = "p2p"
require = ["p2p"]
[[rules]]
name = "r-online"
topic = "online"
require = ["online"]
[[rules]]
name = "r-other"
topic = "other"
require = ["other"]
"""


def test_a_topic_term_inside_a_longer_one_of_another_topic_is_dropped() -> None:
    e = engine(TOPICS)
    outcome = e.evaluate(("互联网贷款",))
    assert [f.rule.name for f in outcome.fired] == ["r-online"]
    assert hits_of(outcome, "r-online") == [(0, 0, 5)]
    assert sorted(fired(e, "网贷 互联网贷款")) == ["r-online", "r-p2p"]  # 网贷 alone counts
    assert fired(e, "联网贷") == ["r-other"]  # alone; inside 互联网贷款 above it was dropped
    assert sorted(fired(e, "互联网贷款", "一一网贷")) == ["r-online", "r-p2p"]


def test_containment_counts_the_accepted_plural() -> None:
    # "payday loan" matches "payday loans" and then holds "loans" (topic p2p) inside it.
    e = engine(TOPICS)
    outcome = e.evaluate(("New rules on payday loans",))
    assert [f.rule.name for f in outcome.fired] == ["r-online"]
    assert hits_of(outcome, "r-online") == [(0, 13, 25)]
    assert fired(e, "Banks cut loans") == ["r-p2p"]


def test_overlapping_topic_terms_of_equal_length_are_both_kept() -> None:
    e = engine(
        TOPICS.replace('terms = ["联网贷"]', 'terms = ["贷款公司"]').replace(
            '"互联网贷款", "payday loan"', '"互联网贷款", "payday loan", "小额贷款"'
        )
    )
    # 小额贷款 [0:4] and 贷款公司 [2:6]: neither holds the other, so neither is dropped.
    outcome = e.evaluate(("小额贷款公司",))
    assert sorted(f.rule.name for f in outcome.fired) == ["r-online", "r-other"]
    assert hits_of(outcome, "r-online") == [(0, 0, 4)]
    assert hits_of(outcome, "r-other") == [(0, 2, 6)]


# ------------------------------------------------------------------ ASCII word edges

ASCII = """
[topics.t]
title = "T"
terms = ["loan", "5%", "ant"]
[[rules]]
name = "en"
topic = "t"
require = ["t"]
"""


def test_ascii_terms_match_whole_words_and_a_plural() -> None:
    e = engine(ASCII)
    cases = {
        "loan": (0, 4),
        "Loans": (0, 5),
        "LOAN.": (0, 4),
        "pay-loan": (4, 8),
        "借loan款": (1, 5),
        "ＬＯＡＮ": (0, 4),
        "rate 5% cap": (5, 7),
        "ant group": (0, 3),
    }
    for text, span in cases.items():
        outcome = e.evaluate((text,))
        assert hits_of(outcome, "en") == [(0, *span)], text
    for text in ("loanable", "bankloan", "loanss", "important", "rate 3.5% cap", "x5%"):
        assert fired(e, text) == [], text


# ------------------------------------------------------------------ fields, order, ranking

RANKED = """
[topics.t]
title = "T"
terms = ["网贷"]
[groups.g]
terms = ["暂停"]
[[rules]]
name = "b-flag"
topic = "t"
require = ["t"]
weight = 3
[[rules]]
name = "a-flag"
topic = "t"
require = ["t"]
weight = 3
[[rules]]
name = "neighbour"
topic = "t"
require = ["t"]
weight = 9
flag = false
[[rules]]
name = "later-fields"
topic = "t"
require = ["t", "g"]
fields = ["summary", "body"]
weight = 2
"""


def test_fired_rules_rank_flagging_first_then_relevance_then_name() -> None:
    e = engine(RANKED)
    assert fired(e, "网贷暂停") == ["a-flag", "b-flag", "neighbour"]
    assert fired(e, "", "网贷暂停") == ["a-flag", "b-flag", "later-fields", "neighbour"]


def test_a_rule_limited_to_fields_ignores_the_others() -> None:
    e = engine(RANKED)
    assert "later-fields" not in fired(e, "网贷暂停")
    assert ("later-fields", "no match in its fields (summary, body)") in missed(e, "网贷暂停")
    assert ("later-fields", "needs a term of 'g'") in missed(e, "", "网贷")


def test_a_one_term_rule_takes_the_title_hit_first() -> None:
    e = engine(RANKED)
    outcome = e.evaluate(("新规：网贷", "网贷平台"))
    assert hits_of(outcome, "a-flag") == [(0, 3, 5)]


def test_no_rule_anchor_no_outcome() -> None:
    e = engine(RANKED)
    outcome = e.evaluate(("暂停", "暂停", "暂停"), detail=True)
    assert (outcome.fired, outcome.vetoed, outcome.missed) == ([], [], [])
