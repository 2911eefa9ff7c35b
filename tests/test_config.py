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
from tests.support.harness import ROOT, lendwatch

RULES = ROOT / "rules.toml"

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
    assert (
        "source 'a'.colour: unknown key; allowed keys: attachment_fields, attachment_links,"
        " attachment_max_bytes, attachment_timeout, attachments, authority, body," in problems
    )
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


def _source(sid: str, url: str, extra: str = "") -> str:
    return f'[[sources]]\nid = "{sid}"\nname = "{sid}"\nkind = "rss"\nurl = "{url}"\n{extra}\n'


def test_urls_are_checked_and_shown_without_credentials(tmp_path: Path) -> None:
    text = "".join(
        (
            _source("spaces", "https://example.cn/a feed.xml"),
            _source("port-big", "https://example.cn:99999/feed"),
            _source("port-word", "https://example.cn:http/feed"),
            _source("ftp", "ftp://example.cn/feed"),
            _source("no-host", "https:///feed.xml"),
            _source("secret", "gopher://bob:hunter2@example.cn/feed?token=abc123"),
            _source("ok", "https://example.cn:8443/feed?page=2"),
        )
    )
    problems = problems_of(tmp_path, text)
    path = tmp_path / "sources.toml"
    expected = {
        "spaces": "contains white space",
        "port-big": "not a valid URL",
        "port-word": "not a valid URL",
        "ftp": "only http(s) URLs are fetched",
        "no-host": "has no host",
        "secret": "only http(s) URLs are fetched",
    }
    for sid, message in expected.items():
        assert any(p.startswith(f"{path}: source '{sid}'.url: {message}") for p in problems), sid
    assert not any("'ok'" in p for p in problems)
    assert not any("hunter2" in p or "abc123" in p for p in problems)
    assert any("bob:***@example.cn/feed?token=***" in p for p in problems)


def test_numeric_ranges_name_the_file_the_place_and_the_key(tmp_path: Path) -> None:
    text = (
        "[settings]\nconcurrency = 0\nper_host = 0\nretention_days = 0\n"
        '[email]\nhost = "smtp.example.cn"\nport = 70000\nsender = "a@example.cn"\n'
        'recipients = ["b@example.cn"]\ntimeout = 0\n'
        "[digest]\nmax_items = 0\nmax_age_days = 0\n"
        + _source("a", "https://example.cn/a", "timeout = 0\nmax_bytes = -1\nmin_items = -2")
        + _source("b", "https://example.cn/b", 'every = "60d"')
        + _source("c", "https://example.cn/c", "every = 0")
    )
    problems = problems_of(tmp_path, text)
    path = tmp_path / "sources.toml"
    for where in (
        "settings.concurrency",
        "settings.per_host",
        "settings.retention_days",
        "email.port",
        "email.timeout",
        "digest.max_items",
        "digest.max_age_days",
        "source 'a'.timeout",
        "source 'a'.max_bytes",
        "source 'a'.min_items",
        "source 'b'.every",
        "source 'c'.every",
    ):
        assert any(p.startswith(f"{path}: {where}: ") for p in problems), where
    assert f"{path}: source 'a'.max_bytes: must be between 1 and 1073741824, got -1" in problems


def test_check_config_prints_urls_without_credentials(tmp_path: Path) -> None:
    text = GOOD.replace(
        "https://www.consumerfinance.gov/about-us/newsroom/feed/",
        "https://bob:hunter2@www.consumerfinance.gov/feed/?access_token=s3cr3t&page=1",
    ).replace('data_dir = "state"', f'data_dir = "state"\nrules = "{RULES}"')
    result = lendwatch(write(tmp_path, text), "check-config")
    assert result.returncode == 0, result.stderr
    assert "hunter2" not in result.stdout and "s3cr3t" not in result.stdout
    assert "https://bob:***@www.consumerfinance.gov/feed/?access_token=***&page=1" in result.stdout
