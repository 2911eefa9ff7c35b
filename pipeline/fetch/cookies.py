"""A small per-host cookie jar for anti-bot clearance (WZWS ``wzws_cid`` and its session cookie).

Why not httpx's jar: the clearance must outlive the process (the integration stores it per host
in SQLite, so two processes cannot race on a file) and expire on our terms. Cookie names differ
between WZWS generations (``wzws_sessionid``, ``wzws_cid``, ``wzws_sid``, legacy ``wzwsconfirm``),
so the jar keeps whatever the server sets instead of expecting a name.

Scope, on purpose: cookies are kept per request host (``Domain`` and ``Path`` are ignored; WZWS
sets ``path=/`` on one host), ``Secure`` cookies go only over https. A cookie without an expiry
(a session cookie) is kept for ``session_ttl`` seconds: WZWS clearance lasts hours, and a stored
session cookie must not be replayed forever.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

DEFAULT_SESSION_TTL = 2 * 3600.0  # a public PBOC solver caches wzws_cid for 2 h


@dataclass(frozen=True, slots=True)
class Cookie:
    name: str
    value: str
    expires: float  # epoch seconds
    secure: bool = False


@dataclass(frozen=True, slots=True)
class HostCookies:
    """The plain-data form of one host's cookies, for persistence: ``to_dict``/``from_dict``
    round-trip through JSON. ``expires`` is the earliest expiry among them."""

    host: str
    cookies: tuple[tuple[str, str], ...]
    expires: float

    def to_dict(self) -> dict[str, object]:
        return {"cookies": dict(self.cookies), "expires": self.expires}

    @classmethod
    def from_dict(cls, host: str, data: Mapping[str, object]) -> HostCookies:
        """Raises ValueError naming the host and the bad key."""
        cookies = data.get("cookies")
        expires = data.get("expires")
        if not isinstance(cookies, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in cookies.items()
        ):
            raise ValueError(f"cookies of {host}: 'cookies' must map names to string values")
        if not isinstance(expires, int | float) or isinstance(expires, bool):
            raise ValueError(f"cookies of {host}: 'expires' must be epoch seconds")
        return cls(host.lower(), tuple(sorted(cookies.items())), float(expires))


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def parse_set_cookie(header: str, now: float, session_ttl: float) -> Cookie | None:
    """One ``Set-Cookie`` value; None when it has no ``name=``. An expiry in the past (or
    ``Max-Age<=0``) yields a cookie with that past expiry, which deletes it."""
    first, *attrs = header.split(";")
    name, sep, value = first.partition("=")
    name = name.strip()
    if not sep or not name:
        return None
    expires: float | None = None
    secure = False
    for attr in attrs:
        key, _, val = attr.partition("=")
        key = key.strip().lower()
        if key == "max-age":
            try:
                expires = now + int(val.strip())
            except ValueError:
                continue
        elif key == "expires" and expires is None:
            try:
                expires = parsedate_to_datetime(val.strip()).timestamp()
            except (TypeError, ValueError, IndexError):
                continue
        elif key == "secure":
            secure = True
    if expires is None:
        expires = now + session_ttl
    return Cookie(name, value.strip().strip('"'), expires, secure)


class CookieJar:
    """Cookies per host with expiry. ``generation(host)`` grows whenever a host's cookies
    change, so a caller can tell that someone else refreshed them meanwhile."""

    def __init__(
        self, *, session_ttl: float = DEFAULT_SESSION_TTL, now: Callable[[], float] = time.time
    ) -> None:
        self.session_ttl = session_ttl
        self.now = now
        self._hosts: dict[str, dict[str, Cookie]] = {}
        self._generation: dict[str, int] = {}

    def generation(self, host: str) -> int:
        return self._generation.get(host.lower(), 0)

    def _bump(self, host: str) -> None:
        self._generation[host] = self._generation.get(host, 0) + 1

    def store(self, url: str, set_cookies: Iterable[str]) -> None:
        """Record the ``Set-Cookie`` headers of a response from ``url``."""
        host = host_of(url)
        now = self.now()
        changed = False
        for header in set_cookies:
            cookie = parse_set_cookie(header, now, self.session_ttl)
            if cookie is None:
                log.debug("%s: ignored malformed Set-Cookie %r", host, header[:80])
                continue
            jar = self._hosts.setdefault(host, {})
            if cookie.expires <= now:
                changed = jar.pop(cookie.name, None) is not None or changed
            elif jar.get(cookie.name) != cookie:
                jar[cookie.name] = cookie
                changed = True
        if changed:
            self._bump(host)

    def _live(self, host: str) -> dict[str, Cookie]:
        now = self.now()
        jar = self._hosts.get(host, {})
        expired = [name for name, c in jar.items() if c.expires <= now]
        for name in expired:
            del jar[name]
        if expired:
            self._bump(host)
        return jar

    def pairs(self, url: str) -> dict[str, str]:
        """``name -> value`` of the live cookies to send with a request to ``url``."""
        https = urlsplit(url).scheme.lower() == "https"
        return {c.name: c.value for c in self._live(host_of(url)).values() if https or not c.secure}

    def header(self, url: str) -> str | None:
        """The ``Cookie`` header for a request to ``url``, or None when there is nothing."""
        return "; ".join(f"{k}={v}" for k, v in self.pairs(url).items()) or None

    def names(self, host: str) -> list[str]:
        return sorted(self._live(host.lower()))

    def export(self, host: str) -> HostCookies | None:
        """This host's live cookies as plain data, or None when it has none."""
        jar = self._live(host.lower())
        if not jar:
            return None
        return HostCookies(
            host.lower(),
            tuple(sorted((c.name, c.value) for c in jar.values())),
            min(c.expires for c in jar.values()),
        )

    def load(self, saved: HostCookies) -> None:
        """Restore a host's cookies saved by ``export``; an expired record is ignored."""
        if saved.expires <= self.now():
            return
        self._hosts[saved.host] = {
            name: Cookie(name, value, saved.expires) for name, value in saved.cookies
        }
        self._bump(saved.host)

    def clear(self, host: str) -> None:
        if self._hosts.pop(host.lower(), None):
            self._bump(host.lower())
