"""Where a request may go: the redirect policy and the address ban.

Hosts. A redirect may lead only to the source's own registrable domain (``www.pbc.gov.cn`` ->
``pbc.gov.cn``, by the Public Suffix List) or to a host listed in the source's
``redirect_hosts`` (a listed name also allows its subdomains). A detail page, and every hop of
its redirects, stays on the source's own host or its ``detail_hosts``. Only http(s).

Addresses. Every request, each hop included, goes only to public addresses: the host's
resolved addresses are checked before connecting and the connected peer's address after, so a
name that resolves differently the second time (DNS rebinding) is caught too. Refused are
loopback, private, link-local, shared, reserved, multicast and unspecified addresses, and always
the cloud metadata endpoints (169.254.169.254 and friends). Allowed anyway: the source's own
configured host when the operator wrote it as an IP address or ``localhost`` (a local RSSHub),
private addresses for a source with ``private_network = true``, and loopback when the fetch
``Policy`` says so (tests, which serve everything from 127.0.0.1).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

from publicsuffixlist import PublicSuffixList

from pipeline.models import Source

Resolver = Callable[[str], Awaitable[list[str]]]
IP = ipaddress.IPv4Address | ipaddress.IPv6Address

METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
)


@lru_cache(maxsize=1)
def _psl() -> PublicSuffixList:
    return PublicSuffixList()


def _ip(host: str) -> IP | None:
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


@lru_cache(maxsize=1024)
def registrable(host: str) -> str:
    """``www.pbc.gov.cn`` -> ``pbc.gov.cn``; an IP address or a bare name is itself."""
    host = host.lower().rstrip(".")
    if _ip(host) is not None:
        return host
    return _psl().privatesuffix(host) or host


def address_class(ip: IP) -> str | None:
    """None for a public address, else what it is."""
    if ip in METADATA:
        return "cloud metadata"
    for name, flag in (
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("unspecified", ip.is_unspecified),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
    ):
        if flag:
            return name
    return None if ip.is_global else "non-public"


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower().rstrip(".")


def origin(url: str) -> tuple[str, int | None]:
    parts = urlsplit(url)
    return (parts.hostname or "").lower(), parts.port


def redirect_refusal(url: str, source: Source) -> str | None:
    """Why a redirect of ``source`` may not lead to ``url`` (None: it may)."""
    host = _host(url)
    own = _host(source.url)
    if registrable(host) == registrable(own):
        return None
    for allowed in source.options.get("redirect_hosts", ()):
        name = str(allowed).lower().rstrip(".")
        if host == name or host.endswith("." + name):
            return None
    return (
        f"redirect to {host} refused: not on {registrable(own)}"
        " (list it in the source's redirect_hosts to allow it)"
    )


@dataclass(frozen=True, slots=True)
class AddressRule:
    source: Source
    allow_loopback: bool = False

    def refusal(self, host: str, ip: IP) -> str | None:
        kind = address_class(ip)
        if kind is None:
            return None
        if kind != "cloud metadata":
            own = _host(self.source.url)
            if host == own and (_ip(own) is not None or own == "localhost"):
                return None  # the operator wrote this address into the configuration
            if self.source.options.get("private_network"):
                return None
            if self.allow_loopback and kind == "loopback":
                return None
        return f"{host} is a {kind} address ({ip}); refused"

    def check(self, host: str, addresses: Iterable[str]) -> str | None:
        for address in addresses:
            ip = _ip(address.split("%", 1)[0])
            if ip is None:
                continue
            if (why := self.refusal(host, ip)) is not None:
                return why
        return None


async def system_resolver(host: str) -> list[str]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


async def resolve(host: str, resolver: Resolver | None) -> list[str]:
    """The host's addresses (an IP literal is its own); [] when it does not resolve (the
    request then fails as a network error, as before)."""
    if _ip(host) is not None:
        return [host.strip("[]")]
    try:
        return await (resolver or system_resolver)(host)
    except OSError:
        return []
