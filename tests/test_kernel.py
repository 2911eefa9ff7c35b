"""The compiled rule-evaluation kernel against the pure-Python engine it must equal.

``Engine.evaluate_python`` is the reference; the kernel (``pipeline/classify/_kernel.pyx``) must
give the same outcome (hits, fired, vetoed and nearly-fired rules, in the same order) and so the
same verdicts, on the labelled headlines, the rules cases, and generated text built to hit the
edge cases: ASCII word edges and plurals, masks, topic containment, proximity, many hits.
"""

from __future__ import annotations

import json
import logging
import random
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.classify import Classifier, kernel
from pipeline.classify.engine import Engine, Outcome
from pipeline.classify.normalize import fold
from pipeline.classify.rules_load import load_rules, parse_rules
from pipeline.errors import ConfigError
from tests.support.harness import clean_env, lendwatch

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules.toml"
DATA = Path(__file__).parent / "data"
DEV = ROOT.parent / "shared" / "eval" / "dev.jsonl"
ANCHOR = " 借呗"  # a product name: rules anchored on it are evaluated


@pytest.fixture(scope="module")
def engines() -> tuple[Engine, Engine]:
    ruleset = load_rules(RULES)
    compiled = Engine(ruleset)
    if compiled.kernel is None:
        pytest.fail(
            f"the compiled kernel is not in use ({kernel.status()}): build it with {kernel.REBUILD}"
        )
    return compiled, Engine(ruleset, compiled=False)


def _shape(outcome: Outcome) -> Any:
    return (
        outcome.hits.raw,
        outcome.hits.pids,
        [(f.rule.name, f.hits, f.field, f.relevance) for f in outcome.fired],
        [(v.rule.name, v.exclusion.exclusion.name, v.hit) for v in outcome.vetoed],
        [(m.rule.name, m.anchor, m.missing) for m in outcome.missed],
    )


def _same(engines: tuple[Engine, Engine], texts: tuple[str, ...]) -> None:
    compiled, python = engines
    for detail in (False, True):
        got = compiled.evaluate(texts, detail=detail)
        want = python.evaluate_python(texts, detail=detail)
        assert (got is compiled.empty) == (want is python.empty), texts
        if want is not python.empty:
            assert _shape(got) == _shape(want), texts


def _headlines() -> Iterator[tuple[str, str]]:
    paths = [DATA / "domain_headlines.jsonl", *([DEV] if DEV.exists() else [])]
    for path in paths:
        for line in path.read_text("utf-8").splitlines():
            if line.strip():
                rec = json.loads(line)
                yield rec["title"], rec.get("summary", "")
    cases = tomllib.loads((DATA / "classify_cases.toml").read_text("utf-8"))
    for case in cases["case"]:
        yield case["title"], case.get("summary", "") + case.get("body", "")


def test_kernel_equals_python_on_every_headline(engines: tuple[Engine, Engine]) -> None:
    n = 0
    for title, summary in _headlines():
        # Every field layout: title + summary, a summary moved to the body, one field, two.
        for texts in ((title, summary, ""), (title, "", summary), (f"{title} {summary}",)):
            _same(engines, texts)
        _same(engines, (title, summary))
        n += 1
    assert n > 1000  # the sets are really there


def _generated(rng: random.Random, patterns: list[str], n: int) -> Iterator[tuple[str, ...]]:
    """Texts of lexicon patterns and the characters that decide edges and containment."""
    glue = ["", " ", "s", "x", ".", "3", "，", "的", "了", "—", "新规", "a", "S"]
    for _ in range(n):
        fields = []
        for _field in range(3):
            parts = []
            for _part in range(rng.randint(0, 9)):
                pick = rng.random()
                if pick < 0.55:
                    parts.append(rng.choice(patterns))
                elif pick < 0.65:  # a pattern with a random letter cut or case flipped
                    p = rng.choice(patterns)
                    parts.append(p[1:] if rng.random() < 0.5 else p.upper())
                else:
                    parts.append(rng.choice(glue))
            fields.append("".join(parts))
        yield tuple(fields)


def test_kernel_equals_python_on_generated_text(engines: tuple[Engine, Engine]) -> None:
    compiled, _python = engines
    patterns = list(compiled.matcher.patterns)
    for texts in _generated(random.Random(20261128), patterns, 4000):
        _same(engines, texts)


