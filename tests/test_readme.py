"""README.md tells the truth: its examples run and its tables match the code.

- the kinds table is generated from the registry (``scripts/gen_readme_kinds.py --check``);
- the ``[[sources]]`` key table lists exactly the keys the loader accepts;
- the configuration reference loads, and shows the defaults it says it shows;
- the ``lendwatch classify`` console example prints what it shows for its input (``...`` in the
  shown output stands for anything).
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.config import (
    SOURCE_KEYS,
    SOURCE_REQUIRED,
    AlertsConfig,
    DigestConfig,
    Recipient,
    Settings,
    load_config,
)

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
GENERATOR = ROOT / "scripts" / "gen_readme_kinds.py"


def section(title: str) -> str:
    """The README's text under the heading ``title``, up to the next heading of its level."""
    text = README.read_text(encoding="utf-8")
    level = title.split(" ", 1)[0]
    start = text.index(f"\n{title}\n")
    end = text.find(f"\n{level} ", start + len(title) + 2)
    return text[start : end if end >= 0 else len(text)]


def blocks(text: str, lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```$", text, flags=re.M | re.S)


def generator(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(GENERATOR), *args], capture_output=True, text=True, cwd=ROOT
    )


def test_the_kinds_table_is_generated_from_the_registry() -> None:
    checked = generator("--check")
    assert checked.returncode == 0, checked.stderr


def test_a_stale_kinds_table_is_caught_and_rewritten(tmp_path: Path) -> None:
    stale = tmp_path / "README.md"
    text = README.read_text(encoding="utf-8")
    assert "| | `count_marker` |" in text
    stale.write_text(text.replace("| | `count_marker` |", "| | `count_markers` |"), "utf-8")
    checked = generator("--check", "--readme", str(stale))
    assert checked.returncode == 1 and "out of date" in checked.stderr
    assert generator("--readme", str(stale)).returncode == 0
    assert stale.read_text(encoding="utf-8") == text
    assert generator("--check", "--readme", str(stale)).returncode == 0


def test_the_sources_key_table_lists_every_key_the_loader_accepts() -> None:
    common = section("### Sources").split("Kind-specific keys")[0]
    rows = [line for line in common.splitlines() if line.startswith("| `")]
    listed: dict[str, bool] = {}
    for row in rows:
        keys_cell, required_cell = row.split("|")[1:3]
        for key in re.findall(r"`([a-z_]+)`", keys_cell):
            listed[key] = required_cell.strip() == "yes"
    assert set(listed) == set(SOURCE_KEYS)
    assert {key for key, required in listed.items() if required} == set(SOURCE_REQUIRED)


def test_the_configuration_reference_loads_and_shows_the_defaults(tmp_path: Path) -> None:
    (example,) = blocks(section("## Configuration reference"), "toml")
    path = tmp_path / "sources.toml"
    source = '[[sources]]\nid = "a"\nname = "A"\nkind = "rss"\nurl = "https://a.example/feed"\n'
    path.write_text(example + "\n" + source, encoding="utf-8")
    config = load_config(path)

    base = path.resolve().parent
    defaults = replace(
        Settings(), data_dir=base / Settings().data_dir, rules=base / Settings().rules
    )
    assert replace(config.settings, user_agent=defaults.user_agent) == defaults
    assert config.digest == DigestConfig() and config.alerts == AlertsConfig()
    assert config.email is not None
    assert (config.email.host, config.email.port, config.email.security) == (
        "smtp.example.com",
        465,
        "ssl",
    )
    assert config.email.recipients == (
        Recipient("risk@example.com"),
        Recipient("cfo@example.com", min_severity="high"),
        Recipient("credit@example.com", topics=("platform-change", "rate-cap")),
    )
    assert [n.url for n in config.notify] == ["dingtalk://TOKEN/"]


def _shown(output: str) -> re.Pattern[str]:
    """The shown output as a pattern: ``...`` is anything, a run of white space is some."""
    parts = []
    for chunk in re.split(r"(\.\.\.|\s+)", output.strip()):
        if chunk == "...":
            parts.append(".*?")
        elif chunk.isspace():
            parts.append(r"\s+")
        elif chunk:
            parts.append(re.escape(chunk))
    return re.compile("".join(parts), re.S)


def test_the_classify_example_prints_what_it_shows() -> None:
    (console,) = [b for b in blocks(section("## How items are classified"), "console")]
    command, _, shown = console.partition("\n")
    assert command.startswith("$ ")
    words = shlex.split(command[2:])
    assert words[0] == "echo" and words[2:4] == ["|", "lendwatch"], command
    given, args = words[1], words[4:]
    assert args == ["classify"]
    result = CliRunner().invoke(
        cli, ["--config", str(ROOT / "sources.toml"), *args], input=given + "\n"
    )
    assert result.exit_code == 0, result.output
    printed = result.stdout.strip()
    assert "\n" not in printed, "one line per input line"
    assert _shown(shown).fullmatch(printed), f"README shows:\n{shown}\nlendwatch prints:\n{printed}"


def test_the_pattern_of_a_shown_output_does_not_match_anything() -> None:
    shown = '{"id": "a", "score": 10.5,\n "topics": ["x", ...], ...}'
    assert _shown(shown).fullmatch('{"id": "a", "score": 10.5, "topics": ["x", "y"], "z": 1}')
    assert not _shown(shown).fullmatch('{"id": "a", "score": 9.5, "topics": ["x"], "z": 1}')
    assert not _shown(shown).fullmatch('{"id": "b", "score": 10.5, "topics": ["x"]}')
