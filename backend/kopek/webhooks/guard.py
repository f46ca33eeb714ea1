"""The SSRF guard: webhook URLs must not reach into Kopek's own network in live mode.

Checked when an endpoint is saved, and again on every delivery through a resolver that
refuses private answers, so a DNS record changed later cannot point a delivery inward.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Iterable
from urllib.parse import SplitResult, urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from yarl import URL

MAX_URL_LENGTH = 2048
RESOLVE_TIMEOUT_S = 5.0
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UrlNotAllowed(OSError):
    """The URL's host is, or resolves to, an address a live webhook may not reach.
    An OSError, so that aiohttp reports it from the resolver as a connection error."""


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
    return None


def address_allowed(address: IpAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not (
        address.is_private or address.is_loopback or address.is_link_local or address.is_multicast
        or address.is_reserved or address.is_unspecified)


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


def check_literal_host(url: str) -> None:
    """At delivery time an IP literal never reaches a resolver, so it is checked here."""
    host = urlsplit(url).hostname or ""
    literal = ip_literal(host)
    if literal is not None:
        check_addresses(host, [str(literal)])


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
