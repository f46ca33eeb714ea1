"""Money figures for the dashboard in SQL: a merchant's daily volume per wallet, and each
settlement's sums split by line type (payments, refunds), which the settlement report does not
break out.

A payment counts on the UTC day its ledger transaction was booked, the moment it succeeded: the
same rule that puts it into a day's settlement (store/settlements.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from kopek.ledger import entries
from kopek.store.sqlite import SqliteStore

# Timestamps are fixed-width ISO 8601 UTC text: the first ten characters are the day.
DAY_OF_BOOKING = "substr(t.created_at, 1, 10)"


@dataclass(frozen=True)
class DailyVolume:
    day: str          # YYYY-MM-DD, UTC
    wallet: str
    currency: str
    amount: int       # minor units: the sum of the succeeded payments' amounts
    count: int


@dataclass(frozen=True)
class SettlementSummary:
    """One settlement's figures in one currency. net = gross - refunds - fees."""

    settlement_id: str
    currency: str
    gross: int        # the payments' amounts
    refunds: int      # the refunded amounts, as a positive number
    fees: int         # the payments' fees less the fees returned with refunds
    net: int


class VolumeStore:
    def __init__(self, store: SqliteStore) -> None:
        self.store = store

    async def daily_volume(self, merchant_id: str, livemode: bool, start: str, end: str) -> list[DailyVolume]:
        """Succeeded payments booked in [start, end), summed per UTC day, wallet and currency."""
        rows = await self.store._scan(
            f"SELECT {DAY_OF_BOOKING} AS day, p.wallet, p.currency, SUM(p.amount), COUNT(*) "
            "FROM ledger_transactions t JOIN payments p ON p.id = t.ref_id "
            "WHERE t.kind = ? AND t.ref_type = 'payment' AND t.merchant_id = ? AND t.livemode = ? "
            "AND t.created_at >= ? AND t.created_at < ? "
            f"GROUP BY {DAY_OF_BOOKING}, p.wallet, p.currency ORDER BY day, p.wallet, p.currency",
            (entries.PAYMENT, merchant_id, int(livemode), start, end))
        return [DailyVolume(*row) for row in rows]

    async def settlement_summaries(self, settlement_ids: list[str]) -> list[SettlementSummary]:
        if not settlement_ids:
            return []
        marks = ", ".join("?" for _ in settlement_ids)
        rows = await self.store._scan(
            "SELECT settlement_id, currency, "
            "SUM(CASE WHEN line_type = 'payment' THEN amount ELSE 0 END), "
            "SUM(CASE WHEN line_type = 'refund' THEN -amount ELSE 0 END), SUM(fee), SUM(net) "
            f"FROM settlement_lines WHERE settlement_id IN ({marks}) "
            "GROUP BY settlement_id, currency ORDER BY settlement_id, currency", settlement_ids)
        return [SettlementSummary(*row) for row in rows]
