"""SQL for idempotency keys: claim a key, keep the first response, find it again, purge old keys.

A key belongs to one merchant in one mode. A row without a status is a claim: its request
is still running. Every write is one short transaction on the store's single writer.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from kopek import clock
from kopek.store.sqlite import SqliteStore

_KEY = "merchant_id=? AND livemode=? AND idempotency_key=?"
_COLUMNS = "token, fingerprint, method, path, status, content_type, body, created_at"


@dataclass(frozen=True)
class KeyScope:
    merchant_id: str
    livemode: bool
    key: str

    def params(self) -> tuple[str, int, str]:
        return self.merchant_id, int(self.livemode), self.key


@dataclass(frozen=True)
class StoredResponse:
    status: int
    content_type: str | None
    body: bytes


@dataclass(frozen=True)
class KeyRecord:
    token: str
    fingerprint: str
    method: str
    path: str
    created_at: str
    response: StoredResponse | None  # None while the first request runs


def _record(row: sqlite3.Row) -> KeyRecord:
    response = None
    if row["status"] is not None:
        response = StoredResponse(row["status"], row["content_type"], bytes(row["body"]))
    return KeyRecord(row["token"], row["fingerprint"], row["method"], row["path"], row["created_at"], response)


class IdempotencyStore:
    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    async def find(self, scope: KeyScope, created_after: str) -> KeyRecord | None:
        """The key's record, unless it is older than `created_after` (it has expired)."""
        row = await self._store._fetchone(
            f"SELECT {_COLUMNS} FROM idempotency_keys WHERE {_KEY} AND created_at >= ?",
            (*scope.params(), created_after))
        return None if row is None else _record(row)

    async def claim(self, scope: KeyScope, *, token: str, fingerprint: str, method: str, path: str,
                    created_after: str) -> KeyRecord:
        """Claim the key for the request named by `token`, unless a live record holds it.
        Returns the record now in place: the claim is ours when its token is ours."""
        async with self._store._transaction() as db:
            await db.execute(f"DELETE FROM idempotency_keys WHERE {_KEY} AND created_at < ?",
                             (*scope.params(), created_after))
            await db.execute(
                "INSERT INTO idempotency_keys (merchant_id, livemode, idempotency_key, token, fingerprint, "
                "method, path, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (*scope.params(), token, fingerprint, method, path, clock.now_iso()))
            async with db.execute(f"SELECT {_COLUMNS} FROM idempotency_keys WHERE {_KEY}",
                                  scope.params()) as cursor:
                row = await cursor.fetchone()
        assert row is not None
        return _record(row)

    async def complete(self, scope: KeyScope, token: str, response: StoredResponse) -> bool:
        """Keep the response of the request that holds the claim; False if it no longer does."""
        async with self._store._transaction() as db:
            cursor = await db.execute(
                "UPDATE idempotency_keys SET status=?, content_type=?, body=?, completed_at=? "
                f"WHERE {_KEY} AND token=? AND status IS NULL",
                (response.status, response.content_type, response.body, clock.now_iso(),
                 *scope.params(), token))
            return cursor.rowcount == 1

    async def release(self, scope: KeyScope, token: str) -> None:
        """Give the key up without a response, so a retry runs the request again."""
        async with self._store._transaction() as db:
            await db.execute(f"DELETE FROM idempotency_keys WHERE {_KEY} AND token=? AND status IS NULL",
                             (*scope.params(), token))

    async def release_unfinished(self) -> int:
        """At start: claims left by requests a stop or crash cut off. One server owns the database,
        so no request of this run holds a claim yet."""
        async with self._store._transaction() as db:
            cursor = await db.execute("DELETE FROM idempotency_keys WHERE status IS NULL")
            return cursor.rowcount

    async def purge(self, created_before: str, batch: int) -> int:
        """Delete at most `batch` keys created before `created_before`; returns how many."""
        async with self._store._transaction() as db:
            cursor = await db.execute(
                "DELETE FROM idempotency_keys WHERE (merchant_id, livemode, idempotency_key) IN "
                "(SELECT merchant_id, livemode, idempotency_key FROM idempotency_keys "
                " WHERE created_at < ? ORDER BY created_at LIMIT ?)", (created_before, batch))
            return cursor.rowcount

    async def count(self, merchant_id: str) -> int:
        row = await self._store._fetchone("SELECT COUNT(*) FROM idempotency_keys WHERE merchant_id=?",
                                          (merchant_id,))
        assert row is not None
        return int(row[0])