def _aligned(patterns: list[str]) -> Iterator[tuple[str, ...]]:
    """A pattern inside a longer one (a mask, a longer topic term) in one field and alone, at
    the same offsets, in another: masks and containment must act within a field only. Each
    field ends with a term that anchors rules, so that no item is decided before the masks."""
    ordered = sorted(patterns, key=len)
    for outer in ordered:
        for inner in ordered:
            if len(inner) >= len(outer):
                break
            at = outer.find(inner)
            if at < 0:
                continue
            alone = "一" * at + inner + "一" * (len(outer) - at - len(inner)) + ANCHOR
            yield (alone, outer + ANCHOR, "")
            yield (outer + ANCHOR, "", alone)
            yield (alone, alone + outer, outer + ANCHOR)


def test_kernel_equals_python_on_aligned_fields(engines: tuple[Engine, Engine]) -> None:
    assert engines[1].evaluate_python((ANCHOR,)) is not engines[1].empty
    patterns = list(engines[0].matcher.patterns)
    n = 0
    for texts in _aligned(patterns):
        _same(engines, texts)
        n += 1
    assert n > 300


def _distances(engine: Engine) -> Iterator[tuple[str, ...]]:
    """A rule's terms (and an exclusion's term) at exactly ``near`` (``within``) characters,
    one closer and one further, in either order: the boundaries of proximity."""

    def term(vocab: int) -> str:
        return engine.matcher.patterns[min(engine.matcher.vocab_pids[vocab])]

    for cr in engine.rules:
        anchor = term(cr.require[0])
        rest = "".join(term(v) for v in cr.require[1:])  # the rule's other terms
        for v in cr.require[1:] if cr.rule.near else ():
            for g in (cr.rule.near - 1, cr.rule.near, cr.rule.near + 1):
                for text in (anchor + "一" * g + term(v), term(v) + "一" * g + anchor):
                    yield (text, "", "")
                    yield ("", text + rest, "")
        for ce in (ce for ce in cr.exclude if ce.exclusion.within):
            veto, within = term(ce.vocab), ce.exclusion.within
            for g in (within - 1, within, within + 1):
                # The rule's other terms on the far side of its anchor, the exclusion's term at
                # g characters from the anchor: the anchor decides the distance.
                for text in (rest + anchor + "一" * g + veto, veto + "一" * g + anchor + rest):
                    yield (text, "", "")
                    yield ("", text, "")


def test_kernel_equals_python_at_proximity_boundaries(engines: tuple[Engine, Engine]) -> None:
    n = 0
    for texts in _distances(engines[0]):
        _same(engines, texts)
        n += 1
    assert n > 100


# Small rules that reach the kernel's other paths: a rule with more requirements than its stack
# holds (10), rules restricted to some fields, exclusions with fields, ``within`` and ``unless``.
WIDE = (
    '[meta]\nversion = "wide"\n[topics.t]\ntitle = "T"\nterms = ["网贷"]\n'
    + "".join(f'[groups.g{i}]\nterms = ["{ch}"]\n' for i, ch in enumerate("甲乙丙丁戊己庚辛壬癸"))
    + '[groups.reg]\nterms = ["监管"]\n'
    '[exclusions.howto]\nmode = "veto"\nfields = ["title"]\nunless = ["reg"]\nterms = ["怎么"]\n'
    '[exclusions.close]\nmode = "veto"\nwithin = 2\nfields = ["summary"]\nterms = ["商家"]\n'
    '[exclusions.mask]\nmode = "mask"\nterms = ["存款网贷"]\n'
    '[[rules]]\nname = "all-ten"\ntopic = "t"\nnear = 30\n'
    + "require = ["
    + ", ".join(f'"g{i}"' for i in range(10))
    + "]\n"
    '[[rules]]\nname = "summary-only"\ntopic = "t"\nfields = ["summary", "body"]\n'
    'require = ["t", "g1"]\nexclude = ["howto", "close"]\n'
    '[[rules]]\nname = "title-near"\ntopic = "t"\nfields = ["title"]\nnear = 4\n'
    'require = ["g0", "t"]\nexclude = ["howto"]\n'
)


