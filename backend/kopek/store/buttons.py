"""Payment buttons in SQL (migration 0005): created, listed, retired. Never deleted."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from kopek import clock
from kopek.store.sqlite import SqliteStore


@dataclass(frozen=True)
class Button:
    id: str
    merchant_id: str
    livemode: bool
    amount: int
    currency: str
    description: str
    return_url: str | None
    allowed_wallets: tuple[str, ...] | None
    active: bool
    expires_at: str | None
    created_at: str
    updated_at: str

    def expired(self, now_iso: str) -> bool:
        return self.expires_at is not None and self.expires_at <= now_iso


def _button(row: sqlite3.Row) -> Button:
    data = dict(row)
    wallets = data["allowed_wallets"]
    data["allowed_wallets"] = tuple(json.loads(wallets)) if wallets is not None else None
    data["livemode"], data["active"] = bool(data["livemode"]), bool(data["active"])
    return Button(**data)


class ButtonStore:
    def __init__(self, store: SqliteStore) -> None:
        self.store = store

    async def insert(self, button: Button) -> Button:
        values: dict[str, Any] = dict(button.__dict__)
        wallets = values["allowed_wallets"]
        values["allowed_wallets"] = json.dumps(list(wallets)) if wallets is not None else None
        values["livemode"], values["active"] = int(button.livemode), int(button.active)
        async with self.store._transaction() as db:
            await db.execute(f"INSERT INTO buttons ({', '.join(values)}) VALUES ({', '.join('?' for _ in values)})",
                             tuple(values.values()))
        return button

    async def get(self, button_id: str) -> Button | None:
        row = await self.store._fetchone("SELECT * FROM buttons WHERE id=?", (button_id,))
        return None if row is None else _button(row)

    async def list(self, *, merchant_id: str, livemode: bool, limit: int,
                   starting_after: Button | None = None) -> list[Button]:
        """Newest first; the cursor is the last button of the previous page."""
        sql = "SELECT * FROM buttons WHERE merchant_id=? AND livemode=?"
        params: list[Any] = [merchant_id, int(livemode)]
        if starting_after is not None:
            sql += " AND (created_at < ? OR (created_at = ? AND id < ?))"
            params += [starting_after.created_at, starting_after.created_at, starting_after.id]
        sql += " ORDER BY created_at DESC, id DESC LIMIT ?"
        params.append(limit)
        return [_button(row) for row in await self.store._fetchall(sql, params)]

    async def set_active(self, button_id: str, active: bool) -> Button | None:
        async with self.store._transaction() as db:
            await db.execute("UPDATE buttons SET active=?, updated_at=? WHERE id=?",
                             (int(active), clock.now_iso(), button_id))
        return await self.get(button_id)
