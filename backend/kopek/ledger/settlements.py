"""Settlements with merchants: one per merchant and UTC day, across all wallets at once.

`settle_day` is idempotent: a merchant's settlement for a day is made once (a unique key), so
running it again changes nothing. A settlement is paid (the payout is booked) only once every
payment in it has been settled by its wallet provider, so Kopek never pays out money it has not
received.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from kopek import clock
from kopek.errors import Conflict, InvalidRequest, NotFound
from kopek.store.settlements import PayoutRefused, Settlement, SettlementLine, SettlementStore, WalletTotal


@dataclass(frozen=True)
class SettleRun:
    day: date
    created: list[Settlement]
    existing: list[Settlement]   # made by an earlier run for the same day


@dataclass(frozen=True)
class Report:
    settlement: Settlement
    totals: list[WalletTotal]
    net_payable: dict[str, int]   # per currency


def parse_day(text: str) -> date:
    """YYYY-MM-DD and nothing else (no week dates, no times)."""
    try:
        if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise InvalidRequest(f"not a date: {text!r}; use YYYY-MM-DD", param="date", code="invalid_date")


def yesterday() -> date:
    return clock.now().date() - timedelta(days=1)


def day_bounds(day: date) -> tuple[str, str]:
    start = datetime.combine(day, time(0), tzinfo=timezone.utc)
    return clock.to_iso(start), clock.to_iso(start + timedelta(days=1))


class Settlements:
    def __init__(self, store: SettlementStore) -> None:
        self.store = store

    async def settle_day(self, day: date, *, livemode: bool, today: date | None = None) -> SettleRun:
        """Settle every merchant's `day` (UTC). Only a day that is over can be settled."""
        today = today or clock.now().date()
        if day >= today:
            raise InvalidRequest(f"{day.isoformat()} is not over yet (today is {today.isoformat()} UTC); "
                                 "settle a past day", param="date", code="settlement_date_not_past")
        before = await self.store.settlements_for_day(livemode, day.isoformat())
        created = await self.store.create_settlements(livemode, day.isoformat(), *day_bounds(day))
        return SettleRun(day, created, before)

    async def get(self, settlement_id: str) -> Settlement:
        settlement = await self.store.settlement(settlement_id)
        if settlement is None:
            raise NotFound(f"no such settlement: {settlement_id}", param="id")
        return settlement

    async def get_for_merchant(self, merchant_id: str, livemode: bool, settlement_id: str) -> Settlement:
        settlement = await self.store.settlement(settlement_id)
        if settlement is None or settlement.merchant_id != merchant_id or settlement.livemode != livemode:
            raise NotFound(f"no such settlement: {settlement_id}", param="id")
        return settlement

    async def list(self, merchant_id: str, livemode: bool, limit: int,
                   starting_after: str | None) -> tuple[list[Settlement], bool]:
        cursor = await self.get_for_merchant(merchant_id, livemode, starting_after) if starting_after else None
        rows = await self.store.list_settlements(merchant_id, livemode, limit + 1, cursor)
        return rows[:limit], len(rows) > limit

    async def report(self, settlement: Settlement) -> Report:
        totals = await self.store.settlement_totals(settlement.id)
        payable: dict[str, int] = {}
        for total in totals:
            payable[total.currency] = payable.get(total.currency, 0) + total.net
        return Report(settlement, totals, payable)

    async def lines(self, settlement: Settlement, limit: int,
                    starting_after: str | None = None) -> tuple[list[SettlementLine], bool]:
        """A page of lines; `starting_after` is the last line's id (pay_...) of the previous page."""
        after = 0
        if starting_after:
            position = await self.store.settlement_line_position(settlement.id, starting_after)
            if position is None:
                raise InvalidRequest(f"{starting_after} is not a line of {settlement.id}",
                                     param="starting_after")
            after = position
        rows = await self.store.settlement_lines(settlement.id, limit + 1, after)
        return rows[:limit], len(rows) > limit

    async def pay(self, settlement_id: str) -> Settlement:
        """Record the payout: book available -> paid out and mark the settlement paid."""
        await self.get(settlement_id)
        try:
            return await self.store.pay_settlement(settlement_id)
        except PayoutRefused as exc:
            raise Conflict(exc.message, code=exc.code, extra={"settlement": settlement_id}) from exc
