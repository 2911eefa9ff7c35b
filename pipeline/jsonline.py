"""One JSON line of a command's input (classify, extract, eval) read into a record.

The checks every such line shares: valid JSON, an object, an ``id`` where the command needs
one, a string ``title``. Each raises ``ValueError`` with a message naming what is wrong, which
the command reports with the line's number and goes on.
"""

from __future__ import annotations

import json
from typing import Any


def read_record(raw: str, *, need_id: bool = True) -> dict[str, Any]:
    try:
        record = json.loads(raw)
    except json.JSONDecodeError as e:
        raise ValueError(f"not JSON: {e.msg} at column {e.colno}") from e
    if not isinstance(record, dict):
        raise ValueError("expected a JSON object")
    if need_id and "id" not in record:
        raise ValueError("missing 'id'")
    if not isinstance(record.get("title"), str):
        raise ValueError("'title' must be a string")
    return record
