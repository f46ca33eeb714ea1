"""The HTTP plumbing connectors share: bounded timeouts, retries of idempotent calls, clear errors."""

from __future__ import annotations

import asyncio
from typing import Mapping

import aiohttp

from kopek.providers.contract import ProviderError

MAX_RESPONSE_BYTES = 64 * 1024
RETRY_DELAYS_S = (0.05, 0.2)   # three tries in all


async def post(http: aiohttp.ClientSession, url: str, body: bytes, *, content_type: str, timeout_s: float,
               headers: Mapping[str, str] | None = None, retry: bool = True) -> tuple[int, bytes]:
    """POST and return (status, body) for any answer below 500. 5xx, timeouts and connection
    errors are retried (when `retry`: the call must be idempotent), then raise ProviderError."""
    delays = RETRY_DELAYS_S if retry else ()
    last_error = ""
    for delay_s in (*delays, None):
        try:
            return await _post_once(http, url, body, content_type, timeout_s, headers or {})
        except _Retryable as exc:
            last_error = str(exc)
        if delay_s is None:
            break
        await asyncio.sleep(delay_s)
    raise ProviderError(f"{url} failed: {last_error}")


class _Retryable(Exception):
    pass


async def _post_once(http: aiohttp.ClientSession, url: str, body: bytes, content_type: str,
                     timeout_s: float, headers: Mapping[str, str]) -> tuple[int, bytes]:
    try:
        async with http.post(url, data=body, timeout=aiohttp.ClientTimeout(total=timeout_s),
                             headers={"Content-Type": content_type, **headers}) as response:
            payload = await response.content.read(MAX_RESPONSE_BYTES + 1)
            if len(payload) > MAX_RESPONSE_BYTES:
                raise ProviderError(f"{url} answered more than {MAX_RESPONSE_BYTES} bytes")
            if response.status >= 500:
                raise _Retryable(f"HTTP {response.status}")
            return response.status, payload
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        raise _Retryable(f"{type(exc).__name__}: {exc}") from exc
