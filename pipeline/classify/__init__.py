"""The classifier: does an item affect online lending, how seriously, and why.

    classifier = Classifier.from_file(Path("rules.toml"))
    verdict = classifier.classify(title, summary, issuer="nfra", authority="regulator")

Modules: ``normalize`` (folding), ``script`` (traditional -> simplified Chinese, with offsets
back into the original), ``matcher`` (one Aho-Corasick pass), ``rules``/``rules_load``
(rules.toml -> frozen dataclasses, validated), ``engine`` (rule evaluation), ``authority``
(severity arithmetic), ``docnum`` (发文字号), ``verdict`` (explanations), ``evaluate``
(precision/recall on labelled lines).

``flagged`` means "affects online lending" (label 2). Neighbour topics (general credit policy,
general fintech/payment/data rules) are reported in ``topics`` with ``flagged=False`` and
``severity=None``. Match offsets are character offsets in the original field text (folding
keeps lengths; a traditional phrase that converts to a different length is mapped back).
``score`` is the severity arithmetic for a flagged item, else the relevance of the best
neighbour rule (0.0 when nothing matched).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from pathlib import Path

from pipeline.classify import cache
from pipeline.classify.authority import Registry
from pipeline.classify.docnum import find_doc_numbers
from pipeline.classify.engine import Engine
from pipeline.classify.rules import RuleSet
from pipeline.classify.rules_load import load_rules, parse_rules, read_rules
from pipeline.classify.verdict import build, split_fired
from pipeline.models import Verdict

__all__ = ["Classifier", "RuleSet", "cached_classifier", "load_rules", "parse_rules"]

logger = logging.getLogger(__name__)


class Classifier:
    """Compiled rules. Thread-safe: ``classify`` keeps no state between calls."""

    def __init__(self, ruleset: RuleSet) -> None:
        self.ruleset = ruleset
        self.version: str = ruleset.version
        self.engine = Engine(ruleset)
        self.registry = Registry(ruleset, self.engine.index, self.engine.matcher.canonical)
        self._nothing = Verdict(
            flagged=False,
            severity=None,
            score=0.0,
            explanation=("not flagged: no rule matched", f"rules version {self.version}"),
            rules_version=self.version,
        )
        logger.debug(
            "rules %s: %d rules, %d patterns",
            self.version,
            len(ruleset.rules),
            len(self.engine.matcher),
        )

    @classmethod
    def from_file(cls, path: Path, cache_dir: Path | None = None) -> Classifier:
        """Load, validate and compile a rules file. Raises ConfigError listing every problem.

        With ``cache_dir`` the compiled rules are taken from the cache there when the file did
        not change (and written there when they were compiled): see ``pipeline.classify.cache``.
        """
        path = Path(path)
        return _compiled(path, read_rules(path), cache_dir)

    def classify(
        self,
        title: str,
        summary: str = "",
        body: str = "",
        *,
        issuer: str | None = None,
        authority: str | None = None,
        detail: bool = False,
    ) -> Verdict:
        """``issuer``: a source's issuer key or an authority's name; ``authority``: the source's
        kind (regulator | association | media). Authorities named in the text count too.

        The explanation always names the rules that fired or were vetoed, the terms with field
        and position, and the severity arithmetic; ``detail`` adds the near misses (a rule's
        first term matched but the rule did not fire), which ``lendwatch explain`` shows."""
        texts = (title or "", summary or "", body or "")
        outcome = self.engine.evaluate(texts, detail=detail)
        doc_numbers = _doc_numbers(texts)
        if not (outcome.fired or outcome.vetoed or outcome.missed or doc_numbers):
            return self._nothing  # the common case: immutable, shared
        split = split_fired(outcome.fired, self.ruleset.scoring.min_relevance)
        assessed = None
        if split.strong:
            best = split.strong[0]
            assessed = self.registry.assess(
                best.relevance,
                best.rule.relevance_texts[best.field],
                best.rule.relevance_detail,
                outcome.hits,
                issuer=issuer,
                authority=authority,
                doc_numbers=doc_numbers,
            )
        return build(self.engine, texts, outcome, split, assessed, doc_numbers, self.version)


def _doc_numbers(texts: tuple[str, str, str]) -> tuple[str, ...]:
    """Document numbers of the title, then new ones of the summary (the body is not searched:
    it cites other documents)."""
    if "号" not in texts[0] and "号" not in texts[1]:
        return ()
    found = find_doc_numbers(texts[0])
    return found + tuple(n for n in find_doc_numbers(texts[1]) if n not in found)


_cache: dict[Path, tuple[str, Classifier]] = {}
_cache_lock = threading.Lock()


def _compiled(path: Path, text: str, cache_dir: Path | None) -> Classifier:
    """The classifier of ``text``: from the on-disk cache, else compiled (and cached)."""
    if cache_dir is not None:
        found = cache.load(cache_dir, path, text)
        if isinstance(found, Classifier):
            return found
        if found is not None:
            logger.warning("rules cache in %s holds no classifier; compiling the rules", cache_dir)
    classifier = Classifier(parse_rules(text, path))
    if cache_dir is not None:
        cache.save(cache_dir, path, text, classifier)
    return classifier


def cached_classifier(path: Path, cache_dir: Path | None = None) -> Classifier:
    """The compiled rules of ``path``, compiled again only when the file's content changed.

    The daemon calls this every cycle, so an edit to rules.toml takes effect at the next cycle
    without a restart, and an unchanged file costs a read and a hash instead of a compile. A
    broken file raises ConfigError every time, as ``Classifier.from_file`` does: the last good
    rules are never used silently. ``cache_dir``: as for ``Classifier.from_file``."""
    text = read_rules(path)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    key = path.resolve()
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None and hit[0] == digest:
            return hit[1]
    classifier = _compiled(path, text, cache_dir)
    with _cache_lock:
        _cache[key] = (digest, classifier)
    logger.info("rules %s loaded from %s", classifier.version, path)
    return classifier
