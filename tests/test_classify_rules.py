"""rules.toml validation and the rule semantics (co-occurrence, proximity, exclusions) on small,
self-contained rule files."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.classify import Classifier, cached_classifier, load_rules, parse_rules
from pipeline.errors import ConfigError

MINIMAL = """
[meta]
version = "t1"

[topics.p2p]
title = "P2P"
terms = ["网贷"]
aliases = { "P2P" = ["peer to peer lending"] }

[topics.platform-change]
title = "platform"

[groups.products]
terms = ["借呗"]

[groups.events]
terms = ["关闭", "下调"]

[groups.regulatory]
terms = ["监管"]

[exclusions.howto]
mode = "veto"
fields = ["title"]
unless = ["regulatory"]
terms = ["怎么"]

[exclusions.near-merchant]
mode = "veto"
within = 3
terms = ["商家"]

[exclusions.deposits]
mode = "mask"
terms = ["存款网贷"]

[authorities.nfra]
name = "国家金融监督管理总局"
weight = 3
names = ["银保监会"]

[doctypes.normative]
name = "规范性文件"
weight = 2.5
terms = ["通知"]

[actions.closure]
name = "关闭"
weight = 5
terms = ["关闭"]

[[rules]]
name = "p2p"
topic = "p2p"
require = ["p2p"]

