"""`lendwatch serve`: the demo's database in Datasette over real HTTP, read-only, while
something else writes to it; the errors a user meets say what to do."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.harness import ROOT, clean_env, free_port, lendwatch

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("serve") / "demo"
    done = lendwatch(Path("unused.toml"), "demo", "--dir", str(folder))
    assert done.returncode == 0, done.stderr
    return folder / "sources.toml"


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")


@pytest.fixture(scope="module")
def served(demo: Path) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "--config", str(demo), "serve", "--port", str(port)],
        cwd=ROOT,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if get(f"{base}/-/versions.json")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            proc.kill()
            pytest.fail(f"serve did not start: {proc.communicate()[1]}")
        yield base
    finally:
        proc.terminate()
        proc.communicate(timeout=10)  # and the pipes closed


def canned(base: str, name: str) -> list[dict[str, object]]:
    tilde = urllib.parse.quote(name, safe="").replace("%", "~")
    status, text = get(f"{base}/lendwatch/{tilde}.json?_shape=array")
    assert status == 200, text[:500]
    rows = json.loads(text)
    assert isinstance(rows, list)
    return rows


def flagged_titles(demo: Path) -> list[str]:
    conn = sqlite3.connect(demo.parent / "data" / "lendwatch.db")
    try:
        return [r[0] for r in conn.execute("SELECT title FROM items WHERE flagged = 1")]
    finally:
        conn.close()


def test_items_page_lists_the_demo_with_links_facets_and_chinese_titles(
    served: str, demo: Path
) -> None:
    status, page = get(f"{served}/lendwatch/items")
    assert status == 200
    assert "条目" in page and "first_seen" in page
    assert '<a href="https://demo.' in page  # each row links to its source page
    for facet in ("source_id", "severity", "flagged"):
        assert f'data-column="{facet}"' in page or f"{facet}" in page
    term = urllib.parse.quote("小额贷款")  # full-text search: trigrams, 3 characters or more
    status, found = get(f"{served}/lendwatch/items.json?_search={term}&_shape=array")
    assert status == 200 and any("小额贷款" in row["title"] for row in json.loads(found))


def test_canned_queries_answer_from_the_demo(served: str, demo: Path) -> None:
    today = canned(served, "今日标记")
    assert today and sorted(str(row["title"]) for row in today) == sorted(flagged_titles(demo))
    assert {row["source_id"] for row in canned(served, "来源健康")} >= {"nfra-915", "fca-news"}
    assert canned(served, "待发送") == []  # the demo's digest carried everything
    assert canned(served, "按周统计")
    assert canned(served, "日程") == []  # no dated facts in list rows


def test_the_weekly_chart_draws_the_demo(served: str) -> None:
    status, page = get(f"{served}/-/chart")
    assert status == 200 and "<svg" in page and "<rect" in page
    assert "micro-loan" in page or "p2p" in page  # the demo's topics
    status, home = get(f"{served}/lendwatch")
    assert "/-/chart" in home  # linked from the menu


def test_read_only_and_no_secrets(served: str) -> None:
    assert get(f"{served}/lendwatch?sql=select+1")[0] == 403  # no arbitrary SQL
    assert get(f"{served}/lendwatch/host_cookies")[0] == 403  # clearance cookies
    databases = json.loads(get(f"{served}/-/databases.json")[1])
    assert [(d["name"], d["is_mutable"]) for d in databases] == [
        ("lendwatch", True)
    ]  # not immutable


def test_what_is_written_meanwhile_is_served(served: str, demo: Path) -> None:
    conn = sqlite3.connect(demo.parent / "data" / "lendwatch.db", timeout=10)
    try:
        with conn:
            conn.execute(
                "INSERT INTO items (id, source_id, guid, title, first_seen, last_seen,"
                " content_hash, flagged) VALUES ('zz-meanwhile', 'nfra-915', 'zz', '写入中的条目',"
                " strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now'), '', 'h', 1)"
            )
        status, text = get(f"{served}/lendwatch/items/zz-meanwhile.json?_shape=array")
        assert status == 200 and json.loads(text)[0]["title"] == "写入中的条目"
    finally:
        with conn:
            conn.execute("DELETE FROM items WHERE id = 'zz-meanwhile'")
        conn.close()


def test_missing_database_and_port_in_use(tmp_path: Path, served: str, demo: Path) -> None:
    missing = tmp_path / "sources.toml"
    missing.write_text(
        demo.read_text(encoding="utf-8").replace('data_dir = "data"', 'data_dir = "nowhere"'),
        encoding="utf-8",
    )
    done = lendwatch(missing, "serve", "--port", str(free_port()))
    assert done.returncode == 3 and "not found" in done.stderr and "Traceback" not in done.stderr
    corrupt = tmp_path / "c"
    (corrupt / "data").mkdir(parents=True)
    (corrupt / "data" / "lendwatch.db").write_bytes(b"not a database" * 100)
    (corrupt / "sources.toml").write_text(demo.read_text(encoding="utf-8"), encoding="utf-8")
    done = lendwatch(corrupt / "sources.toml", "serve", "--port", str(free_port()))
    assert done.returncode == 3 and "cannot be read" in done.stderr
    port = served.rpartition(":")[2]
    done = lendwatch(demo, "serve", "--port", port)
    assert done.returncode == 2
    assert "in use" in done.stderr and f"--port {int(port) + 1}" in done.stderr


def test_headless_chromium_loads_the_items_page(served: str, demo: Path, tmp_path: Path) -> None:
    """The page a user opens, as a browser renders it (the system Chromium; skipped without)."""
    import shutil

    chromium = next(
        (p for n in ("chromium", "chromium-browser", "google-chrome") if (p := shutil.which(n))),
        None,
    )
    if chromium is None:
        pytest.skip("no Chromium on this machine")
    done = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--dump-dom",
            f"{served}/lendwatch/items",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "条目" in done.stdout
    assert any(title in done.stdout for title in flagged_titles(demo))
