"""Shared validation for the TOML files (sources.toml, rules.toml): collect every problem.

Each problem names the file, the table (or source) and the key; an unknown key lists the
allowed ones. Callers raise ``ConfigError(problems.items)`` once everything was checked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

KeyType = type | tuple[type, ...]

_NAMES = {str: "string", int: "integer", float: "number", bool: "boolean", list: "array"}
_NAMES[dict] = "table"


class Problems:
    """The problems found in one file; ``add`` prefixes the file and the place."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.items: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.items.append(f"{self.path}: {where}: {message}")


def type_name(t: KeyType) -> str:
    if isinstance(t, tuple):
        return " or ".join(_NAMES.get(x, x.__name__) for x in t)
    return _NAMES.get(t, t.__name__)


def check_table(
    table: Any,
    allowed: Mapping[str, KeyType],
    where: str,
    problems: Problems,
    required: Sequence[str] = (),
) -> dict[str, Any]:
    """Check a table's keys and value types; return only the valid entries."""
    if not isinstance(table, dict):
        problems.add(where, "expected a table")
        return {}
    good: dict[str, Any] = {}
    for key, value in table.items():
        if key not in allowed:
            problems.add(
                f"{where}.{key}", f"unknown key; allowed keys: {', '.join(sorted(allowed))}"
            )
            continue
        expected = allowed[key]
        bool_ok = expected is bool or (isinstance(expected, tuple) and bool in expected)
        if not isinstance(value, expected) or (isinstance(value, bool) and not bool_ok):
            problems.add(
                f"{where}.{key}",
                f"expected {type_name(expected)}, got {type(value).__name__} {value!r}",
            )
            continue
        good[key] = value
    for key in required:
        if key not in table:
            problems.add(f"{where}.{key}", "missing required key")
    return good
