"""The shipped configuration, as the tests read it."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

from pipeline.config import load_config

ROOT = Path(__file__).resolve().parents[2]
# The sources of the shipped sources.toml, by id.
SOURCES = {s.id: s for s in load_config(ROOT / "sources.toml").sources}


def _toml_value(value: object) -> str:
    """A TOML literal for the values a [[sources]] table holds (JSON strings are TOML strings)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{ " + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
        )
    raise TypeError(f"no TOML for {value!r}")


def shipped_table(source_id: str, base: str, **changes: object) -> str:
    """The shipped ``[[sources]]`` table of ``source_id`` as TOML, its URL moved to ``base``
    (``http://127.0.0.1:PORT``: same path and query), with ``changes`` applied."""
    raw = tomllib.loads((ROOT / "sources.toml").read_text(encoding="utf-8"))
    table = dict(next(t for t in raw["sources"] if t["id"] == source_id))
    parts = urlsplit(table["url"])
    table["url"] = base.rstrip("/") + parts.path + (f"?{parts.query}" if parts.query else "")
    table.update(changes)
    return "[[sources]]\n" + "".join(f"{k} = {_toml_value(v)}\n" for k, v in table.items())