def test_kernel_equals_python_on_small_rules_with_wide_rules() -> None:
    ruleset = parse_rules(WIDE, Path("wide.toml"))
    engines = (Engine(ruleset), Engine(ruleset, compiled=False))
    assert engines[0].kernel is not None
    patterns = list(engines[0].matcher.patterns)
    for texts in _generated(random.Random(5), patterns, 2000):
        _same(engines, texts)
    rng = random.Random(6)
    n_fired = 0
    for _ in range(1000):  # the ten terms shuffled, with gaps and the other rules' terms
        words = [
            *"甲乙丙丁戊己庚辛壬癸",
            *rng.sample(["网贷", "商家", "怎么", "监管", "存款网贷"], 2),
        ]
        rng.shuffle(words)
        text = "".join(w + "一" * rng.choice([0, 0, 1, 3]) for w in words)
        texts = tuple(
            text if i == rng.randrange(3) else rng.choice(["", "网贷甲"]) for i in range(3)
        )
        _same(engines, texts)
        n_fired += any(f.rule.name == "all-ten" for f in engines[1].evaluate(texts).fired)
    assert n_fired > 100  # the ten-requirement rule did fire, often
    _same(engines, ("甲乙丙丁戊己庚辛壬癸", "", ""))
    assert engines[0].evaluate(("甲乙丙丁戊己庚辛壬癸",)).fired[0].rule.name == "all-ten"


def test_a_mask_hides_a_later_hit_after_a_kept_one() -> None:
    # Regression: the mask pass compacted the hits in place while still reading the masks, so
    # a kept hit between a mask and the hit it overlaps overwrote the mask.
    rules = (
        '[meta]\nversion = "m"\n[topics.t]\ntitle = "T"\nterms = ["甲乙丙丁"]\n'
        '[groups.g]\nterms = ["丙"]\n[exclusions.m]\nmode = "mask"\nterms = ["甲乙"]\n'
        '[[rules]]\nname = "long-term"\ntopic = "t"\nrequire = ["t"]\n'
        '[[rules]]\nname = "inner"\ntopic = "t"\nrequire = ["g"]\n'
    )
    ruleset = parse_rules(rules, Path("m.toml"))
    engines = (Engine(ruleset), Engine(ruleset, compiled=False))
    _same(engines, ("甲乙丙丁",))
    assert [f.rule.name for f in engines[0].evaluate(("甲乙丙丁",)).fired] == ["inner"]
    # The same on the shipped rules: 外汇风险准备金 masks the 金融监管总局 it runs into.
    compiled = Classifier.from_file(RULES)
    verdict = compiled.classify("外汇风险准备金融监管总局 借呗")
    assert verdict == Classifier(load_rules(RULES), compiled=False).classify(
        "外汇风险准备金融监管总局 借呗"
    )
    assert verdict.authority is None


ATOMS = [
    *"甲乙丙丁",
    *("甲乙丙丁", "甲乙", "乙丙", "丙丁", "甲乙丙"),  # nested: masks and containment inside
    *("网贷", "互联网贷款", "小贷", "贷款", "存款利率上限", "利率上限", "利率", "借呗", "監管"),
    *("loan", "loans", "payday loan", "pay", "bnpl", "a", "ab", "b c", "x1", "3.5", "s", "k"),
    *("Loan App", "app", "ｌｏａｎ", "σ", "Σ", "µ", "😀", "中国", "中"),
]


def _q(value: str) -> str:
    """A TOML string (JSON's escapes are TOML's, but TOML refuses surrogate pairs)."""
    return json.dumps(value, ensure_ascii=False)


