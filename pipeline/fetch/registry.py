"""The registry of fetch kinds: a source's ``kind`` picks one of these. Add a kind here and
nowhere else; ``scripts/gen_readme_kinds.py`` writes the README's table of their keys from it."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from pipeline.fetch import html, jsonapi, rss
from pipeline.fetch.items import COMMON_OPTIONS
from pipeline.fetch.kind import Kind, Option

KINDS: Mapping[str, Kind] = MappingProxyType(
    {"rss": rss.KIND, "html": html.KIND, "json": jsonapi.KIND}
)

# The keys every kind accepts (detail pages, date formats), listed once in the README.
COMMON: Mapping[str, Option] = COMMON_OPTIONS
