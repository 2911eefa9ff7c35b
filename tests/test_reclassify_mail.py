"""New rules never mail an item twice: ``lendwatch reclassify`` after items were alerted and
digested under old rules changes their verdicts (more flagged, severities up) but ``lendwatch
fetch`` (alerts) and ``lendwatch digest`` send nothing about the items already delivered.
Through the CLI, on a real SQLite file, to the real loopback SMTP server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
from click.testing import CliRunner

from pipeline.cli.classify_cmds import reclassify
from pipeline.cli.core_cmds import fetch
from pipeline.cli.digest_cmds import digest
from pipeline.config import load_config
from pipeline.models import Item
from pipeline.store import Store
from tests.support.smtpserver import SMTPTestServer

ROOT = Path(__file__).resolve().parents[1]
# Items a regulator feed and the press published an hour ago (titles written for this test).
CLOSURE = "关于暂停借呗新增授信的公告"  # high under both rules
CAMPAIGN = "P2P专项整治方案公布"  # low under the old rules, high under the new ones
DRAFT = "国务院法制办就非存款类放贷组织条例公开征求意见"  # not flagged before, high now


def old_rules(tmp_path: Path) -> Path:
    """The shipped rules less what #15 added for these items: the 放贷组织 terms, 方案 as a
    document type and sector-wide campaigns as an action."""
    text = (ROOT / "rules.toml").read_text(encoding="utf-8")
    for added in (', "放贷组织", "非存款类放贷"', ', "新政", "方案"', '"专项整治", "清理整顿", '):
        assert added in text, added
        text = text.replace(added, ', "新政"' if added.endswith('"方案"') else "")
    path = tmp_path / "old-rules.toml"
    path.write_text(text, encoding="utf-8")
    return path


def write_config(tmp_path: Path, smtp: SMTPTestServer, rules: Path) -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(
        f"""
[settings]
data_dir = "data"
rules = "{rules}"

[email]
host = "{smtp.host}"
port = {smtp.port}
sender = "lendwatch@example.com"
recipients = ["risk@example.com"]

[alerts]
min_severity = "high"

[[sources]]
id = "gov"
name = "中国政府网"
kind = "rss"
url = "https://gov.example/feed.xml"
authority = "regulator"
issuer = "state-council"
enabled = false

[[sources]]
id = "sina"
name = "新浪财经"
kind = "rss"
url = "https://sina.example/feed.xml"
enabled = false
""",
        encoding="utf-8",
    )
    return path


def invoke(config: Path, command: click.Command, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(command, list(args), obj={"config_path": config})
    return result.exit_code, result.stdout + result.stderr


def mailed(smtp: SMTPTestServer, since: int) -> str:
    return "\n".join(m.text for m in smtp.messages[since:])


def test_reclassify_with_new_rules_mails_only_what_was_never_sent(
    tmp_path: Path, smtp_server: SMTPTestServer
) -> None:
    old = old_rules(tmp_path)
    config = write_config(tmp_path, smtp_server, old)
    hour_ago = datetime.now(UTC) - timedelta(hours=1)
    with Store.open(load_config(config).settings.db_path) as store:
        store.save_items(
            [
                Item(source_id="sina", guid="a", title=CLOSURE, published=hour_ago),
                Item(source_id="sina", guid="b", title=CAMPAIGN, published=hour_ago),
                Item(source_id="gov", guid="c", title=DRAFT, published=hour_ago),
            ],
        )

    # Old rules: the closure is alerted at once; the digest carries it and the campaign (low).
    code, out = invoke(config, reclassify)
    assert code == 0 and "3 changed" in out, out
    assert invoke(config, fetch)[0] == 0
    assert len(smtp_server.messages) == 1 and CLOSURE in mailed(smtp_server, 0)
    assert invoke(config, digest)[0] == 0
    assert len(smtp_server.messages) == 2
    first_digest = mailed(smtp_server, 1)
    assert CLOSURE in first_digest and CAMPAIGN in first_digest and DRAFT not in first_digest

    # New rules: the draft is flagged, the campaign rises to high; the closure stays high.
    config.write_text(config.read_text("utf-8").replace(str(old), str(ROOT / "rules.toml")))
    code, out = invoke(config, reclassify)
    assert code == 0 and "2 changed" in out, out
    changes = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert len(changes) == 2
    assert any("flagged; severity - -> high" in c and DRAFT in c for c in changes.values())
    assert any("severity low -> high" in c and CAMPAIGN in c for c in changes.values())
    sent = len(smtp_server.messages)
    assert invoke(config, fetch)[0] == 0  # alerts: only the draft, never delivered before
    assert len(smtp_server.messages) == sent + 1
    alert = mailed(smtp_server, sent)
    assert DRAFT in alert and CLOSURE not in alert and CAMPAIGN not in alert
    assert invoke(config, digest)[0] == 0  # the digest: the draft once more, as already alerted
    digest_now = mailed(smtp_server, sent + 1)
    assert DRAFT in digest_now and CLOSURE not in digest_now and CAMPAIGN not in digest_now

    # And again: nothing left to send.
    sent = len(smtp_server.messages)
    assert invoke(config, fetch)[0] == 0 and invoke(config, digest)[0] == 0
    assert len(smtp_server.messages) == sent
