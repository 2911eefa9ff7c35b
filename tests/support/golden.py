"""Golden files for mail: parse a written message, take its parts, compare with the golden.

Regenerate after a deliberate change with ``LENDWATCH_UPDATE_GOLDEN=1`` and review the diff.
"""

from __future__ import annotations

import email
import email.policy
import os
import re
from email.message import EmailMessage
from pathlib import Path

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "digest"
UPDATE = os.environ.get("LENDWATCH_UPDATE_GOLDEN") == "1"


def parse(path: Path) -> EmailMessage:
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def parts(msg: EmailMessage) -> tuple[str, str]:
    text, html = msg.get_body(("plain",)), msg.get_body(("html",))
    assert text is not None and html is not None
    crlf = str(text.get_content()), str(html.get_content())
    return crlf[0].replace("\r\n", "\n"), crlf[1].replace("\r\n", "\n")


def normalized_headers(msg: EmailMessage) -> str:
    lines = []
    for key, value in msg.items():
        value = re.sub(r"<[^>]+>", "<MESSAGE-ID>", value) if key == "Message-ID" else value
        value = re.sub(r'boundary="[^"]+"', 'boundary="BOUNDARY"', value)
        lines.append(f"{key}: {value}")
    return "\n".join(lines) + "\n"


def check_golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"missing golden {path}; run with LENDWATCH_UPDATE_GOLDEN=1"
    assert actual == path.read_text(encoding="utf-8"), f"{name} differs from its golden file"
