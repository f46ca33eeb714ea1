"""Group commit for the one SQLite writer connection.

Each unit of work (one `async with store._transaction()`) runs alone on the writer, inside a
SAVEPOINT of a transaction that several units share. When a unit ends and no other waits for the
writer, it commits the whole group; when others wait, they join the open transaction and the last
of them commits (or the one that fills the group). Every unit leaves `unit()` only after the COMMIT that holds its writes, so a
request never answers before its data is durable, and a unit that fails rolls back to its
savepoint without touching the others.
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from typing import AsyncIterator, Coroutine, TypeVar

import aiosqlite

# A group commits when no unit waits, or when it holds this many: so that a steady stream of
# writers cannot keep the first of them waiting for its COMMIT.
MAX_UNITS_PER_COMMIT = 64
T = TypeVar("T")


class GroupCommitWriter:
    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._connection = connection
        self._lock = asyncio.Lock()
        self._waiting = 0                                  # units queued for the lock
        self._committed: asyncio.Future[None] | None = None  # the open group's, None when none is open
        self._units_in_group = 0
        # Totals since start, for tests and metrics: commits, the units they held, the largest group.
        self.commits = self.units_committed = self.largest_group = 0
        self._running: set[asyncio.Task[object]] = set()   # held so that the loop cannot drop them

    def _spawn(self, coroutine: Coroutine[object, object, T]) -> asyncio.Task[T]:
        """A task that outlives a cancelled caller (through asyncio.shield) or runs on its own."""
        task = asyncio.ensure_future(coroutine)
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return task

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[aiosqlite.Connection]:
        self._waiting += 1
        try:
            await self._lock.acquire()
        except BaseException:
            self._waiting -= 1
            self._spawn(self._flush())   # the group may have been left open for this unit
            raise
        self._waiting -= 1
        begin = self._spawn(self._begin_unit())
        try:
            committed = await asyncio.shield(begin)
        except asyncio.CancelledError:
            begin.add_done_callback(self._end_abandoned_unit)
            raise
        except BaseException:
            self._lock.release()
            raise
        try:
            yield self._connection
        except BaseException:
            await asyncio.shield(self._spawn(self._end_unit(rolled_back=True)))
            raise
        await asyncio.shield(self._spawn(self._end_unit(rolled_back=False)))
        await asyncio.shield(committed)

    async def _begin_unit(self) -> asyncio.Future[None]:
        """With the lock held: open a group if none is open, then this unit's savepoint."""
        if self._committed is None:
            await self._connection.execute("BEGIN IMMEDIATE")
            self._committed = asyncio.get_running_loop().create_future()
            self._units_in_group = 0
        await self._connection.execute("SAVEPOINT unit")
        self._units_in_group += 1
        return self._committed

    async def _end_unit(self, *, rolled_back: bool) -> None:
        """Close the savepoint, commit the group unless another unit is about to join it, and
        release the lock. Shielded: a cancelled request still leaves the writer consistent."""
        try:
            if rolled_back:
                await self._connection.execute("ROLLBACK TO unit")
                self._units_in_group -= 1
            await self._connection.execute("RELEASE unit")
            if not self._waiting or self._units_in_group >= MAX_UNITS_PER_COMMIT:
                await self._commit()
        except BaseException as exc:
            await self._abort(exc)
        finally:
            self._lock.release()

    def _end_abandoned_unit(self, begin: asyncio.Future[asyncio.Future[None]]) -> None:
        """A unit cancelled while its savepoint was being opened: undo it once it is open."""
        if begin.cancelled() or begin.exception() is not None:
            self._lock.release()
        else:
            self._spawn(self._end_unit(rolled_back=True))

    async def _flush(self) -> None:
        async with self._lock:
            if self._committed is not None and not self._waiting:
                try:
                    await self._commit()
                except Exception as exc:
                    await self._abort(exc)

    async def _commit(self) -> None:
        committed, self._committed = self._committed, None
        assert committed is not None
        await self._connection.execute("COMMIT")
        self.commits += 1
        self.units_committed += self._units_in_group
        self.largest_group = max(self.largest_group, self._units_in_group)
        committed.set_result(None)

    async def _abort(self, exc: BaseException) -> None:
        """The group cannot be committed: every unit in it fails with the error."""
        committed, self._committed = self._committed, None
        try:
            await self._connection.execute("ROLLBACK")
        except Exception:
            pass   # the failed COMMIT may already have ended the transaction
        if committed is not None and not committed.done():
            committed.set_exception(exc if isinstance(exc, Exception) else RuntimeError("the commit was interrupted"))
