"""The shipped PBOC sources fetched by ``lendwatch fetch`` through a loopback WZWS gateway.

The gateway (tests/support/wzws_server.py) implements the whole classic flow: a challenge page
(packed or plain script) with a session cookie, the answer checked against its own computation,
the clearance cookie and the redirect, expiry by time, and the newer variants. The sources are
the shipped tables of sources.toml with only their host moved to the gateway. Each
``lendwatch`` run is its own process: the clearance must travel through the database.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.support.harness import ROOT, db_rows, lendwatch
from tests.support.shipped import shipped_table
from tests.support.wzws_server import CID, WzwsSite

FIXTURES = Path(__file__).parent / "fixtures"
NEWS = "/goutongjiaoliu/113456/113469/index.html"
PENALTY = "/zhengwugongkai/4081330/4081344/4081407/4081705/index.html"
DETAIL = "/zhengwugongkai/4081330/4081344/4081407/4081705/2026092418294123383/index.html"
PAGES = {
    NEWS: (FIXTURES / "sources" / "pboc-news.html").read_bytes(),
    PENALTY: (FIXTURES / "sources" / "pboc-penalty.html").read_bytes(),
    DETAIL: (FIXTURES / "penalty" / "pboc-penalty-detail-2026.html").read_bytes(),
}
SOURCES = ("pboc-news", "pboc-penalty")


class Clock:
    def __init__(self) -> None:
        self.t = 1_000_000.0

    def __call__(self) -> float:
        return self.t


def write_config(tmp_path: Path, site: WzwsSite) -> Path:
    base = site.url("")
    tables = "\n".join(shipped_table(sid, base, timeout=10) for sid in SOURCES)
    path = tmp_path / "sources.toml"
    path.write_text(
        f'[settings]\ndata_dir = "data"\nrules = "{ROOT / "rules.toml"}"\n\n{tables}',
        encoding="utf-8",
    )
    return path


def sources_json(config: Path) -> dict[str, dict[str, object]]:
    out = lendwatch(config, "sources", "--json")
    assert out.returncode == 0, out.stderr
    return {row["id"]: row for row in map(json.loads, out.stdout.splitlines())}


def stored_cookies(config: Path) -> list[tuple[object, ...]]:
    return db_rows(
        config.parent / "data" / "lendwatch.db", "SELECT host, cookies FROM host_cookies"
    )


@pytest.mark.parametrize("form", ["packed", "plain"])
def test_pboc_sources_pass_the_challenge_and_the_next_process_reuses_the_clearance(
    tmp_path: Path, form: str
) -> None:
    with WzwsSite(dict(PAGES), form=form) as site:  # type: ignore[arg-type]
        config = write_config(tmp_path, site)
        first = lendwatch(config, "fetch")
        assert first.returncode == 0, first.stderr
        assert "0 failed" in first.stdout
        # one solve for the host, shared by both sources (and their detail pages)
        assert (site.confirms_ok, site.confirms_bad) == (1, 0)
        [(host, cookies)] = stored_cookies(config)
        assert host == "127.0.0.1" and CID in json.loads(str(cookies))
        db = config.parent / "data" / "lendwatch.db"
        assert db_rows(db, "SELECT count(*) FROM items WHERE source_id = 'pboc-news'") == [(13,)]
        assert db_rows(db, "SELECT count(*) FROM items WHERE source_id = 'pboc-penalty'") == [(20,)]
        states = sources_json(config)
        assert {states[s]["status"] for s in SOURCES} == {"ok"}

        challenges = site.challenges
        seen = len(site.requests)
        second = lendwatch(config, "fetch")  # a new process: the clearance comes from the db
        assert second.returncode == 0, second.stderr
        assert (site.challenges, site.confirms_ok) == (challenges, 1)
        later = site.requests[seen:]
        assert later and all(CID in r.headers.get("Cookie", "") for r in later)
        assert not any(r.path.startswith("/WZWSRE") for r in later)


def test_the_penalty_detail_behind_the_gateway_is_stored_as_records(tmp_path: Path) -> None:
    with WzwsSite(dict(PAGES)) as site:
        config = write_config(tmp_path, site)
        assert lendwatch(config, "fetch").returncode == 0
    db = config.parent / "data" / "lendwatch.db"
    [(item_id, parties, amount)] = db_rows(
        db,
        "SELECT p.item_id, p.parties, p.amount_yuan FROM penalties p JOIN items i"
        " ON i.id = p.item_id WHERE i.title = '银罚决字〔2026〕104-116号'",
    )
    assert json.loads(str(parties))[0] == "广发银行股份有限公司"
    assert amount == pytest.approx(17695217.47)
    assert db_rows(db, "SELECT count(*) FROM penalty_records WHERE item_id = ?", [item_id]) == [
        (13,)
    ]


def test_an_expired_clearance_is_answered_again(tmp_path: Path) -> None:
    clock = Clock()
    with WzwsSite(dict(PAGES), clearance_seconds=600, clock=clock) as site:
        config = write_config(tmp_path, site)
        assert lendwatch(config, "fetch").returncode == 0
        [(_, before)] = stored_cookies(config)
        clock.t += 601  # the gateway forgets the clearance: its challenge comes back
        again = lendwatch(config, "fetch")
        assert again.returncode == 0, again.stderr
        assert "0 failed" in again.stdout
        assert (site.confirms_ok, site.confirms_bad) == (2, 0)
        [(_, after)] = stored_cookies(config)
        assert json.loads(str(after))[CID] != json.loads(str(before))[CID]


def test_a_stored_clearance_past_its_expiry_is_not_sent(tmp_path: Path) -> None:
    with WzwsSite(dict(PAGES)) as site:
        config = write_config(tmp_path, site)
        assert lendwatch(config, "fetch").returncode == 0
        db = config.parent / "data" / "lendwatch.db"
        conn = sqlite3.connect(db)
        with conn:
            conn.execute("UPDATE host_cookies SET expires = 10")  # long past
        conn.close()
        seen = len(site.requests)
        assert lendwatch(config, "fetch").returncode == 0
        first = site.requests[seen]
        assert CID not in first.headers.get("Cookie", "")
        assert site.confirms_ok == 2
        assert db_rows(db, "SELECT count(*) FROM host_cookies WHERE expires > 10") == [(1,)]


def test_a_refused_answer_is_blocked_retried_with_backoff_never_looped(tmp_path: Path) -> None:
    with WzwsSite(dict(PAGES), answer_salt=1) as site:  # the gateway expects another answer
        config = write_config(tmp_path, site)
        out = lendwatch(config, "fetch")
        assert out.returncode == 0, out.stderr  # failed sources are reported, not fatal
        states = sources_json(config)
        for sid in SOURCES:
            assert states[sid]["status"] == "blocked"
            assert "WZWS classic" in str(states[sid]["reason"])
            assert "after 3 attempts" in str(states[sid]["reason"])
        # three attempts per source, one answer each: never more
        assert site.confirms_bad == 6 and site.confirms_ok == 0
        assert stored_cookies(config) == []
        assert lendwatch(config, "fetch").returncode == 0
        states = sources_json(config)
        assert {states[s]["consecutive_failures"] for s in SOURCES} == {2}
        assert db_rows(
            config.parent / "data" / "lendwatch.db",
            "SELECT count(*) FROM health_events WHERE event = 'broken'",
        ) == [(2,)]


VARIANTS = [
    ("wzws-waf-zw-verify-reconstructed.html", 200, "waf-zw-verify"),
    ("wzws-text-captcha-reconstructed.html", 200, "text-captcha"),
    ("wzws-hard-block-reconstructed.html", 403, "hard-block"),
]


@pytest.mark.parametrize(("name", "status", "variant"), VARIANTS)
def test_variants_are_blocked_naming_the_variant_without_an_answer(
    tmp_path: Path, name: str, status: int, variant: str
) -> None:
    page = (FIXTURES / "wzws" / name).read_bytes()
    with WzwsSite(dict(PAGES), variant=(status, page, {"Content-Type": "text/html"})) as site:
        config = write_config(tmp_path, site)
        assert lendwatch(config, "fetch").returncode == 0
        states = sources_json(config)
        for sid in SOURCES:
            assert states[sid]["status"] == "blocked"
            assert f"WZWS {variant}" in str(states[sid]["reason"])
        assert site.confirm_requests() == []
        assert len(site.requests) == len(SOURCES)  # not retried: no answer can help


@pytest.mark.parametrize("per_host", [1, 2])
def test_the_per_host_limit_holds_for_challenge_answers_too(tmp_path: Path, per_host: int) -> None:
    """Two PBOC sources challenged at once: every request to the host, the challenge pages, the
    answer, the redirects and the detail pages, stays within ``per_host`` at a time."""
    with WzwsSite(dict(PAGES), delay=0.05) as site:
        config = write_config(tmp_path, site)
        text = config.read_text("utf-8").replace(
            'data_dir = "data"', f'data_dir = "data"\nper_host = {per_host}'
        )
        config.write_text(text, "utf-8")
        assert lendwatch(config, "fetch").returncode == 0
        assert site.confirms_ok == 1
        assert 1 <= site.max_inflight <= per_host
