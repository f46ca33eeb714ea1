"""SQL for webhooks: endpoints, delivery jobs drained from the outbox, and attempts.

A small class over the SqliteStore's one writer (`_transaction`) and reader (`_fetchall`).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from kopek import clock
from kopek.store.inline import InlineConnection
from kopek.store.sqlite import SqliteStore


@dataclass(frozen=True)
class WebhookEndpoint:
    id: str
    merchant_id: str
    livemode: bool
    url: str
    description: str
    events: tuple[str, ...]
    status: str                 # "enabled" | "disabled"
    disabled_reason: str | None
    secret_version: int
    previous_secret_version: int | None
    previous_secret_expires_at: str | None
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class WebhookDelivery:
    id: str
    endpoint_id: str
    event_id: str
    event_type: str
    payment_id: str | None
    seq: int | None
    body: str
    status: str                 # pending | succeeded | failed (a retry is due) | abandoned
    attempts: int
    next_attempt_at: str | None
    last_attempt_at: str | None
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class WebhookAttempt:
    delivery_id: str
    started_at: str
    duration_ms: int
    http_status: int | None
    error: str | None
    response_excerpt: str | None
    id: int | None = None


@dataclass(frozen=True)
class OutboxEvent:
    """An outbox row with its event's place in the payment's stream."""

    id: int
    event_id: str
    merchant_id: str
    livemode: bool
    type: str
    payload: dict[str, Any]
    created_at: str
    payment_id: str | None
    seq: int | None


@dataclass(frozen=True)
class AttemptOutcome:
    """What one attempt leaves behind: the delivery's new status, and maybe a disabled endpoint."""

    status: str
    next_attempt_at: str | None
    disable_reason: str | None = None


Route = Callable[[OutboxEvent, list[WebhookEndpoint]], list[WebhookDelivery]]

_ENDPOINT_COLUMNS = ("id, merchant_id, livemode, url, description, events, status, disabled_reason, "
                     "secret_version, previous_secret_version, previous_secret_expires_at, created_at, updated_at")
_DELIVERY_COLUMNS = ("id, endpoint_id, event_id, event_type, payment_id, seq, body, status, attempts, "
                     "next_attempt_at, last_attempt_at, created_at, updated_at")


def _endpoint(row: sqlite3.Row) -> WebhookEndpoint:
    data = dict(row)
    data["livemode"] = bool(data["livemode"])
    data["events"] = tuple(json.loads(data["events"]))
    return WebhookEndpoint(**data)


def _delivery(row: sqlite3.Row) -> WebhookDelivery:
    return WebhookDelivery(**dict(row))


