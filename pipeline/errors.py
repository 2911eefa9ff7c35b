"""One exception tree for lendwatch. Foreign errors are wrapped with ``raise ... from e``.

LendwatchError
├── ConfigError            broken sources.toml / rules.toml (carries every problem found)
├── FetchError             one source could not be fetched or parsed; ``status`` is its health
│   ├── BlockedError       anti-bot challenge, HTTP 403/412 cookie page      -> "blocked"
│   └── LayoutChangedError shell page, wrong content type, zero items, ...  -> "layout-changed"
├── StoreError             the SQLite database failed (locked, disk full, corrupt)
├── DeliveryError          SMTP or outbox failure; the message stays pending
└── LockError              another daemon holds the data directory
"""

from __future__ import annotations

from collections.abc import Sequence


class LendwatchError(Exception):
    """Base of every error lendwatch raises on purpose."""


class ConfigError(LendwatchError):
    """The configuration is invalid. ``problems`` lists every problem, each naming its place."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))


class FetchError(LendwatchError):
    """A source failed. ``status`` is the health verdict recorded for it."""

    status = "error"

    def __init__(self, source_id: str, reason: str, *, http_status: int | None = None) -> None:
        self.source_id = source_id
        self.reason = reason
        self.http_status = http_status
        super().__init__(f"{source_id}: {reason}")


class BlockedError(FetchError):
    status = "blocked"


class LayoutChangedError(FetchError):
    status = "layout-changed"


class StoreError(LendwatchError):
    """The database could not be read or written."""


class DeliveryError(LendwatchError):
    """A message could not be delivered; it stays pending and is retried."""


class LockError(LendwatchError):
    """Another lendwatch process holds the data directory."""
