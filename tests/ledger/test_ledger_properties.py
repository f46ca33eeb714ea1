"""Property: after any sequence of fee plan changes, payments (succeeded or failed), provider
settlements, settlements and payouts, every transaction balances and every total matches an
independent model of what should have happened, to the kopeck."""

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
from ledger_helpers import finish, harness, today, tomorrow, create_data

ROUTES = [("webmoney", "RUB"), ("webmoney", "USD"), ("yandex_dengi", "RUB"), ("eport", "RUB"), ("eport", "USD"),
          ("kreditpilot", "RUB")]
MERCHANTS = 2

plans = st.builds(lambda bps, fixed, minimum, extra: FeePlan(bps, fixed, minimum,
                                                             None if extra is None else minimum + extra),
                  st.integers(0, 10_000), st.integers(0, 300), st.integers(0, 300), st.none() | st.integers(0, 500))
actions = st.lists(st.one_of(
    st.tuples(st.just("pay"), st.integers(0, MERCHANTS - 1), st.sampled_from(ROUTES),
              st.integers(1, 20_000) | st.integers(1, 5), st.booleans()),
    st.tuples(st.just("plan"), st.integers(0, MERCHANTS - 1), st.sampled_from(sorted(WALLETS)), plans),
    st.just(("providers",)), st.just(("settle",)), st.just(("payout",))), max_size=30)


@dataclass
class Paid:
    merchant: int
    currency: str
    net: int
    provider_settled: bool = False


@dataclass
class Model:
    plans: dict[tuple[int, str], FeePlan] = field(default_factory=dict)
    paid: list[Paid] = field(default_factory=list)
    settled: dict[int, list[Paid]] = field(default_factory=dict)     # today's settlement per merchant
    paid_out: set[int] = field(default_factory=set)
    fees: dict[str, int] = field(default_factory=dict)

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
    model.paid.append(Paid(merchant, currency, amount - fee))
    model.fees[currency] = model.fees.get(currency, 0) + fee


async def do_plan(h, model, merchants, number, merchant, wallet, plan):
    await h.ledger.fee_plans.set(merchants[merchant], wallet, plan)
    model.plans[(merchant, wallet)] = plan


async def do_providers(h, model, merchants, number):
    await h.ledger.provider_settler.run_once()
    for paid in model.paid:
        paid.provider_settled = True


async def do_settle(h, model, merchants, number):
    """Today's settlement, once per merchant with anything succeeded: later runs add nothing."""
    expected = {p.merchant for p in model.paid} - set(model.settled)
    run = await h.ledger.settlements.settle_day(today(), livemode=False, today=tomorrow())
    assert {merchants.index(s.merchant_id) for s in run.created} == expected
    for merchant in expected:
        model.settled[merchant] = [p for p in model.paid if p.merchant == merchant]


async def do_payout(h, model, merchants, number):
    for settlement in await h.ledger.settlements.store.settlements_for_day(False, today().isoformat()):
        merchant = merchants.index(settlement.merchant_id)
        funded = all(p.provider_settled for p in model.settled[merchant])
        try:
            await h.ledger.settlements.pay(settlement.id)
        except Conflict as exc:
            expected = "settlement_paid" if merchant in model.paid_out else "funds_pending"
            assert exc.code == expected
            continue
        assert funded and merchant not in model.paid_out
        model.paid_out.add(merchant)


STEPS = {"pay": do_pay, "plan": do_plan, "providers": do_providers, "settle": do_settle, "payout": do_payout}


async def check_against_model(h, model, merchants) -> None:
    report = await invariants.check(h.store)
    assert report.problems == []
    for merchant, merchant_id in enumerate(merchants):
        balance = await h.ledger.balance(merchant_id, False)
        for currency in ("RUB", "USD"):
            mine = [p for p in model.paid if p.merchant == merchant and p.currency == currency]
            out = sum(p.net for p in model.settled.get(merchant, []) if p.currency == currency
                      ) if merchant in model.paid_out else 0
            pending = sum(p.net for p in mine if not p.provider_settled)
            available = sum(p.net for p in mine if p.provider_settled) - out
            shown = {b: next((a["amount"] for a in balance[b] if a["currency"] == currency), 0)
                     for b in ("pending", "available")}
            assert shown == {"pending": pending, "available": available}, (merchant, currency)
    for currency, fees in model.fees.items():
        assert report.figures["by_currency"][f"test {currency}"].get("fee_revenue", 0) == fees


@settings(max_examples=100)
@given(steps=actions)
def test_any_sequence_keeps_the_books_balanced_and_matching_the_payments(steps):
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(scenario(Path(folder) / "kopek.db", steps))