class WebhookStore:
    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    # -- endpoints --------------------------------------------------------------------

    async def insert_endpoint_below(self, endpoint: WebhookEndpoint, cap: int) -> bool:
        """Insert unless the merchant already has `cap` endpoints in this mode; False if it has. The count
        and the insert are one statement, so concurrent creations cannot both pass the cap."""
        values = {**endpoint.__dict__, "livemode": int(endpoint.livemode), "events": json.dumps(endpoint.events)}
        async with self._store._transaction() as db:
            cursor = await db.execute(
                f"INSERT INTO webhook_endpoints ({', '.join(values)}) SELECT {', '.join('?' for _ in values)} "
                "WHERE (SELECT COUNT(*) FROM webhook_endpoints "
                "       WHERE merchant_id=? AND livemode=? AND deleted_at IS NULL) < ?",
                (*values.values(), endpoint.merchant_id, int(endpoint.livemode), cap))
            return cursor.rowcount == 1

    async def get_endpoint(self, endpoint_id: str) -> WebhookEndpoint | None:
        row = await self._store._fetchone(
            f"SELECT {_ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id=? AND deleted_at IS NULL", (endpoint_id,))
        return None if row is None else _endpoint(row)

    async def list_endpoints(self, merchant_id: str, livemode: bool) -> list[WebhookEndpoint]:
        rows = await self._store._fetchall(
            f"SELECT {_ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE merchant_id=? AND livemode=? "
            "AND deleted_at IS NULL ORDER BY created_at, id", (merchant_id, int(livemode)))
        return [_endpoint(row) for row in rows]

    async def update_endpoint(self, endpoint_id: str, fields: dict[str, Any], *,
                              abandon_open: bool = False) -> WebhookEndpoint | None:
        """Set fields; when the endpoint stops receiving, its open deliveries are abandoned too."""
        values = {**fields, "updated_at": clock.now_iso()}
        if "events" in values:
            values["events"] = json.dumps(list(values["events"]))
        assignments = ", ".join(f"{column}=?" for column in values)
        async with self._store._transaction() as db:
            cursor = await db.execute(f"UPDATE webhook_endpoints SET {assignments} WHERE id=? AND deleted_at IS NULL",
                                      (*values.values(), endpoint_id))
            if cursor.rowcount != 1:
                return None
            if abandon_open:
                await _abandon_open(db, endpoint_id)
            async with db.execute(f"SELECT {_ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id=?",
                                  (endpoint_id,)) as found:
                row = await found.fetchone()
        assert row is not None
        return _endpoint(row)

    async def delete_endpoint(self, endpoint_id: str) -> bool:
        """Kept as a record for its delivery log, but gone for the API and the sender."""
        now = clock.now_iso()
        async with self._store._transaction() as db:
            cursor = await db.execute(
                "UPDATE webhook_endpoints SET deleted_at=?, status='disabled', updated_at=? "
                "WHERE id=? AND deleted_at IS NULL", (now, now, endpoint_id))
            if cursor.rowcount != 1:
                return False
            await _abandon_open(db, endpoint_id)
        return True

    # -- the outbox -------------------------------------------------------------------

    async def has_undispatched(self) -> bool:
        return await self._store._fetchone("SELECT 1 FROM outbox WHERE dispatched_at IS NULL LIMIT 1") is not None

    async def dispatch_outbox(self, limit: int, route: Route) -> int:
        """Turn undispatched outbox rows into delivery jobs and mark them dispatched, in ONE
        transaction: a crash before the commit leaves both undone, after it both done."""
        async with self._store._transaction() as db:
            async with db.execute(
                "SELECT o.id, o.event_id, o.merchant_id, o.livemode, o.type, o.payload, o.created_at, "
                "e.payment_id, e.seq FROM outbox o LEFT JOIN payment_events e ON e.id = o.event_id "
                "WHERE o.dispatched_at IS NULL ORDER BY o.id LIMIT ?", (limit,)) as cursor:
                rows = await cursor.fetchall()
            endpoints: dict[tuple[str, int], list[WebhookEndpoint]] = {}
            deliveries: list[WebhookDelivery] = []
            for row in rows:
                key = (row["merchant_id"], row["livemode"])
                if key not in endpoints:
                    endpoints[key] = await _enabled_endpoints(db, *key)
                deliveries += route(_outbox_event(row), endpoints[key])
            await _insert_deliveries(db, deliveries)
            await db.executemany("UPDATE outbox SET dispatched_at=? WHERE id=?",
                                 [(clock.now_iso(), row["id"]) for row in rows])
        return len(rows)

    # -- deliveries -------------------------------------------------------------------

    async def insert_delivery(self, delivery: WebhookDelivery) -> None:
        async with self._store._transaction() as db:
            await _insert_deliveries(db, [delivery])

    async def get_delivery(self, delivery_id: str) -> WebhookDelivery | None:
        row = await self._store._fetchone(
            f"SELECT {_DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id=?", (delivery_id,))
        return None if row is None else _delivery(row)

    async def count_open(self, endpoint_id: str, event_type: str) -> int:
        row = await self._store._fetchone(
            "SELECT COUNT(*) FROM webhook_deliveries WHERE endpoint_id=? AND event_type=? "
            "AND status IN ('pending', 'failed')", (endpoint_id, event_type))
        return int(row[0]) if row else 0

    async def due_deliveries(self, now_iso: str, per_endpoint: int, limit: int = 500) -> list[WebhookDelivery]:
        """Open deliveries whose time has come, to enabled endpoints, at most `per_endpoint` of
        each (so one endpoint's backlog cannot hide the others'); a payment's events in seq order."""
        columns = ", ".join(f"d.{c.strip()}" for c in _DELIVERY_COLUMNS.split(","))
        rows = await self._store._fetchall(
            f"SELECT {_DELIVERY_COLUMNS} FROM (SELECT {columns}, ROW_NUMBER() OVER (PARTITION BY d.endpoint_id "
            "ORDER BY d.next_attempt_at, d.payment_id, d.seq) AS n "
            "FROM webhook_deliveries d JOIN webhook_endpoints w ON w.id = d.endpoint_id "
            "WHERE d.status IN ('pending', 'failed') AND d.next_attempt_at <= ? "
            "AND w.status='enabled' AND w.deleted_at IS NULL) "
            "WHERE n <= ? ORDER BY next_attempt_at, payment_id, seq LIMIT ?", (now_iso, per_endpoint, limit))
        return [_delivery(row) for row in rows]

    async def record_attempt(self, delivery: WebhookDelivery, attempt: WebhookAttempt,
                             outcome: AttemptOutcome) -> None:
        """The attempt, the delivery's new state and (after a 410) the disabled endpoint: one transaction."""
        async with self._store._transaction() as db:
            await db.execute(
                "INSERT INTO webhook_attempts (delivery_id, started_at, duration_ms, http_status, error, "
                "response_excerpt) VALUES (?, ?, ?, ?, ?, ?)",
                (attempt.delivery_id, attempt.started_at, attempt.duration_ms, attempt.http_status,
                 attempt.error, attempt.response_excerpt))
            await db.execute(
                "UPDATE webhook_deliveries SET status=?, attempts=attempts + 1, next_attempt_at=?, "
                "last_attempt_at=?, updated_at=? WHERE id=?",
                (outcome.status, outcome.next_attempt_at, attempt.started_at, clock.now_iso(), delivery.id))
            if outcome.disable_reason is not None:
                await db.execute(
                    "UPDATE webhook_endpoints SET status='disabled', disabled_reason=?, updated_at=? WHERE id=?",
                    (outcome.disable_reason, clock.now_iso(), delivery.endpoint_id))
                await _abandon_open(db, delivery.endpoint_id)

    async def requeue(self, delivery_id: str) -> WebhookDelivery | None:
        """Redeliver: one more attempt now, whatever the delivery's status."""
        now = clock.now_iso()
        async with self._store._transaction() as db:
            await db.execute("UPDATE webhook_deliveries SET status='pending', next_attempt_at=?, updated_at=? "
                             "WHERE id=?", (now, now, delivery_id))
        return await self.get_delivery(delivery_id)

    async def list_deliveries(self, endpoint_id: str, limit: int,
                              starting_after: WebhookDelivery | None = None) -> list[WebhookDelivery]:
        """Newest first; the cursor is the last delivery of the previous page."""
        sql = f"SELECT {_DELIVERY_COLUMNS} FROM webhook_deliveries WHERE endpoint_id=?"
        params: list[Any] = [endpoint_id]
        if starting_after is not None:
            sql += " AND (created_at < ? OR (created_at = ? AND id < ?))"
            params += [starting_after.created_at, starting_after.created_at, starting_after.id]
        sql += " ORDER BY created_at DESC, id DESC LIMIT ?"
        params.append(limit)
        return [_delivery(row) for row in await self._store._fetchall(sql, params)]

    async def attempts(self, delivery_ids: Iterable[str], per_delivery: int) -> dict[str, list[WebhookAttempt]]:
        """The newest `per_delivery` attempts of each delivery, newest first."""
        ids = list(delivery_ids)
        if not ids:
            return {}
        rows = await self._store._fetchall(
            "SELECT * FROM (SELECT a.*, ROW_NUMBER() OVER (PARTITION BY delivery_id ORDER BY id DESC) AS n "
            f"FROM webhook_attempts a WHERE delivery_id IN ({', '.join('?' for _ in ids)})) "
            "WHERE n <= ? ORDER BY id DESC", (*ids, per_delivery))
        found: dict[str, list[WebhookAttempt]] = {delivery_id: [] for delivery_id in ids}
        for row in rows:
            data = dict(row)
            data.pop("n")
            found[data["delivery_id"]].append(WebhookAttempt(**data))
        return found


