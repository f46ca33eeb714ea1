"""The SSRF guard: outbound requests to shops (webhooks, the pre-check) must not reach into
Kopek's own network in live mode.

Checked when a URL is saved (a clear 400), and again on every request at connect time: the
resolver refuses a name with any inward answer, and the socket factory refuses every address
the connector is about to connect to, IP literals included (aiohttp never resolves those). So a
row written by a sandbox server on the same database, or a DNS record changed later, cannot
point a request inward.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Any, Iterable
from urllib.parse import SplitResult, urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from yarl import URL

from kopek.url_shape import MAX_URL_LENGTH

RESOLVE_TIMEOUT_S = 5.0
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
AddrInfo = tuple[int, int, int, str, tuple[Any, ...]]   # what getaddrinfo gives: family, type, proto, name, sockaddr

IPV6_GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")
# Refused on top of `is_global`, multicast and reserved: ranges that Python 3.11's `is_global`
# still counts as global, or that carry an embedded IPv4 address (the inward one may hide there).
BLOCKED_NETWORKS = tuple(ipaddress.ip_network(n) for n in (
    "192.0.0.0/24",                  # IETF protocol assignments
    "192.88.99.0/24",                # 6to4 relay anycast
    "2001::/23",                     # IETF protocol assignments: Teredo 2001::/32, benchmarking, ORCHID
    "2001:db8::/32", "3fff::/20",    # documentation
    "2002::/16",                     # 6to4: any IPv4 address inside, 127.0.0.1 too
    "64:ff9b::/96", "64:ff9b:1::/48",  # NAT64: an IPv4 address inside
    "::ffff:0:0/96", "::/96",        # IPv4-mapped and IPv4-compatible
    "fec0::/10",                     # site-local (deprecated, still routed by some networks)
))


class UrlNotAllowed(OSError):
    """The URL's host is, or resolves to, an address a live request to a shop may not reach. An
    OSError, so that aiohttp reports it from the resolver or the socket factory as a connection error."""


def url_problem(url: str) -> str | None:
    """Why `url` can't be a webhook endpoint, or None. Only its shape: addresses come later."""
    if len(url) > MAX_URL_LENGTH:
        return f"The URL is longer than {MAX_URL_LENGTH} characters."
    if any(c.isspace() or ord(c) < 32 for c in url):
        return "The URL contains whitespace or control characters."
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises on a port that is not a number in range
        _ = URL(url).raw_host  # the host as it will be sent (IDNA), or a ValueError
    except ValueError:
        return "Not a valid URL."
    if parts.scheme not in ("http", "https"):
        return "The URL must start with http:// or https://."
    if not parts.hostname:
        return "The URL has no host."
    if parts.username is not None or parts.password is not None:
        return "Credentials in the URL are not supported; verify the signature instead."
    if _odd_ipv4(parts.hostname):
        return "Write an IPv4 address as four decimal numbers (like 93.184.216.34)."
    return None


def _odd_ipv4(host: str) -> bool:
    """A legacy numeric IPv4 spelling (2130706433, 0177.0.0.1, 127.1, 0x7f.1): resolvers map it
    onto an address, and aiohttp refuses to connect to it, so it is refused when saved."""
    try:
        packed = socket.inet_aton(host)
    except OSError:
        return False
    return socket.inet_ntoa(packed) != host


def address_allowed(address: IpAddress) -> bool:
    """Public unicast only: for IPv6 only global unicast (2000::/3) minus the blocks above."""
    if address.version == 6 and address not in IPV6_GLOBAL_UNICAST:
        return False
    return (address.is_global and not address.is_multicast and not address.is_reserved
            and not any(address in network for network in BLOCKED_NETWORKS))


def ip_literal(host: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def check_addresses(host: str, addresses: Iterable[str]) -> None:
    """Every address the host resolves to must be public: one private answer is enough to refuse."""
    for text in addresses:
        address = ip_literal(text)
        if address is None or not address_allowed(address):
            raise UrlNotAllowed(f"{host} resolves to {text}, a private or reserved address")


async def check_url_target(url: str, *, allow_private: bool) -> None:
    """At save time: resolve the host (bounded) and refuse private answers, unless allowed."""
    if allow_private:
        return
    parts: SplitResult = urlsplit(url)
    host = parts.hostname or ""
    literal = ip_literal(host)
    if literal is not None:
        check_addresses(host, [str(literal)])
        return
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, parts.port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM),
            RESOLVE_TIMEOUT_S)
    except (OSError, asyncio.TimeoutError) as exc:
        raise UrlNotAllowed(f"could not resolve {host}") from exc
    check_addresses(host, [info[4][0] for info in infos])


def guarded_socket(addr_info: AddrInfo) -> socket.socket:
    """aiohttp's socket factory: every address the connector is about to connect to, resolved or
    literal, passes `address_allowed` first."""
    family, type_, proto, _, sockaddr = addr_info
    address = ip_literal(str(sockaddr[0]))
    if address is None or not address_allowed(address):
        raise UrlNotAllowed(f"{sockaddr[0]} is a private or reserved address")
    return socket.socket(family=family, type=type_, proto=proto)


def refusal(exc: BaseException) -> UrlNotAllowed | None:
    """The guard's refusal inside aiohttp's connection error, if that is what stopped the request."""
    os_error = getattr(exc, "os_error", None)
    return os_error if isinstance(os_error, UrlNotAllowed) else None


class GuardedResolver(AbstractResolver):
    """aiohttp's threaded resolver (the loop's getaddrinfo), refusing private answers."""

    def __init__(self) -> None:
        self._inner = ThreadedResolver()

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        check_addresses(host, [result["host"] for result in results])
        return results

    async def close(self) -> None:
        await self._inner.close()
