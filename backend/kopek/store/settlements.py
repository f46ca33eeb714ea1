"""Settlements with merchants in SQL (migration 0007): one per merchant, mode and UTC day, across
all wallets; its lines (one per payment and one per refund), totals per wallet, and the payout.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from kopek import clock
from kopek.ids import new_id
from kopek.ledger import accounts, entries
from kopek.ledger.refund_booking import REFUND
from kopek.store.inline import InlineConnection
from kopek.store.ledger import POSTINGS, book
from kopek.store.records import StoreError
from kopek.store.sqlite import SqliteStore

# Ledger kinds whose facts appear as lines in a merchant's settlement.
SETTLED_KINDS: list[str] = [entries.PAYMENT, REFUND]
# One INSERT ... SELECT per line type, adding a merchant's lines of one day to a settlement.
# Named parameters: settlement_id, merchant_id, livemode, start, end. A refund's line is
# negative: amount -refund, fee -(fee returned), net -(merchant's share), so it reduces the
# wallet's totals and the net payable.
LINE_SOURCES: list[str] = ["""
    INSERT INTO settlement_lines (settlement_id, line_type, ref_id, order_id, wallet, currency,
                                  amount, fee, net, occurred_at)
    SELECT :settlement_id, 'payment', p.id, p.order_id, p.wallet, p.currency, p.amount, p.fee, p.net, t.created_at
    FROM ledger_transactions t JOIN payments p ON p.id = t.ref_id
    WHERE t.kind = 'payment' AND t.ref_type = 'payment' AND t.merchant_id = :merchant_id
      AND t.livemode = :livemode AND t.created_at >= :start AND t.created_at < :end
    ORDER BY t.created_at, p.id""", """
    INSERT INTO settlement_lines (settlement_id, line_type, ref_id, order_id, wallet, currency,
                                  amount, fee, net, occurred_at)
    SELECT :settlement_id, 'refund', r.id, p.order_id, r.wallet, r.currency, -r.amount, -r.fee_share,
           -r.merchant_share, t.created_at
    FROM ledger_transactions t JOIN refunds r ON r.id = t.ref_id JOIN payments p ON p.id = r.payment_id
    WHERE t.kind = 'refund' AND t.ref_type = 'refund' AND t.merchant_id = :merchant_id
      AND t.livemode = :livemode AND t.created_at >= :start AND t.created_at < :end
    ORDER BY t.created_at, r.id"""]


class PayoutRefused(StoreError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Settlement:
    id: str
    merchant_id: str
    livemode: bool
    period_date: str
    period_start: str
    period_end: str
    status: str
    created_at: str
    paid_at: str | None
    payout_transaction_id: str | None


@dataclass(frozen=True)
class SettlementLine:
    id: int
    line_type: str
    ref_id: str
    order_id: str | None
    wallet: str
    currency: str
    amount: int
    fee: int
    net: int
    occurred_at: str


@dataclass(frozen=True)
class WalletTotal:
    wallet: str
    currency: str
    count: int
    amount: int
    fee: int
    net: int


def _settlement(row: sqlite3.Row) -> Settlement:
    return Settlement(**{**dict(row), "livemode": bool(row["livemode"])})


def _line(row: sqlite3.Row) -> SettlementLine:
    data = dict(row)
    del data["settlement_id"]
    return SettlementLine(**data)


class SettlementStore:
    def __init__(self, store: SqliteStore) -> None:
        self.store = store

    async def create_settlements(self, livemode: bool, period_date: str, start: str, end: str) -> list[Settlement]:
        """A settlement for each merchant with something to settle in [start, end) and none yet."""
        kinds = ", ".join("?" for _ in SETTLED_KINDS)
        async with self.store._transaction() as db:
            rows = await db.execute_fetchall(
                f"SELECT DISTINCT t.merchant_id FROM ledger_transactions t WHERE t.kind IN ({kinds}) "
                "AND t.livemode=? AND t.created_at >= ? AND t.created_at < ? AND t.merchant_id IS NOT NULL "
                "AND NOT EXISTS (SELECT 1 FROM settlements st WHERE st.merchant_id = t.merchant_id "
                "AND st.livemode = t.livemode AND st.period_date = ?) ORDER BY t.merchant_id",
                (*SETTLED_KINDS, int(livemode), start, end, period_date))
            created = []
            for (merchant_id,) in rows:
                settlement = Settlement(new_id("stl"), merchant_id, livemode, period_date, start, end, "open",
                                        clock.now_iso(), None, None)
                await db.execute(
                    "INSERT INTO settlements (id, merchant_id, livemode, period_date, period_start, period_end, "
                    "status, created_at) VALUES (?, ?, ?, ?, ?, ?, 'open', ?)",
                    (settlement.id, merchant_id, int(livemode), period_date, start, end, settlement.created_at))
                params = {"settlement_id": settlement.id, "merchant_id": merchant_id, "livemode": int(livemode),
                          "start": start, "end": end}
                for source in LINE_SOURCES:
                    await db.execute(source, params)
                created.append(settlement)
        return created

    async def settlement(self, settlement_id: str) -> Settlement | None:
        row = await self.store._fetchone("SELECT * FROM settlements WHERE id=?", (settlement_id,))
        return None if row is None else _settlement(row)

    async def settlements_for_day(self, livemode: bool, period_date: str) -> list[Settlement]:
        rows = await self.store._fetchall(
            "SELECT * FROM settlements WHERE livemode=? AND period_date=? ORDER BY merchant_id",
            (int(livemode), period_date))
        return [_settlement(row) for row in rows]

    async def list_settlements(self, merchant_id: str, livemode: bool, limit: int,
                               starting_after: Settlement | None = None) -> list[Settlement]:
        """Newest period first; the cursor is the last settlement of the previous page."""
        sql = "SELECT * FROM settlements WHERE merchant_id=? AND livemode=?"
        params: list[Any] = [merchant_id, int(livemode)]
        if starting_after is not None:
            sql += " AND (period_date < ? OR (period_date = ? AND id < ?))"
            params += [starting_after.period_date, starting_after.period_date, starting_after.id]
        rows = await self.store._fetchall(sql + " ORDER BY period_date DESC, id DESC LIMIT ?", [*params, limit])
        return [_settlement(row) for row in rows]

    async def settlement_lines(self, settlement_id: str, limit: int, after_line: int = 0) -> list[SettlementLine]:
        rows = await self.store._fetchall(
            "SELECT * FROM settlement_lines WHERE settlement_id=? AND id > ? ORDER BY id LIMIT ?",
            (settlement_id, after_line, limit))
        return [_line(row) for row in rows]

    async def settlement_line_position(self, settlement_id: str, ref_id: str) -> int | None:
        row = await self.store._fetchone(
            "SELECT id FROM settlement_lines WHERE settlement_id=? AND ref_id=?", (settlement_id, ref_id))
        return None if row is None else int(row[0])

    async def settlement_totals(self, settlement_id: str) -> list[WalletTotal]:
        rows = await self.store._fetchall(
            "SELECT wallet, currency, COUNT(*), SUM(amount), SUM(fee), SUM(net) FROM settlement_lines "
            "WHERE settlement_id=? GROUP BY wallet, currency ORDER BY currency, wallet", (settlement_id,))
        return [WalletTotal(*row) for row in rows]

    async def pay_settlement(self, settlement_id: str) -> Settlement:
        """Book the payout (available -> paid out) and mark the settlement paid, or refuse."""
        async with self.store._transaction() as db:
            settlement = _settlement(list(await db.execute_fetchall(
                "SELECT * FROM settlements WHERE id=?", (settlement_id,)))[0])
            if settlement.status != "open":
                raise PayoutRefused("settlement_paid", f"settlement {settlement_id} was paid at {settlement.paid_at}")
            await _refuse_unless_funded(db, settlement_id)
            payable = await _net_payable(db, settlement_id)
            entry = entries.payout(settlement_id=settlement_id, merchant_id=settlement.merchant_id,
                                   livemode=settlement.livemode, net_payable=payable)
            transaction_id = await book(db, entry) if entry else None
            await _refuse_overdrawn(db, settlement, payable)
            paid_at = clock.now_iso()
            await db.execute("UPDATE settlements SET status='paid', paid_at=?, payout_transaction_id=? "
                             "WHERE id=? AND status='open'", (paid_at, transaction_id, settlement_id))
        return Settlement(**{**settlement.__dict__, "status": "paid", "paid_at": paid_at,
                             "payout_transaction_id": transaction_id})


async def _refuse_unless_funded(db: InlineConnection, settlement_id: str) -> None:
    rows = list(await db.execute_fetchall(
        "SELECT COUNT(*) FROM settlement_lines l WHERE l.settlement_id=? AND l.line_type='payment' "
        "AND NOT EXISTS (SELECT 1 FROM provider_settlement_items i WHERE i.payment_id = l.ref_id)",
        (settlement_id,)))
    waiting = rows[0][0]
    if waiting:
        raise PayoutRefused("funds_pending", f"{waiting} payment(s) of this settlement are not yet settled by "
                                             "their wallet providers; pay it after their settlement arrives")


async def _net_payable(db: InlineConnection, settlement_id: str) -> dict[str, int]:
    rows = await db.execute_fetchall(
        "SELECT currency, SUM(net) FROM settlement_lines WHERE settlement_id=? GROUP BY currency", (settlement_id,))
    payable = {row[0]: row[1] for row in rows}
    owed = {currency: amount for currency, amount in payable.items() if amount < 0}
    if owed:
        raise PayoutRefused("negative_net_payable", f"the merchant owes this settlement's net: {owed}")
    return payable


async def _refuse_overdrawn(db: InlineConnection, settlement: Settlement, payable: dict[str, int]) -> None:
    """Available is a credit balance: after the payout it must not turn into a debit."""
    for currency in payable:
        account = accounts.merchant(settlement.merchant_id, currency, accounts.AVAILABLE)
        rows = list(await db.execute_fetchall(
            f"SELECT COALESCE(SUM(p.amount), 0) {POSTINGS} WHERE p.account=? AND t.livemode=?",
            (account, int(settlement.livemode))))
        if rows[0][0] > 0:
            raise PayoutRefused("insufficient_available",
                                f"only {-(rows[0][0] - payable[currency])} {currency} minor units are available")
