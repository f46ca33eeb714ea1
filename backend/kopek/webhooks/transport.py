"""One HTTP attempt at a receiver: no redirects, a bounded wait, a bounded read."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import AsyncIterator

import aiohttp

from kopek import __version__
from kopek.webhooks.guard import GuardedResolver, guarded_socket, refusal

MAX_READ_BYTES = 64 * 1024      # what we read of an answer; the rest is dropped with the connection
MAX_EXCERPT_BYTES = 1024        # what we keep of it for the delivery log
USER_AGENT = f"Kopek-Webhooks/{__version__}"


@dataclass(frozen=True)
class Reply:
    """What came back: an HTTP status, or an error that kept one from coming."""

    http_status: int | None
    error: str | None = None
    excerpt: str | None = None
    retry_after: str | None = None

    @property
    def delivered(self) -> bool:
        return self.http_status is not None and 200 <= self.http_status < 300


@asynccontextmanager
async def webhook_session(*, guard_addresses: bool, max_connections: int) -> AsyncIterator[aiohttp.ClientSession]:
    """The session for requests to shops (webhooks, the pre-check). In live mode its resolver and
    its socket factory refuse private addresses (webhooks/guard.py); it never uses a proxy from the
    environment (trust_env=False), keeps no cookies between receivers, and never asks for
    compressed answers (no zip bombs). Callers pass allow_redirects=False."""
    connector = aiohttp.TCPConnector(limit=max_connections, resolver=GuardedResolver() if guard_addresses else None,
                                     socket_factory=guarded_socket if guard_addresses else None)
    async with aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar(),
                                     auto_decompress=False, trust_env=False) as session:
        yield session


async def post(session: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str],
               timeout_s: float) -> Reply:
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, "Accept-Encoding": "identity",
               **headers}
    try:
        async with session.post(url, data=body, headers=headers, allow_redirects=False,
                                timeout=aiohttp.ClientTimeout(total=timeout_s)) as response:
            raw = await _read_capped(response, MAX_READ_BYTES)
            return Reply(response.status, _redirect_note(response), excerpt(raw),
                         response.headers.get("Retry-After"))
    except asyncio.TimeoutError:
        return Reply(None, f"timed out after {timeout_s:g} s")
    except aiohttp.ClientConnectorError as exc:
        refused = refusal(exc)
        return Reply(None, f"refused: {refused}" if refused else f"could not connect: {exc.os_error or exc}")
    except (aiohttp.ClientError, OSError, ValueError) as exc:  # every failure to send is a recorded attempt
        return Reply(None, f"{type(exc).__name__}: {exc}"[:500])


async def _read_capped(response: aiohttp.ClientResponse, limit: int) -> bytes:
    data = bytearray()
    while len(data) < limit:
        chunk = await response.content.read(limit - len(data))
        if not chunk:
            break
        data += chunk
    return bytes(data)


def _redirect_note(response: aiohttp.ClientResponse) -> str | None:
    if 300 <= response.status < 400:
        return f"redirects are not followed (Location: {response.headers.get('Location', '-')[:200]})"
    return None


def excerpt(raw: bytes) -> str | None:
    """At most MAX_EXCERPT_BYTES of UTF-8, cut on a character boundary."""
    if not raw:
        return None
    return raw[:MAX_EXCERPT_BYTES].decode("utf-8", "replace").encode("utf-8")[:MAX_EXCERPT_BYTES] \
        .decode("utf-8", "ignore")
