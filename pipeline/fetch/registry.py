"""The explicit registry of fetch kinds: a ``kind`` string picks the parser and its options.

A kind declares the extra keys a ``[[sources]]`` table may carry for it (with their types), which
of them are required, and a pure ``parse(fetched, source) -> Iterator[Item]``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from pipeline.models import Fetched, Item, Source

Parser = Callable[[Fetched, Source], Iterator[Item]]
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
    # the content types a healthy response may have; empty = any
    content_types: tuple[str, ...] = ()
