"""Dotted paths into decoded JSON: ``lookup(data, "data.rows")``."""

from __future__ import annotations

from collections.abc import Mapping

MISSING = object()


def lookup(data: object, path: str) -> object:
    """``lookup(d, "data.rows")``; integer parts index lists. Missing -> ``MISSING``."""
    node: object = data
    for part in path.split(".") if path not in ("", ".") else ():
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif (
            isinstance(node, list)
            and part.lstrip("-").isdigit()
            and -len(node) <= int(part) < len(node)
        ):
            node = node[int(part)]
        else:
            return MISSING
    return node
