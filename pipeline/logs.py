"""Log plumbing: a rotating file under the data directory and a filter that redacts secrets.

``RedactFilter`` goes on every handler (stderr and file), so a record is cleaned whichever
logger emitted it: the SMTP password from ``LENDWATCH_SMTP_PASSWORD`` wherever it appears,
``Authorization`` header values, ``password=``/``token=``-style query parameters and the password
part of ``user:password@host`` URLs. Exception tracebacks are redacted too.

The file ``<data_dir>/lendwatch.log`` is created lazily (nothing logged, nothing created), readable
by the owner only, and rotated at ``MAX_BYTES`` keeping ``BACKUPS`` old files.
"""

from __future__ import annotations

import io
import logging
import logging.handlers
import os
import re
from pathlib import Path

from pipeline.config import PASSWORD_ENV

LOG_NAME = "lendwatch.log"
MAX_BYTES = 5_000_000
BACKUPS = 5
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
MASK = "***"

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Authorization: Bearer xyz / 'authorization': 'Basic xyz' / Proxy-Authorization=...
    (
        re.compile(r"""((?:proxy-)?authorization['"]?\s*[:=]\s*['"]?)[^'",}\r\n]+""", re.I),
        rf"\1{MASK}",
    ),
    # ?password=...&token=... (URLs, form bodies, key=value log text)
    (
        re.compile(
            r"""((?:pass(?:word|wd)?|pwd|secret|token|api[_-]?key|access[_-]?key)=)[^&\s'",;]+""",
            re.I,
        ),
        rf"\1{MASK}",
    ),
    # scheme://user:password@host
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^/\s:@]*:)[^@/\s]+@", re.I), rf"\1{MASK}@"),
)


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


class RedactFilter(logging.Filter):
    """Rewrites each record's message (and traceback) with secrets masked; never drops one."""

    def __init__(self, secrets: tuple[str, ...] | None = None) -> None:
        super().__init__()
        self._fixed = secrets

    def secrets(self) -> tuple[str, ...]:
        if self._fixed is not None:
            return self._fixed
        password = os.environ.get(PASSWORD_ENV, "")
        return (password,) if password else ()

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = self.secrets()
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the handler to report
            return True
        record.msg, record.args = redact(message, secrets), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, secrets)
        return True


class _PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """Creates its folder on first use and its files with mode 0600."""

    def _open(self) -> io.TextIOWrapper:
        path = Path(self.baseFilename)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        return open(fd, "a", encoding=self.encoding, errors=self.errors)


_file_handler: logging.Handler | None = None


def install_redaction(logger: logging.Logger | None = None) -> None:
    """Put a RedactFilter on every handler of ``logger`` (default: the root logger)."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, RedactFilter) for f in handler.filters):
            handler.addFilter(RedactFilter())


def attach_file_log(data_dir: Path, level: int = logging.INFO) -> logging.Handler:
    """Log to ``<data_dir>/lendwatch.log`` (rotating) as well; replaces a previous file log."""
    global _file_handler
    detach_file_log()
    handler = _PrivateRotatingFileHandler(
        data_dir / LOG_NAME, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8", delay=True
    )
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(RedactFilter())
    logging.getLogger().addHandler(handler)
    _file_handler = handler
    return handler


def detach_file_log() -> None:
    global _file_handler
    handler, _file_handler = _file_handler, None
    if handler is not None:
        logging.getLogger().removeHandler(handler)
        handler.close()
