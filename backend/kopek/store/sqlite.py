"""The SQLite store (WAL): a writer and a reader on the event loop's thread (store/inline.py),
and a reader on a worker thread for the few reads that scan whole tables.

Every write is one short unit of work with no network I/O inside, so that it runs start to
finish in one step of the loop (store/writer.py).
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable, Iterable, TypeVar

import aiosqlite

from kopek import clock
from kopek.ids import new_id
from kopek.store.inline import InlineConnection
from kopek.store.records import (
    ApiKey, Attempt, Change, DuplicateOrder, Event, Merchant, Payment, StaleState,
)
from kopek.store.writer import Writer

Render = Callable[[Payment], dict[str, Any]]
C = TypeVar("C", InlineConnection, aiosqlite.Connection)
# Runs inside the transaction that appends an event, so what it writes (ledger postings)
# commits or rolls back together with the state change that caused it.
EventHook = Callable[[InlineConnection, Payment, Event], Awaitable[None]]
# Runs in that same transaction after the state change is written but before its event is
# rendered (with the payment id and the event type), so what it sets on the payment (the
# fee and net of a success) shows in the event and its webhook too.
ChangeHook = Callable[[InlineConnection, str, str], Awaitable[None]]
_JSON_PAYMENT_COLUMNS = ("metadata", "allowed_wallets", "next_action", "last_error")


def _dump(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"), sort_keys=True)


def _payment(row: sqlite3.Row) -> Payment:
    data = dict(row)
    for column in _JSON_PAYMENT_COLUMNS:
        data[column] = json.loads(data[column]) if data[column] is not None else None
    if data["allowed_wallets"] is not None:
        data["allowed_wallets"] = tuple(data["allowed_wallets"])
    data["livemode"] = bool(data["livemode"])
    return Payment(**data)


def _attempt(row: sqlite3.Row) -> Attempt:
    return Attempt(**dict(row))


def _event(row: sqlite3.Row) -> Event:
    data = dict(row)
    data["data"] = json.loads(data["data"])
    return Event(**data)


_KEY_COLUMNS = "id, merchant_id, kind, livemode, lookup, hint, created_at, expires_at"
_KEY_WORKS = "revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)"


def _api_key(row: sqlite3.Row) -> ApiKey:
    return ApiKey(**{**dict(row), "livemode": bool(row["livemode"])})


def migration_files() -> list[tuple[int, str, str]]:
    folder = resources.files("kopek.store") / "migrations"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            number = int(entry.name.split("_", 1)[0])
            found.append((number, entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


class SqliteStore:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._writer: InlineConnection | None = None
        self._reader: InlineConnection | None = None
        self._scanner: aiosqlite.Connection | None = None
        self._unit_writer: Writer | None = None
        self.event_hooks: list[EventHook] = []
        self.change_hooks: list[ChangeHook] = []

    # -- life cycle -------------------------------------------------------------------

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = await self._connect(InlineConnection.open(self.path), busy_timeout_ms=0)
        await self._writer.execute("PRAGMA journal_mode=WAL")
        self._unit_writer = Writer(self._writer)
        await self.migrate()
        # A read on the loop's thread waits at most this long for a lock (WAL readers wait only
        # while another connection recovers or truncates the log).
        self._reader = await self._connect(InlineConnection.open(self.path), busy_timeout_ms=100)
        self._scanner = await self._connect(await aiosqlite.connect(self.path, isolation_level=None),
                                            busy_timeout_ms=5000)

    @staticmethod
    async def _connect(conn: C, busy_timeout_ms: int) -> C:
        conn.row_factory = sqlite3.Row
        for pragma in ("foreign_keys=ON", f"busy_timeout={busy_timeout_ms}", "synchronous=NORMAL"):
            await conn.execute(f"PRAGMA {pragma}")
        return conn

    async def close(self) -> None:
        if self._unit_writer is not None:
            await self._unit_writer.settle()
        for conn in (self._scanner, self._reader, self._writer):
            if conn is not None:
                await conn.close()
        self._scanner = self._reader = self._writer = None
        self._unit_writer = None

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[InlineConnection]:
        """One unit of work on the writer; it returns only after the COMMIT that holds it."""
        assert self._unit_writer is not None, "store is not open"
        async with self._unit_writer.unit() as db:
            yield db

    # Each read runs to completion in one call: a statement left open on the shared reader
    # would pin its WAL snapshot, and later reads would miss rows committed since.
    async def _fetchone(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Row | None:
        rows = await self._fetchall(sql, params)
        return rows[0] if rows else None

    async def _fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        assert self._reader is not None, "store is not open"
        return await self._reader.execute_fetchall(sql, tuple(params))

    async def _scan(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        """A read that may visit whole tables (ledger checks, volume totals): on a worker thread,
        so that it never holds up the loop."""
        assert self._scanner is not None, "store is not open"
        return list(await self._scanner.execute_fetchall(sql, tuple(params)))

    async def migrate(self) -> list[str]:
        """Apply the numbered migrations not yet applied; returns their names."""
        assert self._writer is not None
        await self._writer.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
        async with self._writer.execute("SELECT version FROM schema_migrations") as cursor:
            done = {row[0] for row in await cursor.fetchall()}
        applied = []
        for version, name, sql in migration_files():
            if version in done:
                continue
            async with self._transaction() as db:
                for statement in _split_sql(sql):
                    await db.execute(statement)
                await db.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)",
                                 (version, name, clock.now_iso()))
            applied.append(name)
        return applied

    # -- instance ---------------------------------------------------------------------

    async def legacy_instance_secrets(self) -> dict[str, str]:
        """Keys that Kopek versions before the key file kept here (name -> hex)."""
        return {str(row[0]): str(row[1]) for row in await self._fetchall("SELECT name, value FROM instance_secrets")}

    async def erase_legacy_instance_secrets(self) -> None:
        """Deletes them so that no copy of the file holds them: secure_delete zeroes the freed
        bytes, and the checkpoint writes that into the main file and empties the WAL."""
        assert self._writer is not None
        async with self._writer.execute("PRAGMA secure_delete") as cursor:
            before = (await cursor.fetchone() or (0,))[0]
        await self._writer.execute("PRAGMA secure_delete=ON")
        async with self._transaction() as db:
            await db.execute("DELETE FROM instance_secrets")
        await self._writer.execute(f"PRAGMA secure_delete={int(before)}")
        await self._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    async def holds_business_data(self) -> bool:
        """Whether secrets may have been issued: merchants, payments or webhook endpoints exist."""
        row = await self._fetchone("SELECT EXISTS (SELECT 1 FROM merchants) OR EXISTS (SELECT 1 FROM payments) "
                                   "OR EXISTS (SELECT 1 FROM webhook_endpoints)")
        return bool(row and row[0])

    async def get_instance_setting(self, name: str) -> str | None:
        row = await self._fetchone("SELECT value FROM instance_settings WHERE name=?", (name,))
        return None if row is None else str(row[0])

    async def set_instance_setting(self, name: str, value: str) -> None:
        async with self._transaction() as db:
            await db.execute("INSERT INTO instance_settings VALUES (?, ?) "
                             "ON CONFLICT(name) DO UPDATE SET value=excluded.value", (name, value))

    # -- merchants and keys -----------------------------------------------------------

    async def create_merchant(self, merchant: Merchant, keys: list[ApiKey]) -> None:
        async with self._transaction() as db:
            await db.execute("INSERT INTO merchants (id, name, created_at) VALUES (?, ?, ?)",
                             (merchant.id, merchant.name, merchant.created_at))
            await db.executemany("INSERT INTO merchant_origins VALUES (?, ?)",
                                 [(merchant.id, origin) for origin in merchant.origins])
            await db.executemany(
                "INSERT INTO api_keys (id, merchant_id, kind, livemode, lookup, hint, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(k.id, k.merchant_id, k.kind, int(k.livemode), k.lookup, k.hint, k.created_at)
                 for k in keys])

    async def set_merchant_check(self, merchant_id: str, check_url: str | None, on_timeout: str) -> None:
        async with self._transaction() as db:
            await db.execute("UPDATE merchants SET check_url=?, check_on_timeout=? WHERE id=?",
                             (check_url, on_timeout, merchant_id))

    async def list_merchants(self) -> list[Merchant]:
        rows = await self._fetchall("SELECT * FROM merchants ORDER BY created_at, id")
        return [Merchant(**dict(row), origins=await self.merchant_origins(row["id"])) for row in rows]

    async def get_merchant(self, merchant_id: str) -> Merchant | None:
        row = await self._fetchone("SELECT * FROM merchants WHERE id=?", (merchant_id,))
        if row is None:
            return None
        return Merchant(**dict(row), origins=await self.merchant_origins(merchant_id))

    async def merchant_origins(self, merchant_id: str) -> tuple[str, ...]:
        rows = await self._fetchall(
            "SELECT origin FROM merchant_origins WHERE merchant_id=? ORDER BY origin", (merchant_id,))
        return tuple(row[0] for row in rows)

    async def find_api_key(self, lookup: str) -> ApiKey | None:
        row = await self._fetchone(f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE lookup=? AND {_KEY_WORKS}",
                                   (lookup, clock.now_iso()))
        return _api_key(row) if row else None

    async def publishable_keys(self, merchant_id: str) -> list[ApiKey]:
        rows = await self._fetchall(
            f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE merchant_id=? AND kind='publishable' AND {_KEY_WORKS}",
            (merchant_id, clock.now_iso()))
        return [_api_key(r) for r in rows]

    async def working_api_keys(self, merchant_id: str) -> list[ApiKey]:
        """Every key that works now, newest first: the current ones and those rolled but in their overlap."""
        rows = await self._fetchall(
            f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE merchant_id=? AND {_KEY_WORKS} "
            "ORDER BY kind DESC, livemode, created_at DESC", (merchant_id, clock.now_iso()))
        return [_api_key(r) for r in rows]

    async def roll_api_key(self, new_key: ApiKey, old_expire_at: str) -> None:
        """The new key, and the kind's current keys expiring at `old_expire_at` (never later than they would)."""
        async with self._transaction() as db:
            await db.execute(
                "UPDATE api_keys SET expires_at = CASE WHEN expires_at IS NULL OR expires_at > ?1 THEN ?1 "
                "ELSE expires_at END WHERE merchant_id=?2 AND kind=?3 AND livemode=?4 AND revoked_at IS NULL",
                (old_expire_at, new_key.merchant_id, new_key.kind, int(new_key.livemode)))
            await db.execute(
                "INSERT INTO api_keys (id, merchant_id, kind, livemode, lookup, hint, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)", (new_key.id, new_key.merchant_id, new_key.kind,
                                                int(new_key.livemode), new_key.lookup, new_key.hint, new_key.created_at))

    # -- payments ---------------------------------------------------------------------

    async def insert_payment(self, payment: Payment, event_type: str, render: Render) -> tuple[Payment, Event]:
        values = _payment_values(payment)
        columns = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        async with self._transaction() as db:
            try:
                await db.execute(f"INSERT INTO payments ({columns}) VALUES ({marks})", tuple(values.values()))
            except sqlite3.IntegrityError as exc:
                existing = await _open_payment_for_order(db, payment)
                if existing:
                    raise DuplicateOrder(existing) from exc
                raise
            return await self._append_event(db, payment.id, event_type, render)

    async def get_payment(self, payment_id: str) -> Payment | None:
        row = await self._fetchone("SELECT * FROM payments WHERE id=?", (payment_id,))
        return None if row is None else _payment(row)

    async def list_payments(self, *, merchant_id: str, livemode: bool, limit: int,
                            status: str | None = None, order_id: str | None = None,
                            starting_after: Payment | None = None) -> list[Payment]:
        """Newest first; the cursor is the last payment of the previous page."""
        sql = "SELECT * FROM payments WHERE merchant_id=? AND livemode=?"
        params: list[Any] = [merchant_id, int(livemode)]
        if status:
            sql += " AND status=?"
            params.append(status)
        if order_id:
            sql += " AND order_id=?"
            params.append(order_id)
        if starting_after is not None:
            sql += " AND (created_at < ? OR (created_at = ? AND id < ?))"
            params += [starting_after.created_at, starting_after.created_at, starting_after.id]
        sql += " ORDER BY created_at DESC, id DESC LIMIT ?"
        params.append(limit)
        return [_payment(row) for row in await self._fetchall(sql, params)]

    async def expirable_payments(self, now_iso: str, limit: int) -> list[Payment]:
        rows = await self._fetchall(
            "SELECT * FROM payments WHERE status IN ('requires_wallet', 'requires_confirmation') "
            "AND expires_at <= ? ORDER BY expires_at LIMIT ?", (now_iso, limit))
        return [_payment(row) for row in rows]

    async def apply_change(self, change: Change, render: Render) -> tuple[Payment, Event | None]:
        """The one guarded write: new state + attempt update + event + outbox row, atomically.
        A change without an event type (a wrong code) updates the rows and appends nothing."""
        async with self._transaction() as db:
            bump = {"last_seq": _Raw("last_seq + 1")} if change.event_type else {}
            await _guarded_update(db, "payments", change.payment_id, change.expected_status,
                                  {**change.payment_fields, **bump})
            if change.attempt_id is not None:
                await _guarded_update(db, "attempts", change.attempt_id,
                                      change.attempt_expected_status, change.attempt_fields)
            if change.event_type is None:
                return await _read_payment(db, change.payment_id), None
            return await self._append_event(db, change.payment_id, change.event_type, render)

    async def _append_event(self, db: InlineConnection, payment_id: str, event_type: str,
                            render: Render) -> tuple[Payment, Event]:
        for change_hook in self.change_hooks:
            await change_hook(db, payment_id, event_type)
        payment, event = await _append_event(db, payment_id, event_type, render)
        for hook in self.event_hooks:
            await hook(db, payment, event)
        return payment, event

    async def events(self, payment_id: str, after: int = 0, limit: int = 100) -> list[Event]:
        rows = await self._fetchall(
            "SELECT * FROM payment_events WHERE payment_id=? AND seq>? ORDER BY seq LIMIT ?",
            (payment_id, after, limit))
        return [_event(row) for row in rows]

    # -- attempts ---------------------------------------------------------------------

    async def insert_attempt(self, attempt: Attempt) -> Attempt:
        """Insert, or return the attempt already made with the same idempotency key."""
        values = attempt.__dict__
        async with self._transaction() as db:
            await db.execute(
                f"INSERT INTO attempts ({', '.join(values)}) VALUES ({', '.join('?' for _ in values)}) "
                "ON CONFLICT (payment_id, idempotency_key) DO NOTHING", tuple(values.values()))
            async with db.execute("SELECT * FROM attempts WHERE payment_id=? AND idempotency_key=?",
                                  (attempt.payment_id, attempt.idempotency_key)) as cursor:
                row = await cursor.fetchone()
        assert row is not None
        return _attempt(row)

    async def update_attempt(self, attempt_id: str, expected_status: str, fields: dict[str, Any]) -> None:
        async with self._transaction() as db:
            await _guarded_update(db, "attempts", attempt_id, expected_status, fields)

    async def get_attempt(self, attempt_id: str) -> Attempt | None:
        row = await self._fetchone("SELECT * FROM attempts WHERE id=?", (attempt_id,))
        return None if row is None else _attempt(row)

    async def find_attempt_by_key(self, payment_id: str, idempotency_key: str) -> Attempt | None:
        row = await self._fetchone("SELECT * FROM attempts WHERE payment_id=? AND idempotency_key=?",
                                   (payment_id, idempotency_key))
        return None if row is None else _attempt(row)

    async def find_attempt_by_ref(self, wallet: str, provider_ref: str) -> Attempt | None:
        row = await self._fetchone(
            "SELECT * FROM attempts WHERE wallet=? AND provider_ref=?", (wallet, provider_ref))
        return None if row is None else _attempt(row)

    async def attempts_due_for_check(self, now_iso: str, limit: int) -> list[Attempt]:
        rows = await self._fetchall(
            "SELECT * FROM attempts WHERE status IN ('requires_confirmation', 'processing') "
            "AND next_check_at IS NOT NULL AND next_check_at <= ? ORDER BY next_check_at LIMIT ?",
            (now_iso, limit))
        return [_attempt(row) for row in rows]

    async def check_open_attempts_now(self, wallet: str) -> None:
        async with self._transaction() as db:
            await db.execute(
                "UPDATE attempts SET next_check_at=? WHERE wallet=? AND status IN "
                "('requires_confirmation', 'processing') AND next_check_at IS NOT NULL", (clock.now_iso(), wallet))

    async def attempts_starting_before(self, cutoff_iso: str, limit: int) -> list[Attempt]:
        rows = await self._fetchall(
            "SELECT * FROM attempts WHERE status='starting' AND created_at < ? ORDER BY created_at LIMIT ?",
            (cutoff_iso, limit))
        return [_attempt(row) for row in rows]

    # -- merchant wallets -------------------------------------------------------------

    async def disabled_wallets(self, merchant_id: str) -> frozenset[str]:
        rows = await self._fetchall(
            "SELECT wallet FROM merchant_wallets WHERE merchant_id=? AND enabled=0", (merchant_id,))
        return frozenset(row[0] for row in rows)

    async def set_wallet_enabled(self, merchant_id: str, wallet: str, enabled: bool) -> None:
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO merchant_wallets VALUES (?, ?, ?, ?) ON CONFLICT (merchant_id, wallet) "
                "DO UPDATE SET enabled=excluded.enabled, updated_at=excluded.updated_at",
                (merchant_id, wallet, int(enabled), clock.now_iso()))

    # -- provider callbacks -----------------------------------------------------------

    async def record_callback(self, *, wallet: str, body_sha256: str, provider_ref: str | None,
                              verified: bool, result: str) -> None:
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO provider_callbacks (wallet, body_sha256, provider_ref, verified, result, "
                "received_at) VALUES (?, ?, ?, ?, ?, ?)",
                (wallet, body_sha256, provider_ref, int(verified), result, clock.now_iso()))

    async def callbacks(self, wallet: str) -> list[dict[str, Any]]:
        rows = await self._fetchall("SELECT * FROM provider_callbacks WHERE wallet=? ORDER BY id", (wallet,))
        return [dict(row) for row in rows]

    async def callbacks_summary(self) -> dict[str, int]:
        rows = await self._fetchall("SELECT result, COUNT(*) FROM provider_callbacks GROUP BY result")
        return {row[0]: row[1] for row in rows}

    async def outbox(self, merchant_id: str) -> list[dict[str, Any]]:
        rows = await self._fetchall("SELECT * FROM outbox WHERE merchant_id=? ORDER BY id", (merchant_id,))
        return [{**dict(row), "payload": json.loads(row["payload"])} for row in rows]


