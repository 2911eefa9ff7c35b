"""Which heavy libraries each command may import (after lemon24/reader's test_lazy_imports.py).

Start-up time is paid on every cron run and every ``lendwatch status``: a command imports only
what it needs. Each case runs the command in a fresh interpreter and reads ``sys.modules`` at
exit. ``ALLOWED`` is the contract: widening it for a command is a decision, not an accident.

Two imports are not ours to avoid: sqlite-utils imports numpy when it is installed (every command
that opens the database), and httpx imports rich, for its own command line (every command that
fetches). Loading the shipped configuration imports neither soupsieve nor bs4:
its selectors are all plain (``tests/test_selector_check.py``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest

from pipeline.cli import COMMANDS, cli, load_command
from tests.support.harness import ROOT, Src, clean_env, good_route, lendwatch, write_config
from tests.support.httpserver import HTTPTestServer

HEAVY = (
    "bs4",
    "lxml",
    "soupsieve",
    "httpx",
    "jinja2",
    "feedparser",
    "numpy",
    "pypdf",
    "docx",
    "apscheduler",
    "selenium",
    "datasette",
    "rich",
    "icalendar",
    "sqlite_utils",
)
STORE = {"sqlite_utils", "numpy"}  # sqlite-utils imports numpy when it is installed

# command line -> heavy modules it may import
ALLOWED: dict[tuple[str, ...], set[str]] = {
    ("--help",): set(),
    ("classify", "--help"): set(),
    ("status", "--help"): STORE,  # its module is loaded, not run
    ("check-config",): set(),
    ("status",): STORE,
    ("export",): STORE,
    ("deliveries",): STORE,
    ("search", "借呗"): STORE,
    ("calendar",): STORE | {"icalendar"},  # the calendar, and nothing of the digest
    ("calendar", "--help"): set(),
    ("demo", "--help"): set(),
    ("serve", "--help"): set(),
}

SCRIPT = """
import atexit, json, sys
heavy = json.loads(sys.argv[1])
atexit.register(lambda: print("\\nIMPORTED " + json.dumps(
    sorted(h for h in heavy if h in sys.modules)), file=sys.__stderr__))
sys.argv = ["lendwatch", *sys.argv[2:]]
from pipeline.cli import main
main()
"""


def shipped_config(tmp_path: Path) -> Path:
    """The shipped sources.toml, its data directory in ``tmp_path``."""
    text = (ROOT / "sources.toml").read_text(encoding="utf-8")
    here = f'data_dir = "{tmp_path / "data"}"\nrules = "{ROOT / "rules.toml"}"'
    assert 'data_dir = "data"' in text
    path = tmp_path / "sources.toml"
    path.write_text(text.replace('data_dir = "data"', here, 1), encoding="utf-8")
    return path


def imported(tmp_path: Path, args: tuple[str, ...], config: Path | None = None) -> set[str]:
    config = config or shipped_config(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(HEAVY), "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=clean_env(),
        check=False,
    )
    line = done.stderr.rpartition("IMPORTED ")[2]
    assert line, done.stderr
    return set(json.loads(line.splitlines()[0]))


@pytest.mark.parametrize("args", list(ALLOWED), ids=" ".join)
def test_a_command_imports_only_what_it_needs(args: tuple[str, ...], tmp_path: Path) -> None:
    extra = imported(tmp_path, args) - ALLOWED[args]
    assert not extra, f"lendwatch {' '.join(args)} imported {sorted(extra)}"


def test_an_unchanged_cycle_loads_no_parser_and_no_templates(
    tmp_path: Path, http_server: HTTPTestServer
) -> None:
    """``lendwatch run`` every few minutes, every source answering 304: the fetcher and the
    store, but neither feedparser nor bs4 (nothing to parse) nor jinja2 (nothing to render).
    The first cycle, with news, loads them all: the check is not vacuous."""
    http_server.routes["/pbc.xml"] = good_route("pbc")
    config = write_config(tmp_path, [Src("pbc", http_server.url("/pbc.xml"))])
    first = imported(tmp_path, ("run",), config)
    assert {"feedparser", "bs4", "jinja2", "httpx"} <= first
    assert lendwatch(config, "run").returncode == 0  # the digest of the first cycle's news
    again = imported(tmp_path, ("run",), config)
    assert http_server.hits("/pbc.xml")[-1].headers.get("If-None-Match") == '"pbc-1"'
    # rich: httpx imports it (for httpx's own command line) whenever it is installed
    assert again - (STORE | {"httpx", "rich"}) == set(), sorted(again)


def test_the_store_commands_really_open_the_store(tmp_path: Path) -> None:
    """The table above is not vacuous: a command that opens the database shows it."""
    assert "sqlite_utils" in imported(tmp_path, ("status",))


def test_importing_the_cli_imports_no_command() -> None:
    code = "import sys, pipeline.cli; print(sorted(m for m in sys.modules if m.endswith('_cmds')))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert done.stdout.strip() == "[]"


def test_the_registry_names_every_command_with_its_own_help() -> None:
    """Each entry loads a click command of that name whose short help is the registry's line;
    every command module's commands are registered."""
    loaded: set[int] = set()
    for name, entry in COMMANDS.items():
        command = load_command(name)
        assert command.name == name
        assert command.get_short_help_str(limit=1000) == entry.summary, name
        loaded.add(id(command))
    for module in {entry.module for entry in COMMANDS.values()}:
        listed = __import__(module, fromlist=["COMMANDS"]).COMMANDS
        assert {id(c) for c in listed} <= loaded, f"{module} has an unregistered command"
    modules = {p.stem for p in (ROOT / "pipeline" / "cli").glob("*_cmds.py")}
    assert modules == {entry.module.rpartition(".")[2] for entry in COMMANDS.values()}


def test_help_lists_every_command() -> None:
    ctx = click.Context(cli)
    text = cli.get_help(ctx)
    for name in COMMANDS:
        assert f"  {name} " in text
    assert cli.get_command(ctx, "no-such-command") is None
