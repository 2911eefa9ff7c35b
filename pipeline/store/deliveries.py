"""Delivery records (the outbox): owned by the digest stage."""

from __future__ import annotations

MIGRATIONS: tuple[tuple[str, str], ...] = ()
