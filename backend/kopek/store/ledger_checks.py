"""The sums the ledger's invariant check compares (ledger/invariants.py), in SQL."""

from __future__ import annotations

from dataclasses import dataclass

from kopek.store.ledger import POSTINGS, AccountTotal
from kopek.store.sqlite import SqliteStore


@dataclass(frozen=True)
class GroupTotal:
    """Payments summed per mode, merchant, wallet and currency."""

    livemode: bool
    merchant_id: str
    wallet: str
    currency: str
    count: int
    amount: int
    fee: int
    net: int


class LedgerCheckStore:
    def __init__(self, store: SqliteStore) -> None:
        self.store = store

    async def account_totals(self) -> list[AccountTotal]:
        rows = await self.store._scan(
            f"SELECT t.livemode, p.account, p.currency, SUM(p.amount) AS amount {POSTINGS} "
            "GROUP BY t.livemode, p.account, p.currency")
        return [AccountTotal(bool(row[0]), row[1], row[2], row[3]) for row in rows]

    async def unbalanced_transactions(self) -> list[tuple[str, str, int]]:
        rows = await self.store._scan(
            "SELECT transaction_id, currency, SUM(amount) FROM ledger_postings "
            "GROUP BY transaction_id, currency HAVING SUM(amount) <> 0 ORDER BY transaction_id")
        return [(row[0], row[1], row[2]) for row in rows]

    async def thin_transactions(self) -> list[str]:
        """Transactions with fewer than two postings."""
        rows = await self.store._scan(
            "SELECT t.id FROM ledger_transactions t LEFT JOIN ledger_postings p ON p.transaction_id = t.id "
            "GROUP BY t.id HAVING COUNT(p.id) < 2 ORDER BY t.id")
        return [row[0] for row in rows]

    async def unsealed_transactions(self) -> list[str]:
        rows = await self.store._scan(
            "SELECT t.id FROM ledger_transactions t WHERE NOT EXISTS "
            "(SELECT 1 FROM ledger_seals s WHERE s.transaction_id = t.id) ORDER BY t.id")
        return [row[0] for row in rows]

    async def ledger_counts(self) -> dict[str, int]:
        rows = await self.store._scan(
            "SELECT (SELECT COUNT(*) FROM ledger_transactions), (SELECT COUNT(*) FROM ledger_postings), "
            "(SELECT COUNT(DISTINCT account) FROM ledger_postings), (SELECT COUNT(*) FROM provider_settlements), "
            "(SELECT COUNT(*) FROM settlements), (SELECT COUNT(*) FROM settlements WHERE status='paid')")
        row = rows[0]
        names = ("transactions", "postings", "accounts", "provider_settlements", "settlements", "settlements_paid")
        return dict(zip(names, row))

    async def succeeded_totals(self, provider_settled: bool | None = None) -> list[GroupTotal]:
        """Succeeded payments per mode, merchant, wallet and currency; only those a provider has
        (True) or has not (False) settled, or all (None)."""
        where = {None: "", True: " AND EXISTS", False: " AND NOT EXISTS"}[provider_settled]
        if provider_settled is not None:
            where += " (SELECT 1 FROM provider_settlement_items i WHERE i.payment_id = p.id)"
        rows = await self.store._scan(
            "SELECT livemode, merchant_id, wallet, currency, COUNT(*), SUM(amount), COALESCE(SUM(fee), 0), "
            f"COALESCE(SUM(net), 0) FROM payments p WHERE status='succeeded'{where} "
            "GROUP BY livemode, merchant_id, wallet, currency")
        return [GroupTotal(bool(row[0]), *row[1:]) for row in rows]

    async def paid_out_totals(self) -> list[tuple[bool, str, str, int]]:
        """(livemode, merchant, currency, net) over settlements marked paid."""
        rows = await self.store._scan(
            "SELECT st.livemode, st.merchant_id, l.currency, SUM(l.net) FROM settlement_lines l "
            "JOIN settlements st ON st.id = l.settlement_id WHERE st.status='paid' "
            "GROUP BY st.livemode, st.merchant_id, l.currency")
        return [(bool(row[0]), row[1], row[2], row[3]) for row in rows]

    async def payment_booking_problems(self) -> list[str]:
        """Succeeded payments without a fee or a ledger transaction, and the reverse."""
        rows = await self.store._scan("""
            SELECT 'payment ' || p.id || ' succeeded without a fee' FROM payments p
             WHERE p.status='succeeded' AND p.fee IS NULL
            UNION ALL
            SELECT 'payment ' || p.id || ' succeeded without a ledger transaction' FROM payments p
             WHERE p.status='succeeded' AND NOT EXISTS (SELECT 1 FROM ledger_transactions t
                   WHERE t.kind='payment' AND t.ref_type='payment' AND t.ref_id=p.id)
            UNION ALL
            SELECT 'ledger transaction ' || t.id || ' books payment ' || t.ref_id || ', which is '
                   || COALESCE(p.status, 'missing') FROM ledger_transactions t
              LEFT JOIN payments p ON p.id = t.ref_id
             WHERE t.kind='payment' AND COALESCE(p.status, '') <> 'succeeded'
            UNION ALL
            SELECT 'provider settlement ' || ps.id || ' says ' || ps.amount || ' for ' || ps.payments_count
                   || ' payments; its items add up to ' || COALESCE(SUM(p.amount), 0) || ' for ' || COUNT(p.id)
              FROM provider_settlements ps
              LEFT JOIN provider_settlement_items i ON i.provider_settlement_id = ps.id
              LEFT JOIN payments p ON p.id = i.payment_id AND p.status = 'succeeded'
             GROUP BY ps.id HAVING COALESCE(SUM(p.amount), 0) <> ps.amount OR COUNT(p.id) <> ps.payments_count
            UNION ALL
            SELECT 'payment ' || l.ref_id || ' is in settlement ' || l.settlement_id || ' with '
                   || l.amount || '/' || l.fee || '/' || l.net || ' but is ' || p.status || ' with '
                   || p.amount || '/' || COALESCE(p.fee, 'null') || '/' || COALESCE(p.net, 'null')
              FROM settlement_lines l JOIN payments p ON p.id = l.ref_id
             WHERE l.line_type='payment' AND (p.status <> 'succeeded' OR p.amount <> l.amount
                   OR p.fee IS NOT l.fee OR p.net IS NOT l.net)
            """)
        return [row[0] for row in rows]
