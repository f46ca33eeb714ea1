"""The invariant check: it passes after concurrent sandbox payments over all four wallets with the
simulators' faults switched on (the reliability test's scenario, smaller), and after the provider
settlements, the settlement and the payout that follow; and it fails loudly when the books are off."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path

import aiohttp
import pytest

from kopek import keys
from kopek.ledger import accounts, invariants
from kopek.ledger.booking import book_missed, book_on_success
from kopek.ledger.entries import Entry, Posting
from kopek.providers.registry import PLUGINS
from kopek.store.ledger import LedgerStore
from ledger_helpers import finish, pay, today, tomorrow
from shopper import Shopper
from support import LIFTED_GUESS_SETTINGS, make_settings

FAULTS = "latency_ms=0-20,error_rate=0.05,duplicate_callbacks=0.2,out_of_order_callbacks=0.2,bad_signatures=0.1"
ENDINGS = {"01": "succeeded", "02": "failed", "04": "succeeded", "06": "succeeded", "08": "succeeded",
           "10": "succeeded", "03": "failed"}
PER_WALLET_AND_ENDING = 2
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


@pytest.fixture
def kopek_settings(tmp_path, unused_tcp_port):
    return make_settings(tmp_path, unused_tcp_port, sandbox_faults=FAULTS, provider_timeout_s=2.0,
                         reconcile_interval_s=0.05, breaker_open_s=1.0, max_processing_s=3.0,
                         **LIFTED_GUESS_SETTINGS)


async def check(kopek) -> invariants.CheckReport:
    report = await invariants.check(kopek.app[keys.STORE])
    assert report.problems == []
    return report


@pytest.mark.timeout(180)
async def test_every_kopeck_is_accounted_for_after_faulty_payments_over_all_wallets_and_settlement(kopek):
    plan = [(wallet, ending) for wallet in PLUGINS for ending in ENDINGS for _ in range(PER_WALLET_AND_ENDING)]
    payments = [await kopek.create_payment(amount=100 + 37 * n, order_id=f"inv-{n}") for n in range(len(plan))]
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=len(plan))) as http:
        shopper = Shopper(http, kopek.base_url, f"{kopek.base_url}/sandbox/phone.json", deadline_s=90)
        trips = await asyncio.gather(*(
            shopper.pay(payment, wallet, PLUGINS[wallet].example_details(PLUGINS[wallet].example_account(ending)))
            for payment, (wallet, ending) in zip(payments, plan)))
    assert [(t.wallet, t.final) for t in trips] == [(w, ENDINGS[e]) for w, e in plan]
    after_payments = await check(kopek)

    succeeded = [p for p, t in zip(payments, trips) if t.final == "succeeded"]
    store = kopek.app[keys.STORE]
    stored = [await store.get_payment(p["id"]) for p in succeeded]
    gross, fees = sum(p.amount for p in stored), sum(p.fee for p in stored)
    figures = after_payments.figures["by_currency"]["test RUB"]
    assert (figures["payments"], figures["gross"], figures["fees"]) == (len(stored), gross, fees)
    assert (figures["clearing"], figures["pending"], figures["fee_revenue"]) == (gross, gross - fees, fees)

    ledger = kopek.app[keys.LEDGER]
    made = await ledger.provider_settler.run_once()
    assert {s.wallet for s in made} == set(PLUGINS)
    after_providers = await check(kopek)
    [settlement] = (await ledger.settlements.settle_day(today(), livemode=False, today=tomorrow())).created
    report = await ledger.settlements.report(settlement)
    assert {t.wallet for t in report.totals} == set(PLUGINS)              # one report for all wallets
    assert report.net_payable == {"RUB": gross - fees}
    await ledger.settlements.pay(settlement.id)
    after_payout = await check(kopek)
    assert after_payout.figures["by_currency"]["test RUB"] == {
        "payments": len(stored), "gross": gross, "fees": fees, "net": gross - fees, "clearing": 0, "pending": 0,
        "available": 0, "bank": gross, "fee_revenue": fees, "paid_out": gross - fees}
    write_figures(trips, kopek, {"after_payments": after_payments.figures,
                                 "after_provider_settlements": after_providers.figures,
                                 "after_settlement_and_payout": after_payout.figures})


def write_figures(trips, kopek, checks: dict) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "ledger_check.json").write_text(json.dumps({
        "payments": len(trips), "outcomes": dict(Counter(t.final for t in trips)),
        "faults_injected": dict(kopek.app[keys.SANDBOX_FAULTS].injected), "ledger_checks": checks}, indent=2))


# -- the check fails when the books are off ------------------------------------------------------

async def test_a_payment_made_to_succeed_behind_the_services_back_is_reported(kopek):
    payment = await kopek.create_payment(amount=500, order_id="BAD-1")
    async with kopek.app[keys.STORE]._transaction() as db:
        await db.execute("UPDATE payments SET status='succeeded', wallet='webmoney' WHERE id=?", (payment["id"],))
    report = await invariants.check(kopek.app[keys.STORE])
    assert not report.ok
    assert f"payment {payment['id']} succeeded without a fee" in report.problems
    assert f"payment {payment['id']} succeeded without a ledger transaction" in report.problems


async def test_a_balanced_but_wrong_transaction_is_reported_by_account(kopek):
    service = kopek.app[keys.PAYMENTS]
    merchant = kopek.merchant.merchant.id
    await pay(service, merchant, 1_000, "webmoney", "BAD-2")
    pending = accounts.merchant(merchant, "RUB", accounts.PENDING)
    stolen = Entry("correction", "test", "1", None, False, (Posting(pending, "RUB", 100),
                                                              Posting(accounts.fee_revenue("RUB"), "RUB", -100)))
    await LedgerStore(kopek.app[keys.STORE]).book(stolen)
    report = await invariants.check(kopek.app[keys.STORE])
    assert f"test account {pending} holds -885 but the records say -985" in report.problems
    assert "test account kopek:RUB:fee_revenue holds -115 but the records say -15" in report.problems
    assert any("pending + available + paid out = 885, but its succeeded payments net 985" in p
               for p in report.problems)


async def test_a_payment_that_succeeded_before_the_ledger_existed_is_booked_at_start(kopek):
    """An older database: the success was written without the hook; the next start books it."""
    store = kopek.app[keys.STORE]
    payment = await kopek.create_payment(amount=100, order_id="OLD-1")
    store.change_hooks.remove(book_on_success)
    try:
        await finish(kopek.app[keys.PAYMENTS], await store.get_payment(payment["id"]), "webmoney")
    finally:
        store.change_hooks.append(book_on_success)
    assert not (await invariants.check(store)).ok
    assert await book_missed(LedgerStore(store)) == 1
    assert (await store.get_payment(payment["id"])).fee == 2
    assert (await invariants.check(store)).ok
    assert await book_missed(LedgerStore(store)) == 0
