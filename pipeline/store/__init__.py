"""The SQLite store. Outside this package, use only what is exported here: ``Store`` and the
records it returns.

Inside: ``schema`` (tables and migrations, versioned), one module per group of tables with the
SQL (``items``, ``sources``, ``deliveries``, ``meta``), and ``api`` (``Store``, which delegates
to them). The clock and connection helpers they share are ``pipeline.db``.
"""

from pipeline.store.api import Store
from pipeline.store.deliveries import KINDS as DELIVERY_KINDS
from pipeline.store.deliveries import Delivery
from pipeline.store.items import BacklogCount, SaveResult, StoredItem
from pipeline.store.meta import (
    DAEMON_PID,
    DAEMON_STARTED,
    DIGEST_LAST_SLOT,
    NEXT_RUN_PREFIX,
    PRUNE_LAST,
)
from pipeline.store.sources import BROKEN_AFTER, HealthEvent, SourceState

__all__ = [
    "BROKEN_AFTER",
    "DAEMON_PID",
    "DAEMON_STARTED",
    "DELIVERY_KINDS",
    "DIGEST_LAST_SLOT",
    "NEXT_RUN_PREFIX",
    "PRUNE_LAST",
    "BacklogCount",
    "Delivery",
    "HealthEvent",
    "SaveResult",
    "SourceState",
    "Store",
    "StoredItem",
]
