"""Chat webhooks through apprise (optional extra ``lendwatch[notify]``).

DingTalk (``dingtalk://``), WeCom group bots (``wecombot://``), Feishu (``feishu://``) and any
other apprise URL receive the alerts as short text. apprise is imported only when a
``[[notify]]`` target exists; a failure is logged and retried, and never holds back email.

A webhook URL *is* its secret (``dingtalk://TOKEN/``: the host part is the token), so nothing
here names more than the scheme and the configured ``name``; apprise's and urllib3's own log
records are scrubbed of the URL's parts while a message is posted.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from pipeline.errors import DeliveryError
from pipeline.logs import redact

log = logging.getLogger(__name__)

# loggers that print request URLs (apprise at DEBUG/WARNING, urllib3 at DEBUG)
_CHATTY = ("apprise", "urllib3.connectionpool", "requests")


def describe(url: str, name: str = "") -> str:
    """How a webhook is named in logs and errors: its scheme and configured name, no more."""
    scheme = url.partition("://")[0] if "://" in url else "?"
    scheme = re.sub(r"[^A-Za-z0-9+.-]", "", scheme)[:20] or "?"
    return f"{scheme} ({name})" if name and name != scheme else scheme


def secrets_of(url: str) -> tuple[str, ...]:
    """Everything after the scheme, whole and in pieces, longest first (what to mask)."""
    rest = url.partition("://")[2] if "://" in url else url
    pieces = {rest.strip("/"), *re.split(r"[/?#&=@:,;]+", rest)}
    return tuple(sorted((p for p in pieces if len(p) >= 4), key=len, reverse=True))


class _Scrub(logging.Filter):
    def __init__(self, secrets: Sequence[str]) -> None:
        super().__init__()
        self.secrets = tuple(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:  # a malformed record: drop it rather than print its raw args
            return False
        record.msg, record.args = redact(text, self.secrets), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        return True


@contextmanager
def _scrubbed(secrets: Sequence[str]) -> Iterator[None]:
    scrub = _Scrub(secrets)
    loggers = [logging.getLogger(name) for name in _CHATTY]
    for logger in loggers:
        logger.addFilter(scrub)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(scrub)


def notify_send(url: str, title: str, body: str, name: str = "") -> None:
    """Post one message; raises DeliveryError when apprise is missing or the post failed.

    ``name`` is the ``[[notify]] name`` (may be empty): errors say only that and the scheme.
    """
    where = f"notify {describe(url, name)}"
    with warnings.catch_warnings(), _scrubbed(secrets_of(url)):
        # apprise's plugin loader imports modules deprecated in newer Pythons (imghdr)
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            import apprise
        except ImportError as e:
            raise DeliveryError("[[notify]] needs apprise: pip install 'lendwatch[notify]'") from e
        sender = apprise.Apprise()
        if not sender.add(url):
            raise DeliveryError(f"{where}: not a URL apprise understands")
        ok = sender.notify(body=body, title=title)
    if not ok:
        raise DeliveryError(f"{where}: the webhook did not accept the message")
