"""Load and validate ``rules.toml`` into frozen dataclasses.

Every problem in the file is collected and reported at once as a ``ConfigError``; each names the
file, the table and the key, and an unknown key lists the allowed ones. The file's layout (see
the comments in the shipped ``rules.toml``)::

    [meta]            version, description
    [scoring]         field_weights, min_relevance, high, medium, snippet_chars
    [source_authority]  weight of a source's authority (regulator/association/media)
    [authorities.KEY] name, kind, weight, names           issuer registry (KEY = source issuer)
    [doctypes.KEY]    name, weight, terms                  document types (title terms)
    [actions.KEY]     name, weight, terms                  actions (暂停, 处罚, 下调 ...)
    [groups.NAME]     description, terms, aliases          vocabularies used by rules
    [topics.NAME]     title, terms, aliases                topics (their terms are a vocabulary)
    [exclusions.NAME] mode, terms, aliases, fields, within, unless
    [[rules]]         name, topic, require, near, fields, exclude, weight, flag
"""

from __future__ import annotations

import dataclasses
import hashlib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.classify.normalize import fold_term
from pipeline.errors import ConfigError
from pipeline.validate import KeyType, Problems

FIELDS: tuple[str, ...] = ("title", "summary", "body")
AUTHORITY_KINDS = ("regulator", "association", "media")
EXCLUSION_MODES = ("veto", "mask")


@dataclass(frozen=True, slots=True)
class Term:
    """A canonical term and the folded patterns (itself and its aliases) that match it."""

    canonical: str
    patterns: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Vocabulary:
    name: str
    kind: str  # "topic" | "group" | "exclusion" | "authority" | "doctype" | "action"
    terms: tuple[Term, ...]
    title: str = ""


@dataclass(frozen=True, slots=True)
class Exclusion:
    name: str
    mode: str  # "veto": rules listing it are vetoed; "mask": hides overlapping matches
    vocabulary: Vocabulary
    fields: tuple[str, ...] = FIELDS
    within: int = 0  # veto only: max distance in characters from the rule's match; 0 = anywhere
    unless: tuple[str, ...] = ()  # vocabularies whose presence (in ``fields``) cancels the veto


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    topic: str
    require: tuple[str, ...]  # every vocabulary must match (co-occurrence)
    near: int = 0  # > 0: all required matches in one field within this many characters
    fields: tuple[str, ...] = FIELDS
    exclude: tuple[str, ...] = ()
    weight: float = 3.0
    flag: bool = True  # False: a neighbour topic, reported but never flagged


@dataclass(frozen=True, slots=True)
class Authority:
    key: str
    name: str
    kind: str
    weight: float
    vocabulary: Vocabulary


@dataclass(frozen=True, slots=True)
class Weighted:
    """A document type or an action: a weight and the title/summary terms that signal it."""

    key: str
    name: str
    weight: float
    vocabulary: Vocabulary


@dataclass(frozen=True, slots=True)
class Scoring:
    field_weights: Mapping[str, float]
    min_relevance: float = 1.5
    high: float = 8.0
    medium: float = 5.0
    snippet_chars: int = 40


@dataclass(frozen=True, slots=True)
class RuleSet:
    path: Path
    version: str  # declared version + hash of the file's content
    description: str
    scoring: Scoring
    source_authority: Mapping[str, float]
    authorities: tuple[Authority, ...]
    doctypes: tuple[Weighted, ...]
    actions: tuple[Weighted, ...]
    vocabularies: Mapping[str, Vocabulary]  # groups and topics by name
    exclusions: Mapping[str, Exclusion]
    rules: tuple[Rule, ...]


