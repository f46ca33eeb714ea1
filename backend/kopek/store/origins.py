"""A merchant's allowed widget origins in SQL (table merchant_origins, migration 0001): added and
removed from the dashboard. Reading them stays in SqliteStore.merchant_origins, which the checkout
frame calls on every request, so a change here takes effect at once."""

from __future__ import annotations

from kopek.store.sqlite import SqliteStore


class OriginListFull(Exception):
    """The merchant already has as many origins as allowed; nothing was added."""


class OriginStore:
    def __init__(self, store: SqliteStore) -> None:
        self.store = store

    async def add(self, merchant_id: str, origin: str, max_count: int) -> bool:
        """True if added, False if it was there already; OriginListFull if the list has no room."""
        async with self.store._transaction() as db:
            async with db.execute("SELECT origin FROM merchant_origins WHERE merchant_id=?", (merchant_id,)) as cur:
                present = {row[0] for row in await cur.fetchall()}
            if origin in present:
                return False
            if len(present) >= max_count:
                raise OriginListFull(origin)
            await db.execute("INSERT INTO merchant_origins (merchant_id, origin) VALUES (?, ?)", (merchant_id, origin))
        return True

    async def remove(self, merchant_id: str, origin: str) -> bool:
        """True if the origin was on the list."""
        async with self.store._transaction() as db:
            cursor = await db.execute("DELETE FROM merchant_origins WHERE merchant_id=? AND origin=?",
                                      (merchant_id, origin))
            return cursor.rowcount > 0
