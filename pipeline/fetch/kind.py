"""What a fetch kind is: ``Kind``, the ``Document`` its parser reads, the ``Page`` it returns.

A kind declares the extra keys a ``[[sources]]`` table may carry for it (``Option``: accepted
types and a one-line description, from which the README's table is generated), which of them are
required, a ``validate`` that checks their values (selector syntax, paths), and a pure parser from
a decoded ``Document`` to a ``Page`` of items plus warnings. The kinds themselves are listed in
``pipeline.fetch.registry``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from pipeline.models import Fetched, Item, Source
from pipeline.validate import KeyType


@dataclass(frozen=True, slots=True)
class Document:
    """A fetched response with its text decoded (see ``charset.decode``)."""

    fetched: Fetched
    source: Source
    text: str
    encoding: str


@dataclass(frozen=True, slots=True)
class Page:
    """What a kind parser found: the items and any warnings (e.g. unparseable dates)."""

    items: tuple[Item, ...]
    warnings: tuple[str, ...] = ()


Parser = Callable[[Document], Page]
Validator = Callable[[Mapping[str, Any]], list[str]]


@dataclass(frozen=True, slots=True)
class Option:
    """One key a kind accepts: the Python type(s) it has after TOML decoding, and what it does
    (one line of Markdown, shown in the README)."""

    type: KeyType
    help: str


def _no_problems(options: Mapping[str, Any]) -> list[str]:
    return []


@dataclass(frozen=True, slots=True)
class Kind:
    name: str
    parse: Parser
    summary: str  # what the kind reads, one line of Markdown (the README's table)
    options: Mapping[str, Option] = field(default_factory=lambda: MappingProxyType({}))
    required: frozenset[str] = frozenset()
    validate: Validator = _no_problems
    # what a healthy response looks like, for the "expected RSS, got HTML" verdict
    expects: str = ""

    def key_types(self) -> dict[str, KeyType]:
        return {key: option.type for key, option in self.options.items()}
