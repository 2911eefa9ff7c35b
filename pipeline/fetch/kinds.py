"""The explicit table of fetch kinds. Add a kind here and nowhere else."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from pipeline.fetch import html, jsonapi, rss
from pipeline.fetch.registry import Kind

KINDS: Mapping[str, Kind] = MappingProxyType(
    {"rss": rss.KIND, "html": html.KIND, "json": jsonapi.KIND}
)