def _random_rules(rng: random.Random) -> str:
    """A valid rules file of random vocabularies, masks, vetoes (fields, within, unless), rules
    (fields, near, 1 to 12 requirements) and sometimes hundreds of weighted vocabularies."""

    def terms(k: int) -> str:
        return "terms = [" + ", ".join(_q(t) for t in rng.sample(ATOMS, k)) + "]\n"

    def some_fields() -> str:
        chosen = rng.sample(["title", "summary", "body"], rng.randint(1, 3))
        return "fields = [" + ", ".join(_q(f) for f in chosen) + "]\n"

    groups = [f"g{i}" for i in range(rng.randint(1, 6))]
    topics = [f"t{i}" for i in range(rng.randint(1, 4))]
    out = ['[meta]\nversion = "r"\n']
    out += [f"[groups.{g}]\n" + terms(rng.randint(1, 4)) for g in groups]
    out += [f'[topics.{t}]\ntitle = "T"\n' + terms(rng.randint(1, 4)) for t in topics]
    vetoes = []
    for i in range(rng.randint(0, 4)):
        if rng.random() < 0.3:
            out.append(f'[exclusions.x{i}]\nmode = "mask"\n' + terms(rng.randint(1, 2)))
            continue
        if i == 0 and rng.random() < 0.5:  # a mask inside a longer term, with more after it
            nested = rng.choice(["甲乙", "乙丙", "甲乙丙"])
            out.append(f'[exclusions.x{i}]\nmode = "mask"\nterms = ["{nested}"]\n')
            # and terms it overlaps, with terms inside them that it does not
            out.append('[groups.gn]\nterms = ["甲乙丙丁", "丙", "丁"]\n')
            groups.append("gn")
            continue
        veto = f'[exclusions.x{i}]\nmode = "veto"\n' + terms(rng.randint(1, 3))
        veto += some_fields() if rng.random() < 0.5 else ""
        veto += f"within = {rng.choice([1, 2, 5, 10])}\n" if rng.random() < 0.5 else ""
        if rng.random() < 0.5:
            unless = rng.sample(groups + topics, rng.randint(1, 2))
            veto += "unless = [" + ", ".join(_q(u) for u in unless) + "]\n"
        out.append(veto)
        vetoes.append(f"x{i}")
    for i in range(rng.choice([0, 0, 3, 140])):  # > 128 vocabularies: more than two words
        out.append(f"[actions.e{i}]\nweight = 1.0\nterms = [{_q(rng.choice(ATOMS))}]\n")
    used: set[str] = set()
    for r in range(rng.randint(1, 8)):
        require = [rng.choice(groups + topics) for _ in range(rng.choice([1, 1, 2, 3, 9, 12]))]
        used.update(require)
        rule = f'[[rules]]\nname = "r{r}"\ntopic = "{rng.choice(topics)}"\n'
        rule += "require = [" + ", ".join(_q(v) for v in require) + "]\n"
        rule += f"near = {rng.choice([1, 3, 8, 20])}\n" if rng.random() < 0.4 else ""
        rule += some_fields() if rng.random() < 0.4 else ""
        if vetoes and rng.random() < 0.6:
            chosen = rng.sample(vetoes, rng.randint(1, len(vetoes)))
            rule += "exclude = [" + ", ".join(_q(x) for x in chosen) + "]\n"
        rule += f"weight = {rng.choice([1, 2.5, 4])}\nflag = {rng.choice(['true', 'false'])}\n"
        out.append(rule)
    unused = [v for v in groups + topics if v not in used]  # every vocabulary must be used
    if unused:
        out.append(
            f'[[rules]]\nname = "rest"\ntopic = "{topics[0]}"\nrequire = ['
            + ", ".join(_q(v) for v in unused)
            + "]\n"
        )
    return "".join(out)


def test_kernel_equals_python_on_random_rules() -> None:
    rng = random.Random(42)
    fired = accepted = 0
    for n in range(140):
        try:  # a term can repeat another after folding (σ, Σ): such a file is refused
            ruleset = parse_rules(_random_rules(rng), Path(f"random-{n}.toml"))
        except ConfigError:
            continue
        accepted += 1
        engines = (Engine(ruleset), Engine(ruleset, compiled=False))
        patterns = list(engines[0].matcher.patterns)
        alone = [(p,) for p in patterns] + [("", p + rng.choice(patterns)) for p in patterns]
        for texts in [*alone, *_generated(rng, patterns + ATOMS, 60)]:
            _same(engines, texts)
            fired += bool(engines[1].evaluate_python(texts).fired)
    assert accepted > 100 and fired > 1000  # the files loaded and the rules really fired


def test_huge_proximity_values_do_not_overflow() -> None:
    text = WIDE.replace("near = 30", "near = 2147483648").replace(
        "within = 2", "within = 99999999999"
    )
    ruleset = parse_rules(text, Path("huge.toml"))
    engines = (Engine(ruleset), Engine(ruleset, compiled=False))
    assert engines[0].kernel is not None
    _same(engines, ("甲" + "一" * 100 + "乙丙丁戊己庚辛壬癸", "网贷甲商家", ""))


def test_a_kernel_must_be_initialised_once(engines: tuple[Engine, Engine]) -> None:
    from pipeline.classify._kernel import Kernel

    blank = Kernel.__new__(Kernel)
    with pytest.raises(RuntimeError, match="not initialised"):
        blank.fold("abc")
    with pytest.raises(RuntimeError, match="not initialised"):
        blank.evaluate(("abc",))
    live = engines[0].kernel
    assert live is not None
    with pytest.raises(RuntimeError, match="already initialised"):
        live.__init__(engines[0], fold, [], "", (), None)  # type: ignore[misc]


