"""How simulators notify Kopek: retried until accepted, with magic and injected faults applied."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Callable

import aiohttp

from kopek.providers.sandbox.faults import FaultInjector
from kopek.providers.sandbox.magic import Magic

log = logging.getLogger(__name__)

NOTIFY_TRIES = 3
NOTIFY_RETRY_DELAY_S = 5.0
NOTIFY_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Notice:
    body: bytes
    content_type: str
    headers: tuple[tuple[str, str], ...] = ()


# render(state, forged) -> the notice for that provider state, with a broken signature if forged.
Render = Callable[[str, bool], Notice]
Accepted = Callable[[int, bytes], bool]


class CallbackSender:
    def __init__(self, faults: FaultInjector, time_scale: float) -> None:
        self.faults = faults
        self.time_scale = time_scale
        self._http: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=NOTIFY_TIMEOUT_S))

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()

    async def send(self, url: str, render: Render, *, final_state: str, stale_state: str,
                   magic: Magic, accepted: Accepted) -> None:
        """Send the final notice; duplicates go out at once, a stale notice after the final one."""
        forged = self.faults.roll("bad_signatures")
        copies = 2 if magic is Magic.DUPLICATE_CALLBACK or self.faults.roll("duplicate_callbacks") else 1
        notice = render(final_state, forged)
        await asyncio.gather(*(self._deliver(url, notice, accepted) for _ in range(copies)))
        if magic is Magic.OUT_OF_ORDER or self.faults.roll("out_of_order_callbacks"):
            await self._deliver(url, render(stale_state, False), accepted)

    async def _deliver(self, url: str, notice: Notice, accepted: Accepted) -> None:
        assert self._http is not None, "the simulator app has not started"
        headers = {"Content-Type": notice.content_type, **dict(notice.headers)}
        for attempt in range(1, NOTIFY_TRIES + 1):
            try:
                async with self._http.post(url, data=notice.body, headers=headers) as response:
                    if accepted(response.status, await response.read()):
                        return
                    log.info("sandbox notice to %s answered HTTP %s (try %s)", url, response.status, attempt)
            except (aiohttp.ClientError, TimeoutError) as exc:
                log.info("sandbox notice to %s failed: %s (try %s)", url, exc, attempt)
            if attempt < NOTIFY_TRIES:
                await asyncio.sleep(NOTIFY_RETRY_DELAY_S * self.time_scale)
