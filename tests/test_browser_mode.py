"""``fetch = "browser"``: a source's list page from the system's headless Chromium, through
``lendwatch fetch``, against the loopback gateway's ``wzws-waf-cgi`` variant that plain HTTP
cannot pass. Where Chromium is missing the tests that need it are skipped with the reason;
the "missing browser" behaviour is tested everywhere with a Chromium path that does not exist.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.fetch.browser import browser_available
from tests.support.harness import ROOT, db_rows, lendwatch
from tests.support.shipped import shipped_table
from tests.support.wzws_server import SID, WzwsSite

FIXTURES = Path(__file__).parent / "fixtures"
NEWS = "/goutongjiaoliu/113456/113469/index.html"
PAGE = (FIXTURES / "sources" / "pboc-news.html").read_bytes()
MISSING = browser_available()
needs_browser = pytest.mark.skipif(MISSING is not None, reason=f"no browser mode: {MISSING}")


def config(tmp_path: Path, base: str, settings: str = "") -> Path:
    table = shipped_table("pboc-news", base, fetch="browser", timeout=60)
    path = tmp_path / "sources.toml"
    path.write_text(
        f'[settings]\ndata_dir = "data"\nrules = "{ROOT / "rules.toml"}"\n{settings}\n\n{table}',
        encoding="utf-8",
    )
    return path


def states(path: Path) -> dict[str, dict[str, object]]:
    out = lendwatch(path, "sources", "--json")
    assert out.returncode == 0, out.stderr
    return {row["id"]: row for row in map(json.loads, out.stdout.splitlines())}


@needs_browser
def test_a_browser_source_passes_what_plain_http_cannot_and_keeps_the_cookie(
    tmp_path: Path,
) -> None:
    with WzwsSite({NEWS: PAGE}, zw_verify=True) as site:
        path = config(tmp_path, site.url(""))
        checked = lendwatch(path, "check-config")
        assert checked.returncode == 0
        assert "browser mode (pboc-news): Chromium and chromedriver found" in checked.stdout
        out = lendwatch(path, "fetch")
        assert out.returncode == 0, out.stderr
        assert "0 failed" in out.stdout, out.stdout
        assert states(path)["pboc-news"]["status"] == "ok"
        db = path.parent / "data" / "lendwatch.db"
        assert db_rows(db, "SELECT count(*) FROM items") == [(13,)]
        [(cookies,)] = db_rows(db, "SELECT cookies FROM host_cookies")
        assert SID in json.loads(str(cookies))  # the clearance Chromium won, for plain HTTP
        assert site.confirms_ok >= 1


def test_without_a_browser_check_config_and_the_health_say_so(tmp_path: Path) -> None:
    missing = tmp_path / "no-chromium"
    with WzwsSite({NEWS: PAGE}) as site:
        path = config(tmp_path, site.url(""), f'chromium = "{missing}"')
        checked = lendwatch(path, "check-config")
        assert checked.returncode == 0, checked.stderr
        assert "pboc-news" in checked.stdout and "(browser)" in checked.stdout
        assert (
            f"warning: browser mode (pboc-news) cannot run here: Chromium not found at {missing}"
            in checked.stdout
        ) or "needs Selenium" in checked.stdout
        assert lendwatch(path, "fetch").returncode == 0
        state = states(path)["pboc-news"]
        assert state["status"] == "error"
        assert str(state["reason"]).startswith('fetch = "browser" cannot run here: ')
        assert site.requests == []  # nothing was fetched another way


def test_the_fetch_key_is_validated(tmp_path: Path) -> None:
    table = shipped_table("pboc-news", "http://127.0.0.1:9", fetch="chrome")
    path = tmp_path / "sources.toml"
    path.write_text(f'[settings]\ndata_dir = "data"\n\n{table}', encoding="utf-8")
    out = lendwatch(path, "check-config")
    assert out.returncode == 2
    assert "source 'pboc-news': fetch: expected 'http' or 'browser', got 'chrome'" in out.stderr
