"""The ``check-config`` command: validate the configuration and the rules, print what resolved.

It imports neither the fetcher nor the digest (see ``tests/test_lazy_imports.py``).
"""

from __future__ import annotations

from typing import Any

import click

from pipeline.cli.common import load, load_rules
from pipeline.cli.display import redact_url, safe
from pipeline.config import Config


@click.command("check-config")
@click.pass_context
def check_config(ctx: click.Context) -> None:
    """Validate the configuration and print the resolved settings."""
    config = load(ctx)
    s = config.settings
    resolved: dict[str, Any] = {
        "config": str(config.path.resolve()),
        "data_dir": str(s.data_dir),
        "database": str(s.db_path),
        "outbox": str(s.outbox_dir),
        "rules": str(s.rules),
        "timezone": s.timezone,
        "digest_at": config.digest.at,
        "digest_language": config.digest.language,
        "remind_days": ", ".join(str(n) for n in config.digest.remind_days) or "none",
        "first_fetch": config.digest.first_fetch,
        "alerts_min_severity": config.alerts.min_severity,
        "email": (
            safe(f"{config.email.security}://{config.email.host}:{config.email.port} -> ")
            + ", ".join(safe(r.address) for r in config.email.recipients)
            if config.email
            else f"none (digests written to {s.outbox_dir})"
        ),
    }
    width = max(len(k) for k in resolved)
    for key, value in resolved.items():
        click.echo(f"{key:<{width}}  {value}")
    click.echo(f"sources ({len(config.sources)}):")
    for src in config.sources:
        state = "" if src.enabled else " (disabled)"
        if src.options.get("fetch") == "browser":
            state += " (browser)"
        every = (
            f"{src.every_seconds // 60}m"
            if src.every_seconds % 60 == 0
            else f"{src.every_seconds}s"
        )
        line = f"  {src.id:<28} {src.kind:<5} every {every:<6} {src.authority:<11}"
        click.echo(f"{line} {redact_url(src.url)}{state}")
    _browser_line(config)
    rules = load_rules(s.rules, s.cache_dir)
    click.echo(f"rules {rules.version}: valid")


def _browser_line(config: Config) -> None:
    """Whether the sources with ``fetch = "browser"`` can run here, said plainly."""
    ids = [src.id for src in config.sources if src.options.get("fetch") == "browser"]
    if not ids:
        return
    from pipeline.fetch.rendered import unavailable  # only a config with browser sources

    missing = unavailable(config.settings)
    if missing is None:
        click.echo(f"browser mode ({', '.join(ids)}): Chromium and chromedriver found")
    else:
        click.echo(f"warning: browser mode ({', '.join(ids)}) cannot run here: {missing}")


COMMANDS: list[click.Command] = [check_config]
