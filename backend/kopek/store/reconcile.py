"""What reconciliation compares a statement with: one wallet's succeeded payments and refunds
of one UTC day, by the provider's references."""

from __future__ import annotations

from kopek.reconcile.matcher import Expected
from kopek.store.sqlite import SqliteStore

MAX_EXPECTED = 200_000


async def expected_for_day(store: SqliteStore, wallet: str, livemode: bool, start: str, end: str) -> list[Expected]:
    """Payments that succeeded in [start, end) (by their payment.succeeded event) and refunds
    that succeeded then (by their refund.succeeded event)."""
    rows = await store._fetchall(
        "SELECT a.provider_ref, p.amount, p.id FROM payment_events e JOIN payments p ON p.id = e.payment_id "
        "JOIN attempts a ON a.id = p.current_attempt_id WHERE e.type = 'payment.succeeded' AND p.wallet = ? "
        "AND p.livemode = ? AND e.created_at >= ? AND e.created_at < ? AND a.provider_ref IS NOT NULL LIMIT ?",
        (wallet, int(livemode), start, end, MAX_EXPECTED))
    refunds = await store._fetchall(
        "SELECT provider_refund_ref, amount, id FROM refunds WHERE status = 'succeeded' AND wallet = ? "
        "AND livemode = ? AND updated_at >= ? AND updated_at < ? AND provider_refund_ref IS NOT NULL LIMIT ?",
        (wallet, int(livemode), start, end, MAX_EXPECTED))
    return ([Expected(row[0], "payment", row[1], row[2]) for row in rows]
            + [Expected(row[0], "refund", row[1], row[2]) for row in refunds])
