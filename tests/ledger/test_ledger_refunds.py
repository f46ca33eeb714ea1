"""Refunds across days: a settlement whose refunds outweigh its payments is refused, and the
books still balance."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kopek import clock
from kopek.errors import Conflict
from kopek.ledger import invariants
from kopek.store.refunds import NotRefundable
from ledger_helpers import freeze_day, harness, pay, refund


async def test_a_settlement_with_a_negative_net_payable_is_refused(tmp_path, monkeypatch):
    day1 = clock.now().date() - timedelta(days=3)
    day2 = day1 + timedelta(days=1)
    async with harness(tmp_path / "kopek.db") as h:
        merchant = await h.merchant()
        freeze_day(monkeypatch, day1)
        payment = await pay(h.service, merchant, 500, "webmoney", "N-1")
        await h.ledger.provider_settler.run_once()
        [first] = (await h.ledger.settlements.settle_day(day1, livemode=False, today=day2)).created
        freeze_day(monkeypatch, day2)
        done = await refund(h.store, payment.id, 500)      # the day-1 settlement is not paid yet
        assert done.status == "succeeded" and done.merchant_share == payment.net
        [second] = (await h.ledger.settlements.settle_day(day2, livemode=False, today=day2 + timedelta(days=1))).created
        report = await h.ledger.settlements.report(second)
        assert report.net_payable == {"RUB": -payment.net}
        assert [t.amount for t in report.totals] == [-500]
        with pytest.raises(Conflict) as refused:
            await h.ledger.settlements.pay(second.id)
        assert refused.value.code == "negative_net_payable"
        # The refund took back what day 1 would pay: that payout is refused too, not overdrawn.
        with pytest.raises(Conflict) as overdrawn:
            await h.ledger.settlements.pay(first.id)
        assert overdrawn.value.code == "insufficient_available"
        assert (await invariants.check(h.store)).problems == []


async def test_a_refund_of_a_paid_out_payment_is_refused_in_the_store(tmp_path):
    async with harness(tmp_path / "kopek.db") as h:
        merchant = await h.merchant()
        payment = await pay(h.service, merchant, 1_000, "webmoney", "P-1")
        await h.ledger.provider_settler.run_once()
        today = clock.now().date()
        [settlement] = (await h.ledger.settlements.settle_day(today, livemode=False,
                                                              today=today + timedelta(days=1))).created
        await h.ledger.settlements.pay(settlement.id)
        with pytest.raises(NotRefundable) as refused:
            await refund(h.store, payment.id, 1)
        assert (refused.value.code, refused.value.refundable) == ("insufficient_available_balance", 0)
        row = await h.store._fetchone("SELECT amount_refunded, (SELECT COUNT(*) FROM refunds) FROM payments")
        assert tuple(row) == (0, 0)
        assert (await invariants.check(h.store)).problems == []
