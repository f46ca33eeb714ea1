"""Refunds and the provider settlements (migration 0009), in SQL: netting succeeded refunds
against what their provider pays Kopek, what a refund may take from a merchant's balance, and
the sums the invariant check needs (ledger/refund_booking.py has the rules)."""

from __future__ import annotations

from kopek import clock
from kopek.ledger import accounts
from kopek.ledger.refund_booking import refund_netted
from kopek.store.inline import InlineConnection
from kopek.store.ledger import PENDING_REFUNDED, POSTINGS, book
from kopek.store.sqlite import SqliteStore

# Succeeded refunds not netted yet, of payments their provider has settled.
UNNETTED = (
    "FROM refunds r WHERE r.status = 'succeeded' "
    "AND NOT EXISTS (SELECT 1 FROM refund_nettings n WHERE n.refund_id = r.id) "
    "AND EXISTS (SELECT 1 FROM provider_settlement_items i WHERE i.payment_id = r.payment_id)")


async def net_refunds(store: SqliteStore, limit: int) -> int:
    """Net up to `limit` refunds in one transaction; returns how many."""
    async with store._transaction() as db:
        rows = list(await db.execute_fetchall(
            f"SELECT r.id, r.merchant_id, r.livemode, r.currency, r.amount {UNNETTED} ORDER BY r.id LIMIT ?",
            (limit,)))
        for refund_id, merchant_id, livemode, currency, amount in rows:
            transaction_id = await book(db, refund_netted(refund_id=refund_id, merchant_id=merchant_id,
                                                          livemode=bool(livemode), currency=currency, amount=amount))
            await db.execute("INSERT INTO refund_nettings (refund_id, transaction_id, created_at) VALUES (?, ?, ?)",
                             (refund_id, transaction_id, clock.now_iso()))
    return len(rows)


async def available_to_refund(db: InlineConnection, *, merchant_id: str, livemode: bool, currency: str,
                              bucket: str) -> int:
    """The merchant's credit in `bucket`, less the whole amounts of its refunds still pending on
    payments in the same state (their shares are not known until they finish)."""
    account = accounts.merchant(merchant_id, currency, bucket)
    held = list(await db.execute_fetchall(
        f"SELECT COALESCE(-SUM(p.amount), 0) {POSTINGS} WHERE p.account = ? AND t.livemode = ?",
        (account, int(livemode))))[0][0]
    settled = "EXISTS" if bucket == accounts.AVAILABLE else "NOT EXISTS"
    in_flight = list(await db.execute_fetchall(
        "SELECT COALESCE(SUM(r.amount), 0) FROM refunds r WHERE r.status = 'pending' AND r.merchant_id = ? "
        f"AND r.livemode = ? AND r.currency = ? AND {settled} "
        "(SELECT 1 FROM provider_settlement_items i WHERE i.payment_id = r.payment_id)",
        (merchant_id, int(livemode), currency)))[0][0]
    return int(held) - int(in_flight)


async def netted_totals(store: SqliteStore) -> list[tuple[bool, str, int]]:
    rows = await store._fetchall(
        "SELECT r.livemode, r.currency, SUM(r.amount) FROM refund_nettings n JOIN refunds r ON r.id = n.refund_id "
        "WHERE r.status = 'succeeded' GROUP BY r.livemode, r.currency")
    return [(bool(row[0]), row[1], row[2]) for row in rows]


async def pending_refunded_of_settled(store: SqliteStore) -> list[tuple[bool, str, str, int]]:
    rows = await store._fetchall(
        f"SELECT p.livemode, p.merchant_id, p.currency, SUM({PENDING_REFUNDED}) FROM payments p "
        "WHERE p.status = 'succeeded' AND EXISTS (SELECT 1 FROM provider_settlement_items i WHERE i.payment_id = p.id) "
        "GROUP BY p.livemode, p.merchant_id, p.currency")
    return [(bool(row[0]), row[1], row[2], row[3]) for row in rows if row[3]]


async def netting_problems(store: SqliteStore) -> list[str]:
    """Nettings of refunds that did not succeed or whose payment no provider settled."""
    rows = await store._fetchall(
        "SELECT 'refund ' || n.refund_id || ' was netted but is ' || COALESCE(r.status, 'missing') "
        "FROM refund_nettings n LEFT JOIN refunds r ON r.id = n.refund_id WHERE COALESCE(r.status, '') <> 'succeeded' "
        "UNION ALL SELECT 'refund ' || n.refund_id || ' was netted before its payment was settled' "
        "FROM refund_nettings n JOIN refunds r ON r.id = n.refund_id WHERE NOT EXISTS "
        "(SELECT 1 FROM provider_settlement_items i WHERE i.payment_id = r.payment_id)")
    return [row[0] for row in rows]
