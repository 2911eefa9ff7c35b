"""The schema's versions: fresh files, files written before ``user_version`` (named migrations),
files from a newer lendwatch. The old file is ``tests/data/db/lendwatch-2026-12-03.db``, written
by the code of that day (see the README beside it)."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.errors import StoreError
from pipeline.store import DIGEST_LAST_SLOT, Store
from pipeline.store.schema import LEGACY_NAMES, MIGRATIONS, VERSION, migrate, open_db
from tests.support.harness import Src, clean_env, write_config

LEGACY_DB = Path(__file__).parent / "data" / "db" / "lendwatch-2026-12-03.db"
Rows = dict[str, list[tuple[object, ...]]]


def raw(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


def schema_of(path: Path) -> set[tuple[str, str, str, str]]:
    """Every table, index, trigger and view, its SQL with white space collapsed."""
    conn = raw(path)
    try:
        rows = conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall()
    finally:
        conn.close()
    return {(t, n, tbl, " ".join((sql or "").split())) for t, n, tbl, sql in rows}


def contents(path: Path, skip: frozenset[str] = frozenset()) -> Rows:
    """Every row of every table (FTS5 shadow tables included), in a comparable order."""
    conn = raw(path)
    try:
        names = [
            r[0]
            for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if r[0] not in skip
        ]
        return {n: sorted(conn.execute(f'SELECT * FROM "{n}"').fetchall(), key=repr) for n in names}
    finally:
        conn.close()


def user_version(path: Path) -> int:
    conn = raw(path)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


@pytest.fixture
def legacy(tmp_path: Path) -> Path:
    copy = tmp_path / "lendwatch.db"
    shutil.copyfile(LEGACY_DB, copy)
    return copy


def test_the_versions_run_one_to_version_and_the_old_names_map_onto_them() -> None:
    assert sorted(MIGRATIONS) == list(range(1, VERSION + 1))
    # the named-migration era ended at version 6; later steps never had names
    assert sorted(LEGACY_NAMES.values()) == list(range(1, 7))


def test_a_database_of_2026_12_03_migrates_in_place_keeping_every_row(legacy: Path) -> None:
    assert user_version(legacy) == 0
    before = contents(legacy, skip=frozenset({"_migrations"}))
    assert len(before["items"]) == 29 and len(before["deliveries"]) == 3
    assert len(before["health_events"]) == 2 and len(before["meta"]) == 5

    db = open_db(legacy)
    db.close()
    assert user_version(legacy) == VERSION
    after = contents(legacy)
    assert "_migrations" not in after
    new_tables = {
        *("host_cookies", "penalties", "penalty_records", "attachments"),  # 7..9, empty
        *("item_facts", "delivery_reminders"),  # 10: facts come with `lendwatch reclassify`
    }
    assert {t: after.pop(t) for t in new_tables} == {t: [] for t in new_tables}
    # 11: items gain the backlog column; the items stored before are news (NULL)
    items = after.pop("items")
    assert all(row[-1] is None for row in items)
    after["items"] = sorted((row[:-1] for row in items), key=repr)
    assert after == before, "every row of every table kept"
    conn = raw(legacy)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        conn.execute("INSERT INTO items_fts (items_fts) VALUES ('integrity-check')")
    finally:
        conn.close()

    with Store.open(legacy) as store:  # and it reads as it did
        assert store.get_time(DIGEST_LAST_SLOT) == datetime(2026, 12, 2, tzinfo=UTC)
        assert [d.status for d in store.list_deliveries()] == ["pending", "failed", "sent"]
        assert [e.event for e in store.pending_health_events()] == ["recovered"]
        assert store.source_states()["kr36"].status == "ok"
        flagged = list(store.iter_items(flagged_only=True))
        assert len(flagged) == 21 and all(i.verdict is not None for i in flagged)
        title = flagged[0].title
        assert [hit.id for hit, _ in store.search(title[:6])][:1] == [flagged[0].id]


def test_a_second_open_changes_nothing(legacy: Path) -> None:
    open_db(legacy).close()
    before = contents(legacy)
    layout = schema_of(legacy)
    db = open_db(legacy)
    try:
        assert migrate(db) == []
        assert db.conn.total_changes == 0
    finally:
        db.close()
    assert contents(legacy) == before and schema_of(legacy) == layout
    assert user_version(legacy) == VERSION


def test_a_fresh_database_has_the_schema_of_a_migrated_one(tmp_path: Path, legacy: Path) -> None:
    fresh = tmp_path / "fresh.db"
    db = open_db(fresh)
    assert migrate(db) == []
    db.close()
    open_db(legacy).close()
    assert user_version(fresh) == user_version(legacy) == VERSION
    assert schema_of(fresh) == schema_of(legacy)
    assert {n for t, n, _, _ in schema_of(fresh) if t == "table"} >= {
        "items",
        "items_fts",
        "fts_state",
        "source_state",
        "health_events",
        "fetch_log",
        "deliveries",
        "delivery_items",
        "delivery_health",
        "meta",
    }


def test_a_database_of_an_older_release_gets_the_named_steps_it_lacks(tmp_path: Path) -> None:
    """Before the full-text index was filled once per cycle (items-0003, the last to ship), a
    database had the other five; the conversion applies the missing one."""
    path = tmp_path / "old.db"
    conn = raw(path)
    conn.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    for name, version in LEGACY_NAMES.items():
        if name == "items-0003-fts-deferred":
            continue
        conn.executescript(MIGRATIONS[version].sql)
        conn.execute("INSERT INTO _migrations VALUES (?, '2026-11-28T00:00:00+00:00')", [name])
    conn.execute(
        "INSERT INTO items (id, source_id, guid, title, content_hash, first_seen, last_seen)"
        " VALUES ('i1', 'pboc-news', 'g1', ?, 'h', '2026-11-28', '2026-11-28')",
        ["关于暂停借呗新增授信的公告"],
    )
    conn.close()
    with Store.open(path) as store:
        assert user_version(path) == VERSION
        assert [hit.id for hit, _ in store.search("暂停借呗")] == ["i1"]  # indexed already
        assert store.db.execute("SELECT indexed_rowid FROM fts_state").fetchone() == (1,)
    fresh = tmp_path / "fresh.db"
    open_db(fresh).close()
    assert schema_of(path) == schema_of(fresh)


def test_a_database_of_a_newer_lendwatch_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "newer.db"
    open_db(path).close()
    conn = raw(path)
    conn.execute(f"PRAGMA user_version = {VERSION + 1}")
    conn.close()
    before = contents(path)
    with pytest.raises(StoreError) as err:
        Store.open(path)
    message = str(err.value)
    assert str(path) in message and "newer lendwatch" in message
    assert f"schema version {VERSION + 1}" in message and f"up to {VERSION}" in message
    assert user_version(path) == VERSION + 1 and contents(path) == before


def test_a_named_migration_this_version_does_not_know_is_refused(legacy: Path) -> None:
    conn = raw(legacy)
    conn.execute("INSERT INTO _migrations VALUES ('items-0004-future', '2027-01-01')")
    conn.close()
    with pytest.raises(StoreError, match=r"newer lendwatch \(unknown migrations items-0004"):
        open_db(legacy)
    assert "_migrations" in contents(legacy), "left as it was"


def test_the_commands_exit_3_on_a_database_of_a_newer_lendwatch(tmp_path: Path) -> None:
    config = write_config(tmp_path, [Src("a", "http://127.0.0.1:9/feed.xml")])
    path = tmp_path / "data" / "lendwatch.db"
    open_db(path).close()
    conn = raw(path)
    conn.execute(f"PRAGMA user_version = {VERSION + 7}")
    conn.close()
    result = CliRunner().invoke(cli, ["--config", str(config), "status"], env=clean_env())
    assert result.exit_code == 3
    assert f"database {path}: written by a newer lendwatch (schema version {VERSION + 7}" in (
        result.output
    )


def test_the_commands_open_the_old_database_as_it_is(tmp_path: Path, legacy: Path) -> None:
    config = write_config(tmp_path, [Src("pboc-news", "http://127.0.0.1:9/feed.xml")])
    (tmp_path / "data").mkdir()
    shutil.copyfile(legacy, tmp_path / "data" / "lendwatch.db")
    runner = CliRunner()
    exported = runner.invoke(cli, ["--config", str(config), "export"], env=clean_env())
    assert exported.exit_code == 0, exported.output
    assert len(exported.stdout.splitlines()) == 29
    listed = runner.invoke(cli, ["--config", str(config), "deliveries"], env=clean_env())
    assert "SMTP 451 try again later" in listed.stdout