[[rules]]
name = "product-event"
topic = "platform-change"
require = ["products", "events"]
near = 5
exclude = ["howto", "near-merchant"]
"""


def problems(text: str, tmp_path: Path) -> list[str]:
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_rules(path)
    return list(err.value.problems)


def classifier(text: str = MINIMAL, path: Path = Path("rules.toml")) -> Classifier:
    return Classifier(parse_rules(text, path))


def test_the_shipped_rules_load() -> None:
    rules = load_rules(Path(__file__).resolve().parents[1] / "rules.toml")
    assert rules.rules and rules.authorities and rules.doctypes and rules.actions
    assert rules.version.startswith("2026.1+")


def test_version_is_declared_version_plus_content_hash() -> None:
    a = parse_rules(MINIMAL, Path("a.toml"))
    b = parse_rules(MINIMAL + "\n# a comment changes the content\n", Path("a.toml"))
    assert a.version.startswith("t1+") and b.version.startswith("t1+")
    assert a.version != b.version
    assert parse_rules(MINIMAL, Path("other.toml")).version == a.version


def test_every_problem_is_reported_at_once_naming_file_table_and_key(tmp_path: Path) -> None:
    text = MINIMAL.replace('version = "t1"', 'version = "t1"\nauthor = "x"')
    text = text.replace('require = ["products", "events"]', 'require = ["products", "evnts"]')
    text = text.replace('mode = "mask"', 'mode = "hide"')
    text += '\n[[rules]]\nname = "p2p"\ntopic = "nope"\nrequire = ["p2p"]\nweight = -1\n'
    found = problems(text, tmp_path)
    where = str(tmp_path / "rules.toml")
    assert all(p.startswith(f"{where}: ") for p in found)
    joined = "\n".join(found)
    assert "meta.author: unknown key; allowed keys: description, version" in joined
    assert "rules[1] (product-event).require: unknown vocabulary 'evnts'" in joined
    assert "exclusions.deposits.mode: expected one of veto, mask, got 'hide'" in joined
    assert "rules[2] (p2p).name: duplicate rule name" in joined
    assert "rules[2] (p2p).topic: unknown topic 'nope'" in joined
    assert "rules[2] (p2p).weight: must not be negative" in joined
    assert "groups.events: not used by any rule or exclusion" in joined
    assert len(found) == 7


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (('terms = ["关闭", "下调"]', 'terms = ["关闭", "關閉"]'), "repeats '关闭'"),
        (('terms = ["关闭", "下调"]', 'terms = ["关闭", "  "]'), "empty term"),
        (('terms = ["关闭", "下调"]', 'terms = ["关闭", 3]'), "expected a string, got 3"),
        (('terms = ["关闭", "下调"]', "terms = []"), "groups.events: needs at least one term"),
        (("near = 5", "near = -1"), "near: must not be negative"),
        (("within = 3", "within = -3"), "within: must not be negative"),
        (('fields = ["title"]', 'fields = ["headline"]'), "expected a non-empty list of"),
        (('mode = "mask"', 'mode = "mask"\nunless = ["regulatory"]'), "apply to mode = 'veto'"),
        (('exclude = ["howto", "near-merchant"]', 'exclude = ["deposits"]'), "is a mask"),
        (("[groups.products]", "[groups.p2p]"), "topics and groups share one namespace"),
        (('require = ["p2p"]', 'require = ["platform-change"]'), "has no terms of its own"),
        (('version = "t1"', "version = 1"), "meta.version: expected string, got int"),
        (
            ("weight = 2.5", 'weight = "high"'),
            "normative.weight: expected integer or number, got str",
        ),
        (('name = "关闭"', 'name = "关闭"\nlabel = "x"'), "actions.closure.label: unknown key"),
        (("[meta]", "[scoring]\nhigh = 1.0\nmedium = 2.0\n\n[meta]"), "must be above"),
        (("[meta]", "[extras]\n[meta]"), "extras: unknown table; allowed: meta, scoring"),
        (('[[rules]]\nname = "p2p"', '[[rules]]\nnom = "p2p"'), "name: missing required key"),
        (("[groups.regulatory]", '[groups.spare]\nterms = ["x"]\n[groups.regulatory]'), "not used"),
    ],
)
def test_validation(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    old, new = change
    assert old in MINIMAL
    found = problems(MINIMAL.replace(old, new, 1), tmp_path)
    assert any(expected in p for p in found), found


def test_unreadable_or_invalid_toml(tmp_path: Path) -> None:
    assert "rules file not found" in problems_missing(tmp_path)
    found = problems("[meta\nversion = 1", tmp_path)
    assert len(found) == 1 and "not valid TOML" in found[0]


def problems_missing(tmp_path: Path) -> str:
    with pytest.raises(ConfigError) as err:
        load_rules(tmp_path / "absent.toml")
    return str(err.value)


def test_aliases_report_the_canonical_term() -> None:
    v = classifier().classify("New peer-to-peer lending platform")
    assert v.flagged and v.topics == ("p2p",)
    assert [m.term for m in v.matches] == ["P2P"]
    assert classifier().classify("P2P清退").matches[0].term == "P2P"


def test_co_occurrence_and_proximity() -> None:
    c = classifier()
    assert c.classify("借呗宣布关闭").flagged
    assert not c.classify("借呗").flagged
    far = c.classify("借呗推出新版页面，此前多家机构宣布关闭", detail=True)
    assert not far.flagged
    assert any("not within 5 characters" in line for line in far.explanation)
    # proximity is within one field: product in the title, event in the summary
    assert not c.classify("借呗", "关闭").flagged


def test_veto_with_unless_and_within() -> None:
    c = classifier()
    assert not c.classify("借呗怎么关闭").flagged
    assert c.classify("借呗怎么关闭 监管要求").flagged  # 'unless' cancels the veto
    # ... only where the exclusion looks: a regulator named in a how-to's summary does not
    assert not c.classify("借呗怎么关闭", "监管部门的官网上也能查到步骤").flagged
    assert c.classify("借呗关闭", "借呗怎么关闭").flagged  # howto looks at the title only
    assert not c.classify("商家借呗关闭").flagged  # within 3 characters
    assert c.classify("借呗关闭，此后由相关商家另行安排").flagged  # exclusion too far away


def test_mask_hides_overlapping_terms() -> None:
    c = classifier()
    assert not c.classify("存款网贷").flagged
    assert c.classify("存款与网贷").flagged


def test_severity_from_issuer_doctype_and_action() -> None:
    c = classifier()
    plain = c.classify("网贷")
    ruled = c.classify("关于网贷的通知", issuer="nfra", authority="regulator")
    assert (plain.severity, plain.score) == ("low", 3.0)
    assert ruled.score == 3.0 + 3.0 + 2.5
    assert ruled.severity == "high"
    closed = c.classify("借呗关闭")
    assert closed.score == 3.0 + 5.0 and closed.severity == "high"


def test_cached_classifier_recompiles_only_when_the_file_changes(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(MINIMAL, encoding="utf-8")
    first = cached_classifier(path)
    assert cached_classifier(path) is first  # unchanged: the compiled rules are reused
    assert first.classify("借呗关闭").flagged

    path.write_text(MINIMAL.replace('version = "t1"', 'version = "t2"'), encoding="utf-8")
    second = cached_classifier(path)
    assert second is not first
    assert second.version.startswith("t2+")

    # A broken edit fails loudly every time; the last good rules are never used silently.
    path.write_text(MINIMAL + "\n[[rules]]\nname = 1\n", encoding="utf-8")
    for _ in range(2):
        with pytest.raises(ConfigError, match=r"rules\.toml"):
            cached_classifier(path)
    path.unlink()
    with pytest.raises(ConfigError, match="rules file not found"):
        cached_classifier(path)
    path.write_text(MINIMAL.replace('version = "t1"', 'version = "t2"'), encoding="utf-8")
    assert cached_classifier(path) is second  # fixed again: the same content, the same rules
