"""``lendwatch digest`` and ``lendwatch deliveries`` through click, on a real config file."""

from __future__ import annotations

from pathlib import Path

import click
from click.testing import CliRunner

from pipeline.cli.digest_cmds import deliveries, digest
from pipeline.config import load_config
from pipeline.store import Store
from tests.support.digest_fixtures import add_item, sample_items
from tests.support.smtpserver import SMTPTestServer

CONFIG = """
[settings]
data_dir = "data"

[digest]
language = "zh"

[[sources]]
id = "nfra"
name = "国家金融监督管理总局"
kind = "rss"
url = "https://nfra.example/feed.xml"
authority = "regulator"

[[sources]]
id = "nifa"
name = "中国互联网金融协会"
kind = "rss"
url = "https://nifa.example/feed.xml"
authority = "association"

[[sources]]
id = "sina"
name = "新浪财经"
kind = "rss"
url = "https://sina.example/feed.xml"

[[sources]]
id = "yicai"
name = "第一财经"
kind = "rss"
url = "https://yicai.example/feed.xml"
"""


def write_config(tmp_path: Path, smtp: SMTPTestServer | None = None) -> Path:
    text = CONFIG
    if smtp is not None:
        text += f"""
[email]
host = "{smtp.host}"
port = {smtp.port}
sender = "lendwatch@example.com"
recipients = ["risk@example.com"]
"""
    path = tmp_path / "sources.toml"
    path.write_text(text, encoding="utf-8")
    store = Store.open(load_config(path).settings.db_path)
    sample_items(store)
    store.close()
    return path


def invoke(config: Path, command: click.Command, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(command, list(args), obj={"config_path": config})
    return result.exit_code, result.stdout, result.stderr


def undigested(config: Path) -> int:
    store = Store.open(load_config(config).settings.db_path)
    try:
        return int(
            store.db.execute("SELECT COUNT(*) FROM items WHERE digested_at IS NULL").fetchone()[0]
        )
    finally:
        store.close()


def test_preview_prints_the_html_path_and_marks_nothing(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    code, out, err = invoke(config, digest, "--preview")
    assert code == 0, err
    path = Path(out.strip())
    assert path.suffix == ".html" and path.parent == tmp_path / "data" / "outbox"
    assert "借呗暂停新增授信" in path.read_text(encoding="utf-8")
    assert path.with_suffix(".eml").exists()
    assert undigested(config) == 6


def test_dry_run_lists_files(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    code, out, _ = invoke(config, digest, "--dry-run")
    assert code == 0
    assert "nothing sent, nothing marked delivered" in out
    assert ".eml" in out and ".html" in out
    assert undigested(config) == 6


def test_without_email_writes_outbox_then_nothing(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    code, out, err = invoke(config, digest)
    assert code == 0, err
    assert "1 written to the outbox" in out and "data/outbox/digest-" in out
    assert undigested(config) == 0
    code, out, _ = invoke(config, digest)
    assert code == 0 and out.strip() == "Nothing to report, nothing sent."


def test_smtp_down_exits_1_and_keeps_items(tmp_path: Path, smtp_server: SMTPTestServer) -> None:
    config = write_config(tmp_path, smtp_server)
    smtp_server.stop()
    code, _, err = invoke(config, digest)
    assert code == 1
    assert f"SMTP {smtp_server.host}:{smtp_server.port}: connection refused" in err
    assert "retried on the next run" in err
    assert undigested(config) == 6
    code, out, _ = invoke(config, deliveries)
    assert code == 0 and "failed" in out and "connection refused" in out

    smtp_server.start()
    code, out, err = invoke(config, digest)
    assert code == 0, err
    assert len(smtp_server.messages) == 1 and undigested(config) == 0


def test_deliveries_retry(tmp_path: Path, smtp_server: SMTPTestServer) -> None:
    config = write_config(tmp_path, smtp_server)
    store = Store.open(load_config(config).settings.db_path)
    add_item(store, "sina", "x", "助贷新规", severity="low")
    store.close()
    code, out, _ = invoke(config, deliveries, "--retry")
    assert code == 0 and "Nothing to report" in out


def test_config_error_exits_2_with_every_problem(tmp_path: Path) -> None:
    config = tmp_path / "sources.toml"
    config.write_text('[digest]\nlanguage = "fr"\nbogus = 1\n', encoding="utf-8")
    code, _, err = invoke(config, digest)
    assert code == 2
    assert "digest.language" in err and "digest.bogus" in err
