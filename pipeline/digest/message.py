"""Build the MIME message: UTF-8 multipart/alternative (text, then HTML).

Header values never carry item text unchecked: the subject is cleaned to one line before it
gets here, and ``header_safe`` refuses CR/LF anyway; non-ASCII is RFC 2047 encoded by the
email package. The message is serialised with CRLF line ends (``policy.SMTP``).
"""

from __future__ import annotations

import email.policy
import email.utils
from collections.abc import Sequence
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage

from pipeline.digest.text import clean

DEFAULT_SENDER = "lendwatch@localhost"
OUTBOX_RECIPIENT = "undisclosed-recipients:;"


def header_safe(value: str, limit: int = 998) -> str:
    """One header line: no CR/LF or other control characters, at most ``limit`` characters."""
    return clean(value, limit)


def _domain(sender: str) -> str:
    _, addr = email.utils.parseaddr(sender)
    domain = addr.rpartition("@")[2]
    return domain if domain and "." in domain else "lendwatch.invalid"


def build_message(
    *,
    sender: str,
    recipients: Sequence[str],
    subject: str,
    text: str,
    html: str,
    now: datetime,
    kind: str,
) -> EmailMessage:
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["Subject"] = header_safe(subject)
    display, addr = email.utils.parseaddr(header_safe(sender))
    msg["From"] = Address(display_name=display or "lendwatch", addr_spec=addr or DEFAULT_SENDER)
    msg["To"] = ", ".join(header_safe(r) for r in recipients) if recipients else OUTBOX_RECIPIENT
    msg["Date"] = email.utils.format_datetime(now)
    msg["Message-ID"] = email.utils.make_msgid(domain=_domain(sender))
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    msg["X-Lendwatch-Kind"] = kind
    msg.set_content(text, subtype="plain", charset="utf-8")
    msg.add_alternative(html, subtype="html", charset="utf-8")
    return msg


def message_bytes(msg: EmailMessage) -> bytes:
    return msg.as_bytes(policy=email.policy.SMTP)
