"""The rules of ``rules.toml`` as frozen dataclasses, and the constants they use.

``rules_load`` reads and validates the file into these; every default a key of the file can
leave out is written here, once, as a dataclass default or a ``DEFAULT_*`` constant.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

FIELDS: tuple[str, ...] = ("title", "summary", "body")
AUTHORITY_KINDS = ("regulator", "association", "media")
EXCLUSION_MODES = ("veto", "mask")
# How much a match counts by the field it is in; rules.toml's [scoring.field_weights] overrides
# any of them.
DEFAULT_FIELD_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {"title": 1.0, "summary": 0.6, "body": 0.3}
)
# The authority weight of a source by its kind when its issuer is unknown ([source_authority]).
DEFAULT_SOURCE_AUTHORITY: Mapping[str, float] = MappingProxyType(
    {"regulator": 2.0, "association": 1.0, "media": 0.0}
)


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
    field_weights: Mapping[str, float] = field(default_factory=lambda: DEFAULT_FIELD_WEIGHTS)
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
