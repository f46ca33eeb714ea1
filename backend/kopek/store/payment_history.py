"""SQL for the dashboard's payment pages: one merchant's payments in one mode, filtered and paged
from a cursor in either direction; a payment's attempts; the webhook deliveries of its events.

The list walks the index payments_by_merchant (merchant_id, livemode, created_at, id), newest
first. A cursor is a payment of the page before: "older" pages continue after it, "newer" pages
come back before it (read oldest first, then turned round).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from kopek.store.records import Attempt, Payment
from kopek.store.sqlite import SqliteStore, _attempt, _payment

OLDER, NEWER = "older", "newer"
MAX_ATTEMPTS_LISTED = 100
MAX_DELIVERIES_LISTED = 200


@dataclass(frozen=True)
class PaymentFilter:
    status: str | None = None
    wallet: str | None = None
    created_from: str | None = None     # ISO timestamp, inclusive
    created_before: str | None = None   # ISO timestamp, exclusive
    amount_min: int | None = None       # minor units, whatever the currency
    amount_max: int | None = None
    search: str | None = None           # a payment id, or an order id or its beginning

    @property
    def is_empty(self) -> bool:
        return all(getattr(self, f.name) is None for f in fields(self))


@dataclass(frozen=True)
class DeliveryRow:
    id: str
    endpoint_url: str
    event_type: str
    seq: int | None
    status: str
    attempts: int
    last_attempt_at: str | None
    last_http_status: int | None
    last_error: str | None


class PaymentHistory:
    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    async def page(self, *, merchant_id: str, livemode: bool, where: PaymentFilter, limit: int,
                   cursor: Payment | None = None, direction: str = OLDER) -> list[Payment]:
        """Up to `limit` payments next to the cursor in `direction`, always newest first."""
        sql, params = _filtered(merchant_id, livemode, where)
        newer = direction == NEWER
        if cursor is not None:
            sql += f" AND (created_at {'>' if newer else '<'} ? OR (created_at = ? AND id {'>' if newer else '<'} ?))"
            params += [cursor.created_at, cursor.created_at, cursor.id]
        order = "ASC" if newer else "DESC"
        sql += f" ORDER BY created_at {order}, id {order} LIMIT ?"
        rows = [_payment(row) for row in await self._store._fetchall(sql, [*params, limit])]
        return rows[::-1] if newer else rows

    async def attempts(self, payment_id: str) -> list[Attempt]:
        rows = await self._store._fetchall(
            "SELECT * FROM attempts WHERE payment_id=? ORDER BY created_at, id LIMIT ?",
            (payment_id, MAX_ATTEMPTS_LISTED))
        return [_attempt(row) for row in rows]

    async def deliveries(self, payment_id: str) -> list[DeliveryRow]:
        """Found through the payment's events (deliveries are unique by event and endpoint), so
        the lookup rides on existing indexes."""
        rows = await self._store._fetchall(
            "SELECT d.id, e.url, d.event_type, ev.seq, d.status, d.attempts, d.last_attempt_at, "
            " (SELECT a.http_status FROM webhook_attempts a WHERE a.delivery_id = d.id ORDER BY a.id DESC LIMIT 1), "
            " (SELECT a.error FROM webhook_attempts a WHERE a.delivery_id = d.id ORDER BY a.id DESC LIMIT 1) "
            "FROM payment_events ev JOIN webhook_deliveries d ON d.event_id = ev.id "
            "JOIN webhook_endpoints e ON e.id = d.endpoint_id "
            "WHERE ev.payment_id = ? ORDER BY ev.seq, e.created_at, d.id LIMIT ?",
            (payment_id, MAX_DELIVERIES_LISTED))
        return [DeliveryRow(*row) for row in rows]


def _filtered(merchant_id: str, livemode: bool, where: PaymentFilter) -> tuple[str, list[Any]]:
    sql = "SELECT * FROM payments WHERE merchant_id = ? AND livemode = ?"
    params: list[Any] = [merchant_id, int(livemode)]
    for column, operator, value in (("status", "=", where.status), ("wallet", "=", where.wallet),
                                    ("created_at", ">=", where.created_from),
                                    ("created_at", "<", where.created_before),
                                    ("amount", ">=", where.amount_min), ("amount", "<=", where.amount_max)):
        if value is not None:
            sql += f" AND {column} {operator} ?"
            params.append(value)
    if where.search is not None:
        sql += " AND (id = ? OR substr(order_id, 1, ?) = ?)"
        params += [where.search, len(where.search), where.search]
    return sql, params