def test_kernel_handles_more_hits_than_its_stack(engines: tuple[Engine, Engine]) -> None:
    # Over 64 hits the kernel takes its arrays from the heap.
    title = "花呗借呗暂停" * 30
    summary = "payday loans, loan apps, BNPL " * 20
    _same(engines, (title, summary, ""))
    assert len(engines[0].evaluate((title, summary, "")).hits.raw) > 64


def test_verdicts_are_identical_with_and_without_kernel() -> None:
    compiled = Classifier.from_file(RULES)
    python = Classifier(load_rules(RULES), compiled=False)
    assert compiled.engine.kernel is not None and python.engine.kernel is None
    for title, summary in _headlines():
        for issuer in (None, "nfra"):
            assert compiled.classify(title, summary, issuer=issuer, detail=True) == (
                python.classify(title, summary, issuer=issuer, detail=True)
            ), title


def test_kernel_fold_equals_fold_on_every_character(engines: tuple[Engine, Engine]) -> None:
    kernel_fold = engines[0].kernel.fold if engines[0].kernel is not None else None
    assert kernel_fold is not None
    for cp in range(sys.maxunicode + 1):  # each character between others, incl. surrogates
        text = f"A{chr(cp)}中"
        assert kernel_fold(text) == fold(text), hex(cp)


def test_kernel_fold_equals_fold_on_mixed_text(engines: tuple[Engine, Engine]) -> None:
    kernel_fold = engines[0].kernel.fold if engines[0].kernel is not None else None
    assert kernel_fold is not None
    # Full-width, traditional, case, spaces and dashes, a capital sigma (its lower case depends
    # on the next letter), a lone surrogate, a letter outside the BMP, Latin-1 text whose fold
    # is wider (µ -> μ).
    alphabet = "借唄貸款ＡＢＣａｂｃ１２３％　…—-’İﬁ㈱①\t\n xyzXYZ網路小額ΣΑσ\ud800𐐀µ"
    rng = random.Random(11)
    for _ in range(20000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        got = kernel_fold(text)
        assert got == fold(text) and len(got) == len(text), repr(text)
    assert kernel_fold("µ") == "μ" == fold("µ")


def test_a_stale_kernel_is_detected(tmp_path: Path) -> None:
    source = tmp_path / "_kernel.pyx"
    source.write_text("cdef int x = 1\n", "utf-8")
    import hashlib

    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    assert kernel.is_current(digest, source)
    source.write_text("cdef int x = 2\n", "utf-8")
    assert not kernel.is_current(digest, source)
    assert kernel.is_current(digest, tmp_path / "absent.pyx")  # an installed wheel: no source


def test_without_the_kernel_the_engine_runs_in_python(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "pipeline.classify._kernel", None)  # import fails
    monkeypatch.setattr(kernel, "_warned", set())
    with caplog.at_level(logging.WARNING, logger="pipeline.classify.kernel"):
        classifier = Classifier.from_file(RULES)
    assert classifier.engine.kernel is None
    assert "compiled kernel not available" in caplog.text
    assert classifier.classify("支付宝借呗暂停部分用户借款服务").flagged


def test_check_config_names_the_engine(tmp_path: Path) -> None:
    config = tmp_path / "sources.toml"
    config.write_text(
        f'[settings]\ndata_dir = "data"\nrules = "{RULES}"\n'
        '[[sources]]\nid = "a"\nname = "A"\nkind = "rss"\nurl = "http://127.0.0.1:9/a"\n',
        encoding="utf-8",
    )
    result = lendwatch(config, "check-config")
    assert result.returncode == 0, result.stderr
    assert "classifier engine: compiled kernel" in result.stdout
    pure = lendwatch(config, "check-config", env={**clean_env(), kernel.PURE_ENV: "1"})
    assert "classifier engine: pure Python" in pure.stdout


def test_the_environment_can_ask_for_pure_python(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(kernel.PURE_ENV, "1")
    assert Engine(load_rules(RULES)).kernel is None
    assert kernel.status() == "pure Python"
    monkeypatch.setenv(kernel.PURE_ENV, "0")
    assert Engine(load_rules(RULES)).kernel is not None
