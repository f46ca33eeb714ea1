"""A SQLite connection that runs its statements on the event loop's own thread, behind the
subset of aiosqlite's async API that the store uses (`await db.execute(...)`,
`async with db.execute(...) as cursor`, `execute_fetchall`, `executemany`).

Why not a worker thread: the store's statements touch a few indexed rows and take tens of
microseconds, while handing each one to a thread and back costs a turn of the event loop, which
under load is milliseconds. A unit of work of ten statements then held the one writer for ten
turns, and 200 shoppers polling their payments slowed the writer to a dozen units a second.
Run here, a unit of work whose body awaits nothing else is one uninterrupted step of the loop.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, Generator, Iterable, Mapping

Parameters = Iterable[Any] | Mapping[str, Any]


def _bound(parameters: Parameters) -> tuple[Any, ...] | Mapping[str, Any]:
    """Named parameters as they are, positional ones as a tuple (a list or generator works too)."""
    return parameters if isinstance(parameters, Mapping) else tuple(parameters)


class InlineCursor:
    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class _Statement:
    """What `execute` returns: awaited, it gives the cursor; used with `async with`, it also
    closes the cursor at the end, as aiosqlite's does."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = InlineCursor(cursor)

    def __await__(self) -> Generator[Any, None, InlineCursor]:
        return self._ready().__await__()

    async def _ready(self) -> InlineCursor:
        return self._cursor

    async def __aenter__(self) -> InlineCursor:
        return self._cursor

    async def __aexit__(self, *exc_info: object) -> None:
        await self._cursor.close()


class InlineConnection:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self.sqlite = connection

    @classmethod
    def open(cls, path: Path) -> InlineConnection:
        # Used only from the event loop's thread; the check would refuse a store opened in
        # one loop's thread and served from another's (as the test servers do).
        connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        connection.row_factory = sqlite3.Row
        return cls(connection)

    def execute(self, sql: str, parameters: Parameters = ()) -> _Statement:
        return _Statement(self.sqlite.execute(sql, _bound(parameters)))

    def executemany(self, sql: str, parameters: Iterable[Iterable[Any]]) -> _Statement:
        return _Statement(self.sqlite.executemany(sql, parameters))

    async def execute_fetchall(self, sql: str, parameters: Parameters = ()) -> list[Any]:
        return self.sqlite.execute(sql, _bound(parameters)).fetchall()

    async def close(self) -> None:
        self.sqlite.close()
