"""The database itself keeps the invariants: immutable, gapless events; one open payment per order."""

import sqlite3

import pytest

from kopek import keys
from kopek.store.sqlite import SqliteStore


@pytest.fixture
async def store(tmp_path):
    store = SqliteStore(tmp_path / "kopek.db")
    await store.open()
    yield store
    await store.close()


async def _raw(store, sql, params=()):
    async with store._transaction() as db:
        await db.execute(sql, params)


async def test_migrations_are_applied_once(store):
    assert await store.migrate() == []
    mode = await store._fetchone("PRAGMA journal_mode")
    assert mode[0] == "wal"
    assert (await store._fetchone("PRAGMA foreign_keys"))[0] == 1


async def test_events_cannot_be_changed_deleted_or_skipped(kopek):
    store = kopek.app[keys.STORE]
    payment = await kopek.create_payment(order_id="I-1")
    for sql in ("UPDATE payment_events SET type='x' WHERE payment_id=?",
                "DELETE FROM payment_events WHERE payment_id=?"):
        with pytest.raises(sqlite3.IntegrityError, match="immutable"):
            await _raw(store, sql, (payment["id"],))
    with pytest.raises(sqlite3.IntegrityError, match="seq"):
        await _raw(store, "INSERT INTO payment_events VALUES ('evt_x', ?, 3, 't', 's', '{}', 'now')",
                   (payment["id"],))
    assert [e.seq for e in await store.events(payment["id"])] == [1]


async def test_one_open_payment_per_order_is_a_unique_index(kopek):
    store = kopek.app[keys.STORE]
    payment = await kopek.create_payment(order_id="U-1")
    with pytest.raises(sqlite3.IntegrityError):
        columns = ("merchant_id, livemode, amount, currency, order_id, description, return_url, metadata, "
                   "allowed_wallets, wallet, current_attempt_id, next_action, last_error, attempts_count, "
                   "last_seq, expires_at, created_at, updated_at")
        await _raw(store, f"INSERT INTO payments (id, status, {columns}) SELECT 'pay_copy', 'requires_wallet', "
                   f"{columns} FROM payments WHERE id=?", (payment["id"],))


async def test_amounts_must_be_positive(kopek):
    store = kopek.app[keys.STORE]
    payment = await kopek.create_payment(order_id="P-1")
    with pytest.raises(sqlite3.IntegrityError):
        await _raw(store, "UPDATE payments SET amount=0 WHERE id=?", (payment["id"],))
