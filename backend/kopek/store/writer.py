"""The one SQLite writer: units of work (each `async with store._transaction()`) run one at a time on
the event loop's thread (store/inline.py), and the units that run in the same turn of the loop share
one transaction and one COMMIT (group commit).

A unit returns only after the COMMIT that holds it, so no answer outruns its data. Each unit is a
SAVEPOINT inside the group's transaction: a unit that fails rolls back alone, and the others still
commit. A COMMIT that fails fails every unit of its group, none of which has returned. A unit whose
body awaits nothing but the store runs start to finish without yielding, so the lock is only ever
waited for behind a unit that awaits something else, and a cancelled request can interrupt a unit
only at such an await, where its savepoint is rolled back.
"""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import asynccontextmanager
from typing import AsyncIterator

from kopek.store.inline import InlineConnection
from kopek.store.records import DatabaseBusy

# The writer never waits for SQLite's own lock on the loop's thread (busy_timeout is 0): when
# another process holds it (a `kopek` command on the same file), the writer sleeps and retries.
BUSY_RETRY_FIRST_S = 0.001
BUSY_RETRY_MAX_S = 0.05
BUSY_GIVE_UP_S = 5.0


class Writer:
    def __init__(self, connection: InlineConnection) -> None:
        self._db = connection
        self._lock = asyncio.Lock()
        self._group: asyncio.Future[None] | None = None   # the open transaction's COMMIT, to come
        self._committing: asyncio.Task[None] | None = None

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[InlineConnection]:
        async with self._lock:
            group = self._group if self._group is not None else await self._open_group()
            sqlite = self._db.sqlite
            sqlite.execute("SAVEPOINT unit")
            try:
                yield self._db
            except BaseException:
                if sqlite.in_transaction:
                    sqlite.execute("ROLLBACK TO unit")
                    sqlite.execute("RELEASE unit")
                else:
                    self._lose(group)
                raise
            if not sqlite.in_transaction:
                self._lose(group)
            else:
                sqlite.execute("RELEASE unit")
        # Shielded: a waiter that is cancelled must not cancel the COMMIT the others wait for.
        await asyncio.shield(group)

    def _lose(self, group: asyncio.Future[None]) -> None:
        """SQLite rolled the whole transaction back by itself (disk full, an I/O error): every unit
        of the group fails, and the next unit begins a new transaction."""
        self._group = None
        if not group.done():
            group.set_exception(sqlite3.OperationalError("the transaction was rolled back by the database"))

    async def settle(self) -> None:
        """Wait for the COMMIT of units that have run (before closing the connection)."""
        if self._committing is not None:
            await asyncio.gather(asyncio.shield(self._committing), return_exceptions=True)

    async def _open_group(self) -> asyncio.Future[None]:
        await self._begin()
        group = self._group = asyncio.get_running_loop().create_future()
        group.add_done_callback(_retrieve)
        # Queued for the lock now, so it runs after the units already waiting and this turn's others.
        self._committing = asyncio.ensure_future(self._commit(group))
        return group

    async def _commit(self, group: asyncio.Future[None]) -> None:
        async with self._lock:
            if group.done():   # lost (see _lose)
                return
            self._group = None
            try:
                self._db.sqlite.commit()
            except BaseException as exc:
                self._db.sqlite.rollback()
                group.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise
            else:
                group.set_result(None)

    async def _begin(self) -> None:
        loop = asyncio.get_running_loop()
        give_up, pause = loop.time() + BUSY_GIVE_UP_S, BUSY_RETRY_FIRST_S
        while True:
            try:
                self._db.sqlite.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc):
                    raise
                if loop.time() >= give_up:
                    raise DatabaseBusy("another process holds the database's write lock") from exc
            await asyncio.sleep(pause)
            pause = min(pause * 2, BUSY_RETRY_MAX_S)


def _retrieve(group: asyncio.Future[None]) -> None:
    """Every waiter may have been cancelled: the COMMIT's error is logged where it is awaited, not here."""
    if not group.cancelled():
        group.exception()


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    return getattr(exc, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) \
        or "database is locked" in str(exc)
