"""Exit codes and messages as documented: undelivered alerts (1), any database error (3, the
cause and the file, no traceback), a full disk told as such, a lost database refused loudly
instead of recreated (nothing mailed again)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.models import Item
from pipeline.store import Store
from pipeline.store.schema import history_marker
from tests.support.harness import (
    RSS_TYPE,
    Src,
    db_rows,
    good_route,
    lendwatch,
    mail_text,
    mailed_for,
    write_config,
)
from tests.support.httpserver import HTTPTestServer, Route
from tests.support.smtpserver import SMTPTestServer


def _no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr, result.stderr


def test_fetch_exits_1_when_an_alert_was_not_delivered(
    tmp_path: Path, http_server: HTTPTestServer, smtp_server: SMTPTestServer
) -> None:
    http_server.routes["/a.xml"] = good_route("a")  # a high-severity item: an alert
    config = write_config(tmp_path, [Src("a", http_server.url("/a.xml"))], smtp_server)
    smtp_server.stop()
    down = lendwatch(config, "fetch")
    assert down.returncode == 1, down.stderr
    assert "not delivered" in down.stderr
    _no_traceback(down)
    db = tmp_path / "data" / "lendwatch.db"
    assert len(db_rows(db, "SELECT id FROM items")) == 2  # stored all the same
    assert db_rows(db, "SELECT status FROM deliveries WHERE kind = 'alert'") == [("failed",)]

    smtp_server.start()
    ran = lendwatch(config, "run")  # the digest carries it; the alert waits for its backoff
    assert ran.returncode == 0, ran.stderr
    [digest] = smtp_server.messages
    assert mailed_for("a") in mail_text(digest)


def _corrupt(db: Path) -> None:
    """Keep the header and the schema page, overwrite the pages that hold the rows."""
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.close()
    size = db.stat().st_size
    with db.open("r+b") as fh:
        fh.seek(4096 * 2)
        fh.write(b"\xa5" * (size - 4096 * 2))


@pytest.fixture
def corrupt_config(tmp_path: Path) -> Iterator[Path]:
    config = write_config(tmp_path, [Src("a", "http://127.0.0.1:9/a.xml")])
    db = tmp_path / "data" / "lendwatch.db"
    with Store.open(db) as store:
        items = [Item("a", f"g{k}", f"借呗调整第{k}号", body="正文" * 400) for k in range(300)]
        store.save_items(items)
        store.index_pending()
    _corrupt(db)
    yield config


@pytest.mark.parametrize(
    "args",
    [
        ["digest"],
        ["search", "借呗"],
        ["export"],
        ["status"],
        ["sources"],
        ["deliveries"],
        ["prune", "--days", "1"],
        ["reclassify", "--dry-run"],
        ["explain", "0000"],
    ],
    ids=lambda a: a[0],
)
def test_a_corrupt_database_is_exit_3_naming_the_file(
    corrupt_config: Path, args: list[str]
) -> None:
    result = lendwatch(corrupt_config, *args)
    assert result.returncode == 3, (result.returncode, result.stderr)
    db = corrupt_config.parent / "data" / "lendwatch.db"
    assert f"lendwatch: database {db}" in result.stderr
    assert "malformed" in result.stderr or "not a database" in result.stderr
    _no_traceback(result)


def test_a_full_database_says_so(tmp_path: Path) -> None:
    # max_page_count caps the file as a full disk would: the error is SQLite's "database or
    # disk is full", not the ROLLBACK that followed it ("no transaction is active").
    with Store.open(tmp_path / "lendwatch.db") as store:
        store.save_items([Item("a", "first", "借呗")])
        pages = store.db.execute("PRAGMA page_count").fetchone()[0]
        store.db.execute(f"PRAGMA max_page_count = {pages + 2}")
        big = [Item("a", f"g{k}", f"标题{k}", body="正文" * 3000) for k in range(100)]
        with pytest.raises(sqlite3.OperationalError, match="full"):
            store.save_items(big)
        assert not store.db.conn.in_transaction
        assert [i.guid for i in store.iter_items()] == ["first"]  # rolled back, still usable


def _mount_small_disk(where: Path) -> bool:
    where.mkdir()
    try:
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(where)],
            check=True,
            capture_output=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return True


def test_a_full_disk_is_exit_3_with_the_cause(tmp_path: Path, http_server: HTTPTestServer) -> None:
    disk = tmp_path / "disk"
    if not _mount_small_disk(disk):
        pytest.skip("cannot mount a small tmpfs here (needs root): the store-level test covers it")
    try:
        items = "".join(
            f"<item><title>借呗调整第{k}号</title><link>https://a.example.cn/{k}</link>"
            f"<description>{'正文' * 300}</description></item>"
            for k in range(400)
        )
        feed = f'<?xml version="1.0"?><rss version="2.0"><channel><title>a</title>{items}'
        http_server.routes["/a.xml"] = Route(
            (feed + "</channel></rss>").encode(), content_type=RSS_TYPE
        )
        config = write_config(
            tmp_path, [Src("a", http_server.url("/a.xml"))], settings=f'data_dir = "{disk}"'
        )
        text = config.read_text(encoding="utf-8").replace('data_dir = "data"\n', "", 1)
        config.write_text(text, encoding="utf-8")
        result = lendwatch(config, "fetch")
        assert result.returncode == 3, result.stderr
        assert "database or disk is full" in result.stderr or "No space left" in result.stderr
        assert "no transaction is active" not in result.stderr
    finally:
        subprocess.run(["umount", str(disk)], check=False, capture_output=True, timeout=30)


def test_an_emptied_or_vanished_database_is_refused_and_nothing_is_mailed_again(
    tmp_path: Path, http_server: HTTPTestServer, smtp_server: SMTPTestServer
) -> None:
    http_server.routes["/c.xml"] = good_route("c")
    config = write_config(tmp_path, [Src("c", http_server.url("/c.xml"))], smtp_server)
    db = tmp_path / "data" / "lendwatch.db"
    first = lendwatch(config, "run")
    assert first.returncode == 0, first.stderr
    assert len(smtp_server.messages) == 1
    assert history_marker(db).exists()

    db.write_bytes(b"")  # truncated
    for path in (db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        path.unlink(missing_ok=True)
    emptied = lendwatch(config, "run")
    assert emptied.returncode == 3, emptied.stderr
    assert f"database {db} is empty (0 bytes)" in emptied.stderr
    assert "backup" in emptied.stderr and str(history_marker(db)) in emptied.stderr
    _no_traceback(emptied)
    assert db.stat().st_size == 0  # not recreated
    assert len(smtp_server.messages) == 1  # nothing mailed again

    db.unlink()
    vanished = lendwatch(config, "status")
    assert vanished.returncode == 3
    assert f"database {db} is missing" in vanished.stderr
    assert not db.exists()

    os.unlink(history_marker(db))  # starting afresh on purpose
    fresh = lendwatch(config, "run")
    assert fresh.returncode == 0, fresh.stderr
    assert history_marker(db).exists()
