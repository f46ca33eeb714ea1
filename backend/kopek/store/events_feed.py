"""SQL for the events feed: one merchant's outbox rows in one mode, oldest first, after a position.

The outbox id is the position. One writer assigns ids in commit order, so a reader that has
seen id N never later finds a new row below N.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from kopek.store.sqlite import SqliteStore


@dataclass(frozen=True)
class FeedRow:
    position: int
    event_id: str
    type: str
    seq: int | None  # the event's place in its payment's stream; None for an event of no payment
    created_at: str
    payload: dict[str, Any]


class EventsFeedStore:
    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    async def after(self, *, merchant_id: str, livemode: bool, position: int, types: tuple[str, ...],
                    prefixes: tuple[str, ...], limit: int) -> list[FeedRow]:
        """Rows past `position`; with types or prefixes, only rows whose type is one of the types
        or starts with one of the prefixes."""
        sql = ("SELECT o.id, o.event_id, o.type, e.seq, o.created_at, o.payload FROM outbox o "
               "LEFT JOIN payment_events e ON e.id = o.event_id "
               "WHERE o.merchant_id = ? AND o.livemode = ? AND o.id > ?")
        params: list[Any] = [merchant_id, int(livemode), position]
        matches = []
        if types:
            matches.append(f"o.type IN ({', '.join('?' for _ in types)})")
            params += types
        for prefix in prefixes:
            matches.append("substr(o.type, 1, ?) = ?")
            params += [len(prefix), prefix]
        if matches:
            sql += f" AND ({' OR '.join(matches)})"
        sql += " ORDER BY o.id LIMIT ?"
        params.append(limit)
        return [FeedRow(row[0], row[1], row[2], row[3], row[4], json.loads(row[5]))
                for row in await self._store._fetchall(sql, params)]