class _Raw(str):
    """An SQL expression to put in a SET clause as it is."""


def _payment_values(payment: Payment) -> dict[str, Any]:
    values = dict(payment.__dict__)
    for column in _JSON_PAYMENT_COLUMNS:
        value = values[column]
        values[column] = _dump(list(value) if isinstance(value, tuple) else value)
    values["livemode"] = int(payment.livemode)
    return values


async def _guarded_update(db: InlineConnection, table: str, row_id: str,
                          expected_status: str | None, fields: dict[str, Any]) -> None:
    assignments, params = [], []
    for column, value in {**fields, "updated_at": clock.now_iso()}.items():
        if isinstance(value, _Raw):
            assignments.append(f"{column} = {value}")
            continue
        assignments.append(f"{column} = ?")
        params.append(_dump(value) if isinstance(value, (dict, list, tuple)) else value)
    sql = f"UPDATE {table} SET {', '.join(assignments)} WHERE id = ?"
    params.append(row_id)
    if expected_status is not None:
        sql += " AND status = ?"
        params.append(expected_status)
    cursor = await db.execute(sql, params)
    if cursor.rowcount != 1:
        async with db.execute(f"SELECT status FROM {table} WHERE id=?", (row_id,)) as found:
            row = await found.fetchone()
        raise StaleState(None if row is None else row[0])


