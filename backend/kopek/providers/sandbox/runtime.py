"""What every wallet simulator runs on: its CallbackSender, a Stall for the wallets that never
answer, and the background tasks (settling a payment, notifying Kopek) it spawns.

A wallet's `Simulator` subclasses `SimulatorRuntime` and calls `attach_to(app)` on its aiohttp
app: the sender opens with the app; on shutdown the stalls are released (before the server
waits for its open requests); at cleanup every background task is cancelled and the sender
closed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Coroutine, Hashable
from typing import Any

from aiohttp import web

from kopek.providers.sandbox.callbacks import CallbackSender
from kopek.providers.sandbox.faults import FaultInjector
from kopek.providers.sandbox.magic import FLAKY_FAILURES
from kopek.providers.sandbox.stall import Stall


class SimulatorRuntime:
    def __init__(self, faults: FaultInjector, time_scale: float, *, wallet: str, log: logging.Logger) -> None:
        self.time_scale = time_scale
        self.sender = CallbackSender(faults, time_scale)
        self.stall = Stall()
        self._tasks: set[asyncio.Task[None]] = set()
        self._wallet = wallet    # "webmoney", for the log
        self._log = log          # the wallet simulator's own logger

    def attach_to(self, app: web.Application) -> None:
        """Run this simulator with `app`: open, release stalls on shutdown, close at cleanup."""
        async def lifecycle(app: web.Application) -> AsyncIterator[None]:
            await self.open()
            yield
            await self.close()

        async def release_stalls(app: web.Application) -> None:
            # on_shutdown runs before the server waits for its open requests; cleanup runs after.
            self.release_stalls()

        app.cleanup_ctx.append(lifecycle)
        app.on_shutdown.append(release_stalls)

    async def open(self) -> None:
        await self.sender.open()

    def release_stalls(self) -> None:
        self.stall.release_all()

    async def close(self) -> None:
        self.release_stalls()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.sender.close()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self._log.error("%s sandbox: background task failed", self._wallet, exc_info=task.exception())


class FlakyCounter(dict[Hashable, int]):
    """Magic.FLAKY: the 503s answered per request key (e.g. the attempt id), so that the first
    FLAKY_FAILURES requests for a key fail. Remembers at most `max_keys` keys, oldest out first."""

    def __init__(self, max_keys: int) -> None:
        super().__init__()
        self.max_keys = max_keys

    def fail_next(self, key: Hashable) -> bool:
        """Should this request for `key` fail? Counts it if so."""
        failures = self.get(key, 0)
        if failures >= FLAKY_FAILURES:
            return False
        self[key] = failures + 1
        while len(self) > self.max_keys:
            del self[next(iter(self))]
        return True
