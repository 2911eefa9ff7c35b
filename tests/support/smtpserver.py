"""A real SMTP server (aiosmtpd) on 127.0.0.1 that records what it accepts.

``reject`` holds recipient addresses to refuse with 550; ``auth`` = (user, password) requires
AUTH LOGIN/PLAIN (allowed over plain text on loopback for tests). ``stop()``/``start()`` keep
the port so a test can take the server down and bring it back.
"""

from __future__ import annotations

import email
import email.policy
import socket
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass
class Received:
    sender: str
    recipients: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        msg = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        return msg

    @property
    def text(self) -> str:
        """The plain-text part of the message."""
        part = self.message.get_body(("plain",))
        assert part is not None
        return str(part.get_content())


class _Handler:
    def __init__(self, owner: SMTPTestServer) -> None:
        self.owner = owner

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if address in self.owner.reject:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.owner.messages.append(
            Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content))
        )
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SMTPTestServer:
    def __init__(self, auth: tuple[str, str] | None = None) -> None:
        self.host = "127.0.0.1"
        self.port = _free_port()
        self.messages: list[Received] = []
        self.reject: set[str] = set()
        self.auth = auth
        self._controller: Controller | None = None

    def _authenticator(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and self.auth is not None
            and (auth_data.login.decode(), auth_data.password.decode()) == self.auth
        )
        return AuthResult(success=ok, handled=False)

    def start(self) -> Self:
        kwargs: dict[str, Any] = {}
        if self.auth is not None:
            kwargs = {
                "authenticator": self._authenticator,
                "auth_require_tls": False,
                "auth_required": True,
            }
        self._controller = Controller(_Handler(self), hostname=self.host, port=self.port, **kwargs)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
