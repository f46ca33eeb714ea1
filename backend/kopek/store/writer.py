"""The one SQLite writer: each unit of work (one `async with store._transaction()`) is one
transaction, begun and committed on the event loop's thread (store/inline.py).

A unit returns only after its COMMIT, so no answer outruns its data. A unit whose body awaits
nothing but the store runs start to finish without yielding, so the lock is only ever waited for
behind a unit that awaits something else, and a cancelled request can interrupt a unit only at
such an await, where its transaction is rolled back.
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

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[InlineConnection]:
        async with self._lock:
            await self._begin()
            try:
                yield self._db
            except BaseException:
                self._db.sqlite.rollback()
                raise
            try:
                self._db.sqlite.commit()
            except BaseException:
                self._db.sqlite.rollback()
                raise

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


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    return getattr(exc, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) \
        or "database is locked" in str(exc)
