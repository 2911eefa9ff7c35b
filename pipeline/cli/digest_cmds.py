"""Commands of this group are added by the stage that owns them."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