TOP_KEYS = (
    "meta",
    "scoring",
    "source_authority",
    "authorities",
    "doctypes",
    "actions",
    "groups",
    "topics",
    "exclusions",
    "rules",
)
_T = KeyType
META_KEYS: Mapping[str, _T] = {"version": str, "description": str}
SCORING_KEYS: Mapping[str, _T] = {
    "field_weights": dict,
    "min_relevance": (int, float),
    "high": (int, float),
    "medium": (int, float),
    "snippet_chars": int,
}
AUTHORITY_KEYS: Mapping[str, _T] = {"name": str, "kind": str, "weight": (int, float), "names": list}
WEIGHTED_KEYS: Mapping[str, _T] = {"name": str, "weight": (int, float), "terms": list}
GROUP_KEYS: Mapping[str, _T] = {"description": str, "terms": list, "aliases": dict}
TOPIC_KEYS: Mapping[str, _T] = {"title": str, "terms": list, "aliases": dict}
EXCLUSION_KEYS: Mapping[str, _T] = {
    "mode": str,
    "description": str,
    "terms": list,
    "aliases": dict,
    "fields": list,
    "within": int,
    "unless": list,
}
RULE_KEYS: Mapping[str, _T] = {
    "name": str,
    "topic": str,
    "require": list,
    "near": int,
    "fields": list,
    "exclude": list,
    "weight": (int, float),
    "flag": bool,
    "description": str,
}


def _vocabulary(
    name: str, kind: str, terms: Any, aliases: Any, where: str, p: Problems, title: str = ""
) -> Vocabulary:
    """Terms (strings) plus aliases (canonical -> variants); folded, duplicates reported."""
    out: list[Term] = []
    seen: dict[str, str] = {}
    raw: list[tuple[str, list[Any], str]] = []
    for i, t in enumerate(terms or []):
        raw.append((t, [], f"{where}.terms[{i}]"))
    if aliases is not None and not isinstance(aliases, dict):
        p.add(f"{where}.aliases", "expected a table of term = [variants]")
        aliases = {}
    for canonical, variants in (aliases or {}).items():
        if not isinstance(variants, list):
            p.add(f"{where}.aliases.{canonical}", "expected a list of strings")
            continue
        raw = [r for r in raw if r[0] != canonical]
        raw.append((canonical, variants, f"{where}.aliases.{canonical}"))
    for canonical, variants, at in raw:
        patterns: list[str] = []
        for text in [canonical, *variants]:
            if not isinstance(text, str):
                p.add(at, f"expected a string, got {text!r}")
                continue
            folded = fold_term(text)
            if not folded:
                p.add(at, f"empty term {text!r}")
            elif folded in seen:
                p.add(at, f"term {text!r} repeats {seen[folded]!r} (same after normalisation)")
            else:
                seen[folded] = text
                patterns.append(folded)
        if patterns and isinstance(canonical, str):
            out.append(Term(canonical, tuple(patterns)))
    if not out:
        p.add(where, "needs at least one term")
    return Vocabulary(name, kind, tuple(out), title)


def _fields(value: Any, where: str, p: Problems) -> tuple[str, ...]:
    if value is None:
        return FIELDS
    bad = [f for f in value if f not in FIELDS]
    if bad or not value:
        p.add(where, f"expected a non-empty list of {', '.join(FIELDS)}, got {value!r}")
        return FIELDS
    return tuple(value)


def _names(
    value: Any, known: Mapping[str, Any], what: str, where: str, p: Problems
) -> tuple[str, ...]:
    out: list[str] = []
    for v in value or []:
        if not isinstance(v, str) or v not in known:
            p.add(where, f"unknown {what} {v!r}; known: {', '.join(sorted(known))}")
        else:
            out.append(v)
    return tuple(out)


def _weight(value: Any, where: str, p: Problems) -> float:
    if value < 0:
        p.add(where, "must not be negative")
    return float(value)


def parse_rules(text: str, path: Path) -> RuleSet:
    """Validate the TOML ``text`` of a rules file. Raises ConfigError listing every problem."""
    from pipeline.classify.rules_load import build_ruleset  # split to keep modules small

    p = Problems(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError([f"{path}: not valid TOML: {e}"]) from e
    ruleset = build_ruleset(data, path, p)
    if p.items or ruleset is None:
        raise ConfigError(p.items)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]
    return dataclasses.replace(ruleset, version=f"{ruleset.version}+{digest}")


def read_rules(path: Path) -> str:
    """The text of a rules file; ConfigError naming the file if it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise ConfigError([f"{path}: rules file not found"]) from e
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError([f"{path}: cannot read: {e}"]) from e


def load_rules(path: Path | str) -> RuleSet:
    """Read and validate a rules file."""
    path = Path(path)
    return parse_rules(read_rules(path), path)