async def _read_payment(db: InlineConnection, payment_id: str) -> Payment:
    async with db.execute("SELECT * FROM payments WHERE id=?", (payment_id,)) as cursor:
        row = await cursor.fetchone()
    assert row is not None
    return _payment(row)


async def _append_event(db: InlineConnection, payment_id: str, event_type: str,
                        render: Render) -> tuple[Payment, Event]:
    payment = await _read_payment(db, payment_id)
    event = Event(id=new_id("evt"), payment_id=payment_id, seq=payment.last_seq, type=event_type,
                  status=payment.status, data=render(payment), created_at=clock.now_iso())
    payload = _dump(event.data)
    await db.execute(
        "INSERT INTO payment_events (id, payment_id, seq, type, status, data, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (event.id, payment_id, event.seq, event.type, event.status, payload, event.created_at))
    await db.execute(
        "INSERT INTO outbox (event_id, merchant_id, livemode, type, payload, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (event.id, payment.merchant_id, int(payment.livemode), event_type, payload, event.created_at))
    return payment, event


async def _open_payment_for_order(db: InlineConnection, payment: Payment) -> str | None:
    async with db.execute(
        "SELECT id FROM payments WHERE merchant_id=? AND livemode=? AND order_id=? "
        "AND status NOT IN ('canceled', 'expired', 'failed')",
        (payment.merchant_id, int(payment.livemode), payment.order_id)) as cursor:
        row = await cursor.fetchone()
    return None if row is None else str(row[0])


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements; triggers keep their inner semicolons."""
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        if line.lstrip().startswith("--"):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements
