"""Chat webhooks through apprise (optional extra ``lendwatch[notify]``).

DingTalk (``dingtalk://``), WeCom group bots (``wecombot://``), Feishu (``feishu://``) and any
other apprise URL receive the alerts as short text. apprise is imported only when a
``[[notify]]`` target exists; a failure is logged and retried, and never holds back email.
"""

from __future__ import annotations

import logging
import warnings

from pipeline.errors import DeliveryError

log = logging.getLogger(__name__)


def _redact(url: str) -> str:
    """Scheme and host only: webhook URLs carry their token."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0].split('@')[-1][:24]}…"


def notify_send(url: str, title: str, body: str) -> None:
    """Post one message; raises DeliveryError when apprise is missing or the post failed."""
    with warnings.catch_warnings():
        # apprise's plugin loader imports modules deprecated in newer Pythons (imghdr)
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            import apprise
        except ImportError as e:
            raise DeliveryError("[[notify]] needs apprise: pip install 'lendwatch[notify]'") from e
        sender = apprise.Apprise()
        if not sender.add(url):
            raise DeliveryError(f"notify {_redact(url)}: not a URL apprise understands")
        ok = sender.notify(body=body, title=title)
    if not ok:
        raise DeliveryError(f"notify {_redact(url)}: the webhook did not accept the message")
