"""The explicit registry of fetch kinds: a ``kind`` string picks the parser and its options.

A kind declares the extra keys a ``[[sources]]`` table may carry for it (with their types), which
of them are required, a ``validate`` that checks their values (selector syntax, paths), and a pure
parser from a decoded ``Document`` to a ``Page`` of items plus warnings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from pipeline.models import Fetched, Item, Source


@dataclass(frozen=True, slots=True)
class Document:
    """A fetched response with its text decoded (see ``charset.decode``)."""

    fetched: Fetched
    source: Source
    text: str
    encoding: str
    allow_slow: bool = True  # False: raise SlowPath instead of running a slow fallback parser


class SlowPath(Exception):
    """The document needs the slow fallback parser (e.g. a malformed feed for feedparser)."""


@dataclass(frozen=True, slots=True)
class Page:
    """What a kind parser found: the items and any warnings (e.g. unparseable dates)."""

    items: tuple[Item, ...]
    warnings: tuple[str, ...] = ()


Parser = Callable[[Document], Page]
Validator = Callable[[Mapping[str, Any]], list[str]]


def _no_problems(options: Mapping[str, Any]) -> list[str]:
    return []


@dataclass(frozen=True, slots=True)
class Kind:
    name: str
    parse: Parser
    # option key -> accepted python type(s) after TOML decoding
    options: Mapping[str, type | tuple[type, ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    required: frozenset[str] = frozenset()
    validate: Validator = _no_problems
    # what a healthy response looks like, for the "expected RSS, got HTML" verdict
    expects: str = ""
