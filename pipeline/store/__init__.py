"""SQLite store (sqlite-utils): items + verdicts, source state, deliveries. Plain functions."""

from pipeline.store.items import (
    SaveResult,
    StoredItem,
    get_item,
    iter_items,
    known_ids,
    save_items,
    save_verdict,
    save_verdicts,
)
from pipeline.store.schema import open_db, transaction

__all__ = [
    "SaveResult",
    "StoredItem",
    "get_item",
    "iter_items",
    "known_ids",
    "open_db",
    "save_items",
    "save_verdict",
    "save_verdicts",
    "transaction",
]
