"""Hand a message to an SMTP server, or write it to the outbox folder.

Every failure becomes a ``DeliveryError`` whose message names the server (``host:port``) and
the cause in words an operator can act on: connection refused, timeout, TLS failure, STARTTLS
not offered, bad credentials, refused recipients. The password comes only from
``LENDWATCH_SMTP_PASSWORD`` and is never logged.
"""

from __future__ import annotations

import logging
import os
import smtplib
import socket
import ssl
from collections.abc import Sequence
from pathlib import Path

from pipeline.config import PASSWORD_ENV, EmailConfig
from pipeline.errors import DeliveryError

log = logging.getLogger(__name__)


def _reply(code: int, message: bytes | str) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
    return f"{code} {' '.join(text.split())}".strip()


def _connect(cfg: EmailConfig) -> smtplib.SMTP:
    if cfg.security == "ssl":
        context = ssl.create_default_context()
        return smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout_seconds, context=context)
    smtp = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout_seconds)
    try:
        if cfg.security == "starttls":
            smtp.ehlo()
            if not smtp.has_extn("starttls"):
                raise DeliveryError(
                    f"SMTP {cfg.host}:{cfg.port}: the server does not offer STARTTLS"
                    ' (set [email] security = "ssl" or "none" to match the server)'
                )
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
    except BaseException:
        smtp.close()
        raise
    return smtp


def smtp_send(
    cfg: EmailConfig, sender: str, recipients: Sequence[str], payload: bytes
) -> dict[str, str]:
    """Send one message; return the recipients the server refused (when others were accepted).

    Raises DeliveryError when nothing was accepted.
    """
    where = f"SMTP {cfg.host}:{cfg.port}"
    password = cfg.password
    if cfg.username and not password:
        raise DeliveryError(f"{where}: [email] username is set but {PASSWORD_ENV} is empty")
    try:
        smtp = _connect(cfg)
        try:
            if cfg.username:
                smtp.login(cfg.username, password)
            refused = smtp.sendmail(sender, list(recipients), payload)
        finally:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()
    except DeliveryError:
        raise
    except ConnectionRefusedError as e:
        raise DeliveryError(f"{where}: connection refused (is the server running?)") from e
    except socket.gaierror as e:
        raise DeliveryError(f"{where}: cannot resolve host {cfg.host!r}: {e.strerror}") from e
    except TimeoutError as e:
        raise DeliveryError(f"{where}: timed out after {cfg.timeout_seconds:g}s") from e
    except ssl.SSLError as e:
        raise DeliveryError(
            f"{where}: TLS failure ({e.reason or e}); check [email] security and port"
        ) from e
    except smtplib.SMTPAuthenticationError as e:
        raise DeliveryError(
            f"{where}: login as {cfg.username!r} refused ({_reply(e.smtp_code, e.smtp_error)});"
            f" check [email] username and {PASSWORD_ENV}"
        ) from e
    except smtplib.SMTPNotSupportedError as e:
        raise DeliveryError(f"{where}: {e} (does the server support AUTH here?)") from e
    except smtplib.SMTPRecipientsRefused as e:
        detail = ", ".join(f"{r} ({_reply(c, m)})" for r, (c, m) in e.recipients.items())
        raise DeliveryError(f"{where}: recipient refused: {detail}") from e
    except smtplib.SMTPSenderRefused as e:
        raise DeliveryError(
            f"{where}: sender {sender!r} refused ({_reply(e.smtp_code, e.smtp_error)})"
        ) from e
    except smtplib.SMTPDataError as e:
        raise DeliveryError(
            f"{where}: message refused ({_reply(e.smtp_code, e.smtp_error)})"
        ) from e
    except smtplib.SMTPResponseException as e:
        raise DeliveryError(f"{where}: {_reply(e.smtp_code, e.smtp_error)}") from e
    except smtplib.SMTPException as e:
        raise DeliveryError(f"{where}: {e or type(e).__name__}") from e
    except OSError as e:
        raise DeliveryError(f"{where}: {e.strerror or e}") from e
    return {r: _reply(c, m) for r, (c, m) in refused.items()}


def write_private(path: Path, data: bytes) -> None:
    """Write a file readable by the owner only (0600), atomically."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_outbox(folder: Path, stem: str, eml: bytes, html: str | None) -> tuple[Path, ...]:
    """Write ``<stem>.eml`` (and ``<stem>.html``) into the outbox; returns the paths."""
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        paths = [folder / f"{stem}.eml"]
        write_private(paths[0], eml)
        if html is not None:
            paths.append(folder / f"{stem}.html")
            write_private(paths[1], html.encode("utf-8"))
    except OSError as e:
        raise DeliveryError(f"outbox {folder}: cannot write {stem}: {e.strerror or e}") from e
    return tuple(paths)
