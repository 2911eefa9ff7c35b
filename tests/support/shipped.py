"""The shipped configuration, as the tests read it."""

from __future__ import annotations

from pathlib import Path

from pipeline.config import load_config

ROOT = Path(__file__).resolve().parents[2]
# The sources of the shipped sources.toml, by id.
SOURCES = {s.id: s for s in load_config(ROOT / "sources.toml").sources}
