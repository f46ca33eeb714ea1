"""Property: after any sequence of fee plan changes, payments (succeeded or failed), refunds (full
or partial, succeeded or declined, or refused), provider settlements, settlements and payouts,
every transaction balances and every total matches an independent model of what should have
happened, to the kopeck."""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import given, settings, strategies as st

from kopek.errors import Conflict, InvalidRequest
from kopek.ledger import invariants
from kopek.ledger.fees import DEFAULT_PLAN, FeePlan, fee_for, planned_fee
from kopek.providers.registry import WALLETS
from kopek.store.refunds import NotRefundable
from ledger_helpers import create_data, finish, harness, refund, today, tomorrow

ROUTES = [("webmoney", "RUB"), ("webmoney", "USD"), ("yandex_dengi", "RUB"), ("eport", "RUB"), ("eport", "USD"),
          ("kreditpilot", "RUB")]
MERCHANTS = 2

plans = st.builds(lambda bps, fixed, minimum, extra: FeePlan(bps, fixed, minimum,
                                                             None if extra is None else minimum + extra),
                  st.integers(0, 10_000), st.integers(0, 300), st.integers(0, 300), st.none() | st.integers(0, 500))
payments = st.tuples(st.just("pay"), st.integers(0, MERCHANTS - 1), st.sampled_from(ROUTES),
                     st.integers(1, 20_000) | st.integers(1, 5), st.booleans())
refunds = st.tuples(st.just("refund"), st.integers(0, 1000),
                    # full (None), a share of what is left in percent, or minor units (maybe too many)
                    st.none() | st.tuples(st.just("%"), st.integers(1, 100)) | st.integers(1, 5)
                    | st.integers(1, 20_000), st.booleans())
mixed = st.lists(st.one_of(
    payments,
    st.tuples(st.just("plan"), st.integers(0, MERCHANTS - 1), st.sampled_from(sorted(WALLETS)), plans),
    refunds, refunds,   # twice: refunds come up more often than any other step
    st.just(("providers",)), st.just(("settle",)), st.just(("payout",))), min_size=4, max_size=30)
# A few payments first, so the refunds that follow usually have something to refund.
actions = st.tuples(st.lists(payments, min_size=1, max_size=6), mixed).map(lambda both: both[0] + both[1])


@dataclass
class Paid:
    merchant: int
    currency: str
    net: int
    provider_settled: bool = False
    id: str = ""
    amount: int = 0
    fee: int = 0
    refunded: int = 0           # succeeded refunds
    from_pending: int = 0       # merchant shares refunded before the provider settled it
    from_available: int = 0     # ... and after

    def left_in_pending(self) -> int:
        return 0 if self.provider_settled else self.net - self.from_pending

    def left_in_available(self) -> int:
        return self.net - self.from_pending - self.from_available if self.provider_settled else 0


@dataclass
class Model:
    plans: dict[tuple[int, str], FeePlan] = field(default_factory=dict)
    paid: list[Paid] = field(default_factory=list)
    settled: dict[int, list[Paid]] = field(default_factory=dict)     # today's settlement per merchant
    paid_out: set[int] = field(default_factory=set)
    fees: dict[str, int] = field(default_factory=dict)
    payable: dict[int, dict[str, int]] = field(default_factory=dict)   # today's settlement's net payable
    paid_amounts: dict[int, dict[str, int]] = field(default_factory=dict)
    refunds: dict[int, list[tuple[str, int]]] = field(default_factory=dict)   # (currency, merchant share)
    in_transit: dict[str, int] = field(default_factory=dict)           # succeeded refunds not netted yet
    bank: dict[str, int] = field(default_factory=dict)

    def available(self, merchant: int, currency: str) -> int:
        held = sum(p.left_in_available() for p in self.paid if p.merchant == merchant and p.currency == currency)
        return held - self.paid_amounts.get(merchant, {}).get(currency, 0)

    def pending(self, merchant: int, currency: str) -> int:
        return sum(p.left_in_pending() for p in self.paid if p.merchant == merchant and p.currency == currency)

    def plan(self, merchant: int, wallet: str) -> FeePlan:
        return self.plans.get((merchant, wallet), DEFAULT_PLAN)

    def refused(self, merchant: int, amount: int, currency: str) -> bool:
        offered = [w for w, info in WALLETS.items() if info.accepts(amount, currency)]
        return max(planned_fee(amount, self.plan(merchant, w)) for w in offered) > amount


async def scenario(path: Path, steps: list[tuple]) -> None:
    async with harness(path) as h:
        merchants = [await h.merchant(f"Shop {n}") for n in range(MERCHANTS)]
        model = Model()
        for number, step in enumerate(steps):
            await STEPS[step[0]](h, model, merchants, number, *step[1:])
        await check_against_model(h, model, merchants)


async def do_pay(h, model, merchants, number, merchant, route, amount, succeed):
    wallet, currency = route
    try:
        payment = await h.service.create(merchant_id=merchants[merchant], livemode=False,
                                         data=create_data(amount, f"o-{number}", currency))
    except InvalidRequest as exc:
        assert exc.code == "amount_below_fee" and model.refused(merchant, amount, currency)
        return
    assert not model.refused(merchant, amount, currency)
    done = await finish(h.service, payment, wallet, succeed)
    if not succeed:
        assert done.fee is None
        return
    fee = fee_for(amount, model.plan(merchant, wallet))
    assert (done.fee, done.net) == (fee, amount - fee)
    model.paid.append(Paid(merchant, currency, amount - fee, id=done.id, amount=amount, fee=fee))
    model.fees[currency] = model.fees.get(currency, 0) + fee


