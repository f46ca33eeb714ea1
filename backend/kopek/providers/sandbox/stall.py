"""A simulator that "never answers" waits here, and is released when the simulator shuts down,
so a stalled request never holds up a server's shutdown. Release it in `on_shutdown`: by
cleanup time aiohttp has already waited (up to 60 s) for open requests to finish."""

from __future__ import annotations

import asyncio

from kopek.providers.sandbox.magic import TIMEOUT_HANG_S
from kopek.waiting import wait_for_event


class Stall:
    def __init__(self) -> None:
        self._released = asyncio.Event()

    async def wait(self, at_most_s: float = TIMEOUT_HANG_S) -> None:
        await wait_for_event(self._released, at_most_s)

    def release_all(self) -> None:
        self._released.set()
