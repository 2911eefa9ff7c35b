"""The sample item set behind the digest goldens is stored and flagged as the tests expect."""

from __future__ import annotations

from pathlib import Path

from tests.support.digest_fixtures import database, make_config, sample_items


def test_sample_items_are_stored_and_flagged(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    store = database(config)
    ids = sample_items(store)
    rows = store.db.execute("SELECT COUNT(*) FROM items WHERE flagged = 1").fetchone()
    assert rows[0] == len(ids) == 6
    store.close()
