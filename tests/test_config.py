"""Configuration contract: keys, defaults, and every problem reported at once."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from pipeline.config import (
    AlertsConfig,
    DigestConfig,
    EmailConfig,
    Recipient,
    Settings,
    load_config,
    parse_duration,
)
from pipeline.errors import ConfigError
from pipeline.models import Source

GOOD = """
[settings]
data_dir = "state"
timezone = "Asia/Shanghai"

[email]
host = "127.0.0.1"
port = 2525
security = "none"
sender = "lendwatch@example.com"
recipients = ["risk@example.com", { address = "cfo@example.com", min_severity = "high" }]

[digest]
at = "07:30"

[alerts]
min_severity = "off"

[[sources]]
id = "cfpb-newsroom"
name = "CFPB Newsroom"
kind = "rss"
url = "https://www.consumerfinance.gov/about-us/newsroom/feed/"
every = "30m"
authority = "regulator"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    return list(info.value.problems)


def test_good_config_resolves_paths_and_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    assert config.settings.data_dir == tmp_path / "state"
    assert config.settings.db_path == tmp_path / "state" / "lendwatch.db"
    assert config.settings.outbox_dir == tmp_path / "state" / "outbox"
    assert config.settings.rules == tmp_path / "rules.toml"
    assert config.digest.at == "07:30"
    assert config.alerts.min_severity == "off"
    assert config.email is not None
    assert [r.address for r in config.email.recipients] == ["risk@example.com", "cfo@example.com"]
    assert config.email.recipients[1].min_severity == "high"
    (src,) = config.sources
    assert (src.id, src.kind, src.every_seconds, src.authority) == (
        "cfpb-newsroom",
        "rss",
        1800,
        "regulator",
    )
    assert src.timezone == "Asia/Shanghai"


def test_rules_path_is_relative_to_the_config_file(tmp_path: Path) -> None:
    text = GOOD.replace('data_dir = "state"', 'data_dir = "state"\nrules = "conf/my-rules.toml"')
    assert load_config(write(tmp_path, text)).settings.rules == tmp_path / "conf" / "my-rules.toml"


def test_no_email_table_means_outbox(tmp_path: Path) -> None:
    text = GOOD.split("[email]")[0] + "[digest]" + GOOD.split("[digest]")[1]
    assert load_config(write(tmp_path, text)).email is None


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = """
[settings]
timezone = "Mars/Olympus"
colour = "red"

[digest]
at = "25:00"

[[sources]]
id = "a"
name = "A"
kind = "rss"
url = "https://example.com/feed"
every = "soon"
colour = "blue"

[[sources]]
id = "a"
name = "A again"
kind = "telepathy"
url = "ftp://example.com/"

[[sources]]
id = "Bad_ID"
kind = "rss"
url = "https://example.com/x"
min_items = "many"
"""
    problems = "\n".join(problems_of(tmp_path, text))
    path = str(tmp_path / "sources.toml")
    assert problems.count(path) >= 9
    assert "settings.timezone: unknown time zone 'Mars/Olympus'" in problems
    assert "settings.colour: unknown key; allowed keys:" in problems
    assert "digest.at: expected HH:MM" in problems
    assert "source 'a'.every:" in problems
    assert "source 'a'.colour: unknown key; allowed keys: authority, body," in problems
    assert "source 'a'.id: duplicate id" in problems
    assert "source 'a'.kind: unknown kind 'telepathy'; allowed kinds:" in problems
    assert "source 'a'.url: only http(s) URLs are fetched" in problems
    assert "source 'Bad_ID'.id: must match [a-z0-9-]+" in problems
    assert "source 'Bad_ID'.name: missing required key" in problems
    assert "source 'Bad_ID'.min_items: expected integer, got str 'many'" in problems


def test_bad_toml_names_the_file_and_line(tmp_path: Path) -> None:
    (problem,) = problems_of(tmp_path, "[settings\ndata_dir = 1")
    assert str(tmp_path / "sources.toml") in problem and "not valid TOML" in problem
    assert "line 1" in problem


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.toml")


def test_email_problems(tmp_path: Path) -> None:
    text = """
[email]
host = "smtp.example.com"
security = "tls"
password = "hunter2"
recipients = []
"""
    problems = "\n".join(problems_of(tmp_path, text))
    assert "email.security: expected none, starttls or ssl, got 'tls'" in problems
    # the password is never read from a file
    assert "email.password: unknown key" in problems
    assert "email.sender: missing required key" in problems
    assert "email.recipients: needs at least one recipient" in problems


def test_password_comes_only_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = load_config(write(tmp_path, GOOD))
    assert config.email is not None
    monkeypatch.delenv("LENDWATCH_SMTP_PASSWORD", raising=False)
    assert config.email.password == ""
    monkeypatch.setenv("LENDWATCH_SMTP_PASSWORD", "s3cret")
    assert config.email.password == "s3cret"


@pytest.mark.parametrize(
    ("value", "seconds"), [("30m", 1800), ("2h", 7200), ("1d", 86400), ("45s", 45), (90, 90)]
)
def test_parse_duration(value: object, seconds: int) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", ["0m", "-5m", "soon", True, 0, "5 minutes"])
def test_parse_duration_rejects(value: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(value)


def test_shipped_config_loads() -> None:
    root = Path(__file__).resolve().parents[1]
    config = load_config(root / "sources.toml")
    assert config.sources, "the shipped sources.toml must list sources"
    assert config.settings.rules == root / "rules.toml"
    assert config.email is None


def test_keys_left_out_take_the_dataclass_defaults(tmp_path: Path) -> None:
    """The loader writes no default of its own: what the file does not set is the dataclass's."""
    path = write(
        tmp_path,
        '[email]\nhost = "h"\nsender = "s@example.com"\nrecipients = ["r@example.com"]\n'
        '[[sources]]\nid = "a"\nname = "A"\nkind = "rss"\nurl = "https://a.example/feed"\n',
    )
    config = load_config(path)
    base = path.resolve().parent
    assert config.settings == replace(
        Settings(), data_dir=base / Settings().data_dir, rules=base / Settings().rules
    )
    assert config.digest == DigestConfig() and config.alerts == AlertsConfig()
    assert config.sources == (Source("a", "A", "rss", "https://a.example/feed"),)
    assert config.email == EmailConfig(
        "h", 25, "none", "s@example.com", (Recipient("r@example.com"),)
    )