async def do_plan(h, model, merchants, number, merchant, wallet, plan):
    await h.ledger.fee_plans.set(merchants[merchant], wallet, plan)
    model.plans[(merchant, wallet)] = plan


async def do_refund(h, model, merchants, number, index, amount, succeed):
    """Refund one of the succeeded payments: full (None) or partial; refused when it is more than
    is left or than the merchant's bucket holds; declined by the wallet when not `succeed`."""
    if not model.paid:
        return
    paid = model.paid[index % len(model.paid)]
    if not isinstance(amount, int) and paid.refunded == paid.amount:
        return    # nothing left to refund in full or in part
    left = paid.amount - paid.refunded
    if isinstance(amount, tuple):
        amount = max(1, left * amount[1] // 100)
    amount = left if amount is None else amount
    fee_share = paid.fee * (paid.refunded + amount) // paid.amount - paid.fee * paid.refunded // paid.amount
    share = amount - fee_share
    bucket = model.available if paid.provider_settled else model.pending
    try:
        done = await refund(h.store, paid.id, amount, succeed)
    except NotRefundable as exc:
        if amount > paid.amount - paid.refunded:
            assert exc.code == "exceeds_refundable"
        else:
            assert exc.code == "insufficient_available_balance" and share > bucket(paid.merchant, paid.currency)
        return
    assert amount <= paid.amount - paid.refunded and share <= bucket(paid.merchant, paid.currency)
    assert done.status == ("succeeded" if succeed else "failed")
    if not succeed:
        return
    assert (done.merchant_share, done.fee_share) == (share, fee_share)
    paid.refunded += amount
    if paid.provider_settled:
        paid.from_available += share
    else:
        paid.from_pending += share
    model.fees[paid.currency] -= fee_share
    model.in_transit[paid.currency] = model.in_transit.get(paid.currency, 0) + amount
    model.refunds.setdefault(paid.merchant, []).append((paid.currency, share))


async def do_providers(h, model, merchants, number):
    await h.ledger.provider_settler.run_once()
    for paid in model.paid:
        if not paid.provider_settled:
            model.bank[paid.currency] = model.bank.get(paid.currency, 0) + paid.amount
        paid.provider_settled = True
    for currency, amount in model.in_transit.items():    # every refunded payment is settled now: all netted
        model.bank[currency] -= amount
    model.in_transit = {}


async def do_settle(h, model, merchants, number):
    """Today's settlement, once per merchant with anything succeeded: later runs add nothing."""
    expected = {p.merchant for p in model.paid} - set(model.settled)
    run = await h.ledger.settlements.settle_day(today(), livemode=False, today=tomorrow())
    assert {merchants.index(s.merchant_id) for s in run.created} == expected
    for merchant in expected:
        model.settled[merchant] = [p for p in model.paid if p.merchant == merchant]
        payable: dict[str, int] = {}
        for p in model.settled[merchant]:
            payable[p.currency] = payable.get(p.currency, 0) + p.net
        for currency, share in model.refunds.get(merchant, []):
            payable[currency] = payable.get(currency, 0) - share
        model.payable[merchant] = payable


async def do_payout(h, model, merchants, number):
    for settlement in await h.ledger.settlements.store.settlements_for_day(False, today().isoformat()):
        merchant = merchants.index(settlement.merchant_id)
        funded = all(p.provider_settled for p in model.settled[merchant])
        covered = all(model.available(merchant, c) >= amount for c, amount in model.payable[merchant].items())
        try:
            await h.ledger.settlements.pay(settlement.id)
        except Conflict as exc:
            expected = ("settlement_paid" if merchant in model.paid_out else "funds_pending" if not funded
                        else "insufficient_available")
            assert exc.code == expected and (expected != "insufficient_available" or not covered)
            continue
        assert funded and covered and merchant not in model.paid_out
        model.paid_out.add(merchant)
        model.paid_amounts[merchant] = dict(model.payable[merchant])


STEPS = {"pay": do_pay, "plan": do_plan, "refund": do_refund, "providers": do_providers, "settle": do_settle,
         "payout": do_payout}


async def check_against_model(h, model, merchants) -> None:
    report = await invariants.check(h.store)
    assert report.problems == []
    for merchant, merchant_id in enumerate(merchants):
        balance = await h.ledger.balance(merchant_id, False)
        for currency in ("RUB", "USD"):
            shown = {b: next((a["amount"] for a in balance[b] if a["currency"] == currency), 0)
                     for b in ("pending", "available")}
            assert shown == {"pending": model.pending(merchant, currency),
                             "available": model.available(merchant, currency)}, (merchant, currency)
    for currency, fees in model.fees.items():
        figures = report.figures["by_currency"][f"test {currency}"]
        assert figures.get("fee_revenue", 0) == fees
        assert figures.get("refunds_in_transit", 0) == model.in_transit.get(currency, 0)
        assert figures.get("bank", 0) == model.bank.get(currency, 0)


@settings(max_examples=200)
@given(steps=actions)
def test_any_sequence_keeps_the_books_balanced_and_matching_the_payments(steps):
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(scenario(Path(folder) / "kopek.db", steps))
