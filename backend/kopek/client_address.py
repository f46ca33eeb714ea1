"""The shopper's address behind the operator's reverse proxies.

Every limit keyed by address needs the real client, not the proxy that terminates TLS. Only
proxies the operator names are believed: their `X-Forwarded-For` is read from the right, and the
first hop that is not one of them is the client. Without trusted proxies the header is ignored,
so a client cannot pick its own address to dodge a limit.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(spec: str) -> tuple[Network, ...]:
    """`10.0.0.0/8, 127.0.0.1` -> networks; a bad entry raises ValueError naming it."""
    networks = []
    for entry in filter(None, (part.strip() for part in spec.split(","))):
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"KOPEK_TRUSTED_PROXIES: {entry!r} is not an address or network") from None
    return tuple(networks)


def client_address(peer: str | None, forwarded_for: Sequence[str], trusted: Iterable[Network]) -> str:
    """The client's address: the peer itself unless it is a trusted proxy."""
    trusted = tuple(trusted)
    address = peer or "unknown"
    if not _is_trusted(address, trusted):
        return address
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",")]
    for hop in reversed(hops):
        if not _is_address(hop):
            return address   # a garbled hop: believe no further than the last proxy that added it
        address = hop
        if not _is_trusted(hop, trusted):
            return hop
    return address


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _is_trusted(text: str, trusted: tuple[Network, ...]) -> bool:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    return any(address in network for network in trusted)
