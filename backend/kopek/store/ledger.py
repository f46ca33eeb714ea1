"""The ledger in SQL (migration 0007): booking, fee plans, balances and provider settlements.
Settlements with merchants are in store/settlements.py, the invariant check's sums in
store/ledger_checks.py.

Module functions that take `db` run inside a transaction the caller holds (a payment's state
change, a refund); `LedgerStore` methods open their own.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Awaitable, Callable, TypeVar

from kopek import clock
from kopek.ids import new_id
from kopek.ledger import accounts, entries
from kopek.ledger.entries import Entry, SettledPayment
from kopek.ledger.fees import FeePlan
from kopek.store.inline import InlineConnection
from kopek.store.records import StoreError
from kopek.store.sqlite import SqliteStore

T = TypeVar("T")

# Sealed postings only: an unsealed transaction never counts.
POSTINGS = ("FROM ledger_postings p JOIN ledger_transactions t ON t.id = p.transaction_id "
            "JOIN ledger_seals s ON s.transaction_id = t.id")
UNSETTLED_WITH_PROVIDER = (
    "FROM payments p WHERE p.status = 'succeeded' AND p.fee IS NOT NULL "
    "AND NOT EXISTS (SELECT 1 FROM provider_settlement_items i WHERE i.payment_id = p.id)")

# What succeeded refunds already took from a payment's pending net: its provider settlement
# moves only the rest to available (ledger/refund_booking.py).
PENDING_REFUNDED = (
    "COALESCE((SELECT SUM(r.merchant_share) FROM refunds r WHERE r.payment_id = p.id "
    "AND r.status = 'succeeded' AND r.merchant_bucket = 'pending'), 0)")


@dataclass(frozen=True)
class PaymentFacts:
    id: str
    merchant_id: str
    livemode: bool
    status: str
    wallet: str | None
    currency: str
    amount: int
    fee: int | None


@dataclass(frozen=True)
class AccountTotal:
    livemode: bool
    account: str
    currency: str
    amount: int   # the sum of its postings: + debit balance, - credit balance


@dataclass(frozen=True)
class ProviderSettlement:
    id: str
    livemode: bool
    wallet: str
    currency: str
    amount: int
    payments_count: int
    transaction_id: str
    created_at: str


def _plan(row: sqlite3.Row) -> FeePlan:
    return FeePlan(basis_points=row["basis_points"], fixed=row["fixed"], minimum=row["minimum"],
                   maximum=row["maximum"])


# -- inside the caller's transaction ------------------------------------------------------

async def book(db: InlineConnection, entry: Entry) -> str:
    """Book a balanced transaction once. The same fact booked again adds nothing and returns
    the first transaction's id. The seal's trigger refuses it unless it balances."""
    transaction_id, now = new_id("ltx"), clock.now_iso()
    cursor = await db.execute(
        "INSERT INTO ledger_transactions (id, kind, ref_type, ref_id, merchant_id, livemode, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (kind, ref_type, ref_id) DO NOTHING",
        (transaction_id, entry.kind, entry.ref_type, entry.ref_id, entry.merchant_id, int(entry.livemode), now))
    if cursor.rowcount == 0:
        rows = await db.execute_fetchall(
            "SELECT id FROM ledger_transactions WHERE kind=? AND ref_type=? AND ref_id=?",
            (entry.kind, entry.ref_type, entry.ref_id))
        return str(list(rows)[0][0])
    await db.executemany(
        "INSERT INTO ledger_postings (transaction_id, account, currency, amount) VALUES (?, ?, ?, ?)",
        [(transaction_id, p.account, p.currency, p.amount) for p in entry.postings])
    await db.execute("INSERT INTO ledger_seals (transaction_id, sealed_at) VALUES (?, ?)", (transaction_id, now))
    return transaction_id


async def payment_facts(db: InlineConnection, payment_id: str) -> PaymentFacts:
    rows = list(await db.execute_fetchall(
        "SELECT id, merchant_id, livemode, status, wallet, currency, amount, fee FROM payments WHERE id=?",
        (payment_id,)))
    if not rows:
        raise StoreError(f"no such payment: {payment_id}")
    return PaymentFacts(**{**dict(rows[0]), "livemode": bool(rows[0]["livemode"])})


async def fee_plan_in(db: InlineConnection, merchant_id: str, wallet: str) -> FeePlan | None:
    rows = list(await db.execute_fetchall(
        "SELECT basis_points, fixed, minimum, maximum FROM fee_plans WHERE merchant_id=? AND wallet=?",
        (merchant_id, wallet)))
    return _plan(rows[0]) if rows else None


async def record_payment_fee(db: InlineConnection, payment_id: str, fee: int) -> None:
    cursor = await db.execute(
        "UPDATE payments SET fee=?, net=amount-? WHERE id=? AND status='succeeded' AND fee IS NULL",
        (fee, fee, payment_id))
    if cursor.rowcount != 1:
        raise StoreError(f"payment {payment_id} is not a succeeded payment without a fee")


class LedgerStore:
    def __init__(self, store: SqliteStore) -> None:
        self.store = store

    # -- booking outside a state change ----------------------------------------------------

    async def book(self, entry: Entry) -> str:
        async with self.store._transaction() as db:
            return await book(db, entry)

    async def in_transaction(self, work: Callable[[InlineConnection], Awaitable[T]]) -> T:
        """Run `work` (which books with the functions above) in one write transaction."""
        async with self.store._transaction() as db:
            return await work(db)

    async def succeeded_without_fee(self, limit: int, after_id: str = "") -> list[str]:
        """Succeeded payments never booked (from before the ledger existed), in id order."""
        rows = await self.store._fetchall(
            "SELECT id FROM payments WHERE status='succeeded' AND fee IS NULL AND id > ? ORDER BY id LIMIT ?",
            (after_id, limit))
        return [row[0] for row in rows]

    # -- fee plans -------------------------------------------------------------------------

    async def fee_plans(self, merchant_id: str) -> dict[str, FeePlan]:
        rows = await self.store._fetchall(
            "SELECT wallet, basis_points, fixed, minimum, maximum FROM fee_plans WHERE merchant_id=?", (merchant_id,))
        return {row["wallet"]: _plan(row) for row in rows}

    async def set_fee_plan(self, merchant_id: str, wallet: str, plan: FeePlan) -> None:
        now = clock.now_iso()
        async with self.store._transaction() as db:
            await db.execute(
                "INSERT INTO fee_plans (merchant_id, wallet, basis_points, fixed, minimum, maximum, created_at, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (merchant_id, wallet) DO UPDATE SET "
                "basis_points=excluded.basis_points, fixed=excluded.fixed, minimum=excluded.minimum, "
                "maximum=excluded.maximum, updated_at=excluded.updated_at",
                (merchant_id, wallet, plan.basis_points, plan.fixed, plan.minimum, plan.maximum, now, now))

    # -- balances --------------------------------------------------------------------------

    async def merchant_accounts(self, merchant_id: str, livemode: bool) -> list[AccountTotal]:
        prefix = accounts.merchant_prefix(merchant_id)
        rows = await self.store._fetchall(
            f"SELECT p.account, p.currency, SUM(p.amount) AS amount {POSTINGS} "
            "WHERE p.account >= ? AND p.account < ? AND t.livemode = ? GROUP BY p.account, p.currency",
            (prefix, prefix[:-1] + ";", int(livemode)))  # ';' sorts right after ':'
        return [AccountTotal(livemode, row["account"], row["currency"], row["amount"]) for row in rows]

    # -- provider settlements ----------------------------------------------------------------

    async def unsettled_groups(self) -> list[tuple[bool, str, str]]:
        rows = await self.store._fetchall(
            f"SELECT DISTINCT p.livemode, p.wallet, p.currency {UNSETTLED_WITH_PROVIDER} "
            "ORDER BY p.livemode, p.wallet, p.currency")
        return [(bool(row[0]), row[1], row[2]) for row in rows]

    async def settle_with_provider(self, livemode: bool, wallet: str, currency: str,
                                   limit: int) -> ProviderSettlement | None:
        """One provider settlement for up to `limit` of its succeeded, unsettled payments."""
        async with self.store._transaction() as db:
            rows = list(await db.execute_fetchall(
                f"SELECT p.id, p.merchant_id, p.amount, p.net - {PENDING_REFUNDED} {UNSETTLED_WITH_PROVIDER} "
                "AND p.livemode=? AND p.wallet=? AND p.currency=? ORDER BY p.id LIMIT ?",
                (int(livemode), wallet, currency, limit)))
            if not rows:
                return None
            paid = [SettledPayment(row[0], row[1], row[2], row[3]) for row in rows]
            settlement_id = new_id("pst")
            transaction_id = await book(db, entries.provider_settlement(
                settlement_id=settlement_id, livemode=livemode, wallet=wallet, currency=currency, payments=paid))
            settlement = ProviderSettlement(settlement_id, livemode, wallet, currency, sum(p.amount for p in paid),
                                            len(paid), transaction_id, clock.now_iso())
            await db.execute(
                "INSERT INTO provider_settlements (id, livemode, wallet, currency, amount, payments_count, "
                "transaction_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (settlement.id, int(livemode), wallet, currency, settlement.amount, settlement.payments_count,
                 transaction_id, settlement.created_at))
            await db.executemany("INSERT INTO provider_settlement_items VALUES (?, ?)",
                                 [(p.payment_id, settlement_id) for p in paid])
        return settlement

    async def provider_settlements(self, wallet: str, start: str, end: str) -> list[ProviderSettlement]:
        """A wallet's settlements made in [start, end): what reconciliation compares with a statement."""
        rows = await self.store._fetchall(
            "SELECT * FROM provider_settlements WHERE wallet=? AND created_at >= ? AND created_at < ? "
            "ORDER BY created_at, id", (wallet, start, end))
        return [ProviderSettlement(**{**dict(row), "livemode": bool(row["livemode"])}) for row in rows]

