"""The database keeps the books honest by itself: unbalanced or thin transactions are never sealed,
nothing is added to a sealed one, and nothing booked is ever rewritten or removed."""

from __future__ import annotations

import sqlite3

import pytest

from kopek.ledger import accounts, entries
from kopek.ledger.entries import Entry, Posting, UnbalancedEntry
from kopek.store.ledger import LedgerStore
from ledger_helpers import harness, pay

RUB = "RUB"


async def raw(h, sql, params=()):
    async with h.store._transaction() as db:
        await db.execute(sql, params)


async def open_transaction(db, tx_id="ltx_manual", ref="manual-1"):
    await db.execute("INSERT INTO ledger_transactions (id, kind, ref_type, ref_id, merchant_id, livemode, created_at) "
                     "VALUES (?, 'correction', 'test', ?, NULL, 0, '2026-01-01T00:00:00.000000Z')", (tx_id, ref))


async def add_posting(db, account, amount, tx_id="ltx_manual", currency=RUB):
    await db.execute("INSERT INTO ledger_postings (transaction_id, account, currency, amount) VALUES (?, ?, ?, ?)",
                     (tx_id, account, currency, amount))


async def seal(db, tx_id="ltx_manual"):
    await db.execute("INSERT INTO ledger_seals VALUES (?, '2026-01-01T00:00:00.000000Z')", (tx_id,))


@pytest.mark.parametrize("legs", [
    [("kopek:RUB:bank", 100), ("kopek:RUB:fee_revenue", -99)],            # off by one
    [("kopek:RUB:bank", 100)],                                             # one leg
    [],                                                                    # none
])
async def test_the_database_refuses_to_seal_a_transaction_that_does_not_balance(tmp_path, legs):
    async with harness(tmp_path / "k.db") as h:
        with pytest.raises(sqlite3.IntegrityError, match="two or more postings summing to zero"):
            async with h.store._transaction() as db:
                await open_transaction(db)
                for account, amount in legs:
                    await add_posting(db, account, amount)
                await seal(db)
        assert await h.store._fetchall("SELECT * FROM ledger_transactions") == []


async def test_balance_is_per_currency_not_overall(tmp_path):
    async with harness(tmp_path / "k.db") as h:
        with pytest.raises(sqlite3.IntegrityError):
            async with h.store._transaction() as db:
                await open_transaction(db)
                await add_posting(db, "kopek:RUB:bank", 100)
                await add_posting(db, "kopek:USD:bank", -100, currency="USD")
                await seal(db)


async def test_a_sealed_transaction_takes_no_more_postings_and_nothing_is_rewritten(tmp_path):
    async with harness(tmp_path / "k.db") as h:
        async with h.store._transaction() as db:
            await open_transaction(db)
            await add_posting(db, "kopek:RUB:bank", 100)
            await add_posting(db, "kopek:RUB:fee_revenue", -100)
            await seal(db)
        attacks = [
            ("INSERT INTO ledger_postings (transaction_id, account, currency, amount) "
             "VALUES ('ltx_manual', 'kopek:RUB:bank', 'RUB', 5)", "sealed"),
            ("UPDATE ledger_postings SET amount = 1", "immutable"),
            ("DELETE FROM ledger_postings", "immutable"),
            ("UPDATE ledger_transactions SET merchant_id = NULL", "immutable"),
            ("DELETE FROM ledger_transactions", "immutable"),
            ("DELETE FROM ledger_seals", "immutable"),
            ("UPDATE ledger_seals SET sealed_at = 'x'", "immutable"),
        ]
        for sql, message in attacks:
            with pytest.raises(sqlite3.IntegrityError, match=message):
                await raw(h, sql)
        rows = await h.store._fetchall("SELECT account, amount FROM ledger_postings ORDER BY id")
        assert [tuple(r) for r in rows] == [("kopek:RUB:bank", 100), ("kopek:RUB:fee_revenue", -100)]


@pytest.mark.parametrize(("account", "currency", "amount"), [
    ("kopek:RUB:bank", "USD", 5),          # the account's currency must be the posting's
    ("bank", "RUB", 5),                    # not an account name Kopek uses
    ("kopek:RUB:bank", "RUB", 0),          # a zero leg
    ("kopek:RUB:bank", "RUB", 1.5),        # never a fraction
])
async def test_a_posting_must_name_its_currency_and_be_a_non_zero_integer(tmp_path, account, currency, amount):
    async with harness(tmp_path / "k.db") as h:
        with pytest.raises(sqlite3.IntegrityError):
            async with h.store._transaction() as db:
                await open_transaction(db)
                await add_posting(db, account, amount, currency=currency)


async def test_a_payments_fee_is_set_once_and_adds_up(tmp_path):
    async with harness(tmp_path / "k.db") as h:
        paid = await pay(h.service, await h.merchant(), 100, "webmoney", "F-1")
        for sql in ("UPDATE payments SET fee = 3, net = 97", "UPDATE payments SET net = 99",
                    "UPDATE payments SET fee = NULL, net = NULL"):
            with pytest.raises(sqlite3.IntegrityError):
                await raw(h, sql)
        assert (await h.store.get_payment(paid.id)).fee == 2


async def test_booking_the_same_fact_twice_books_it_once(tmp_path):
    async with harness(tmp_path / "k.db") as h:
        paid = await pay(h.service, await h.merchant(), 100, "webmoney", "F-2")
        entry = entries.payment_succeeded(payment_id=paid.id, merchant_id=paid.merchant_id, livemode=False,
                                          wallet="webmoney", currency=RUB, amount=100, fee=2)
        first = (await h.store._fetchone("SELECT id FROM ledger_transactions"))[0]
        assert await LedgerStore(h.store).book(entry) == first
        assert (await h.store._fetchone("SELECT COUNT(*) FROM ledger_postings"))[0] == 3


def test_entries_refuse_to_be_unbalanced_before_any_sql_runs():
    with pytest.raises(UnbalancedEntry):
        Entry("x", "t", "1", None, False, (Posting(accounts.bank(RUB), RUB, 5), Posting(accounts.fee_revenue(RUB),
                                                                                        RUB, -4)))
    with pytest.raises(UnbalancedEntry):
        Entry("x", "t", "1", None, False, (Posting(accounts.bank(RUB), RUB, 0), Posting(accounts.bank(RUB), RUB, 0)))
    assert entries.payout(settlement_id="stl_1", merchant_id="mer_1", livemode=False, net_payable={RUB: 0}) is None


async def test_a_failing_booking_rolls_back_the_state_change_that_caused_it(tmp_path):
    """The hook runs inside the payment's transaction: no success without its ledger entry."""
    async with harness(tmp_path / "k.db") as h:
        merchant = await h.merchant()

        async def broken(db, payment_id, event_type):  # runs after the real booking, then fails
            if event_type == "payment.succeeded":
                raise RuntimeError("the disk is full")

        h.store.change_hooks.append(broken)
        with pytest.raises(RuntimeError):
            await pay(h.service, merchant, 100, "webmoney", "F-3")
        h.store.change_hooks.remove(broken)
        payment = (await h.store.list_payments(merchant_id=merchant, livemode=False, limit=5))[0]
        assert payment.status == "processing" and payment.fee is None
        assert [e.type for e in await h.store.events(payment.id)] == ["payment.created", "payment.processing"]
        assert await h.store._fetchall("SELECT * FROM ledger_transactions") == []
        assert await h.store._fetchall("SELECT * FROM ledger_postings") == []