def _outbox_event(row: sqlite3.Row) -> OutboxEvent:
    data = dict(row)
    data["livemode"] = bool(data["livemode"])
    data["payload"] = json.loads(data["payload"])
    return OutboxEvent(**data)


async def _enabled_endpoints(db: InlineConnection, merchant_id: str, livemode: int) -> list[WebhookEndpoint]:
    async with db.execute(
        f"SELECT {_ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE merchant_id=? AND livemode=? "
        "AND status='enabled' AND deleted_at IS NULL", (merchant_id, livemode)) as cursor:
        return [_endpoint(row) for row in await cursor.fetchall()]


async def _insert_deliveries(db: InlineConnection, deliveries: list[WebhookDelivery]) -> None:
    if not deliveries:
        return
    columns = list(deliveries[0].__dict__)
    await db.executemany(
        f"INSERT INTO webhook_deliveries ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)}) "
        "ON CONFLICT (event_id, endpoint_id) DO NOTHING",
        [tuple(d.__dict__.values()) for d in deliveries])


async def _abandon_open(db: InlineConnection, endpoint_id: str) -> None:
    await db.execute(
        "UPDATE webhook_deliveries SET status='abandoned', next_attempt_at=NULL, updated_at=? "
        "WHERE endpoint_id=? AND status IN ('pending', 'failed')", (clock.now_iso(), endpoint_id))
