"""Many concurrent sandbox payments over every wallet, with the simulators' faults switched on.

Every payment must end where its magic wallet says, none may succeed twice, and every
payment's event stream must be gapless. The figures land in artifacts/reliability.json.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path

import aiohttp
import pytest

from kopek import keys
from kopek.ledger import invariants
from kopek.providers.registry import PLUGINS
from shopper import Shopper
from support import LIFTED_GUESS_SETTINGS, make_settings

PAYMENTS = 200
FAULTS = "latency_ms=0-20,error_rate=0.05,duplicate_callbacks=0.2,out_of_order_callbacks=0.2,bad_signatures=0.1"
EXPECTED = {"01": "succeeded", "02": "failed", "03": "failed", "04": "succeeded", "05": "failed",
            "06": "succeeded", "08": "succeeded", "09": "failed", "10": "succeeded", "11": "expired"}
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


@pytest.fixture
def kopek_settings(tmp_path, unused_tcp_port):
    return make_settings(tmp_path, unused_tcp_port, sandbox_faults=FAULTS, provider_timeout_s=2.0,
                         reconcile_interval_s=0.05, breaker_open_s=1.0, max_processing_s=3.0, **LIFTED_GUESS_SETTINGS)


def plan() -> list[tuple[str, str]]:
    wallets, endings = list(PLUGINS), list(EXPECTED)
    return [(wallets[i % len(wallets)], endings[(i // len(wallets)) % len(endings)]) for i in range(PAYMENTS)]


async def expire_never_answering(kopek, payments: list[dict], delay_s: float) -> None:
    """Time passes for the payments whose provider never answers: their deadline arrives."""
    await asyncio.sleep(delay_s)
    async with kopek.app[keys.STORE]._transaction() as db:
        await db.executemany("UPDATE payments SET expires_at='2000-01-01T00:00:00.000000Z' WHERE id=?",
                             [(p["id"],) for p in payments])


@pytest.mark.timeout(300)
async def test_two_hundred_concurrent_payments_with_faults_end_where_they_should(kopek):
    trips_planned = plan()
    payments = [await kopek.create_payment(order_id=f"rel-{i}") for i in range(PAYMENTS)]
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=PAYMENTS)) as http:
        shopper = Shopper(http, kopek.base_url, f"{kopek.base_url}/sandbox/phone.json", deadline_s=120)
        jobs = [shopper.pay(payment, wallet, PLUGINS[wallet].example_details(PLUGINS[wallet].example_account(ending)))
                for payment, (wallet, ending) in zip(payments, trips_planned)]
        never = [p for p, (_, ending) in zip(payments, trips_planned) if ending == "11"]
        trips, _ = await asyncio.gather(asyncio.gather(*jobs), expire_never_answering(kopek, never, 5.0))

    wrong = [(t.wallet, t.account, t.final, EXPECTED[ending], t.errors)
             for t, (_, ending) in zip(trips, trips_planned) if t.final != EXPECTED[ending] or t.errors]
    assert wrong == []
    await assert_store_invariants(kopek, payments)
    ledger = await invariants.check(kopek.app[keys.STORE])
    assert ledger.problems == []
    injected = dict(kopek.app[keys.SANDBOX_FAULTS].injected)
    assert all(injected[name] > 0 for name in ("error_rate", "duplicate_callbacks", "out_of_order_callbacks",
                                               "bad_signatures")), injected
    write_figures(trips, injected, await kopek.app[keys.STORE].callbacks_summary(), ledger.figures)


async def assert_store_invariants(kopek, payments: list[dict]) -> None:
    store = kopek.app[keys.STORE]
    for payment in payments:
        events = await store.events(payment["id"], 0, 1000)
        assert [e.seq for e in events] == list(range(1, len(events) + 1)), payment["id"]
        assert sum(e.type == "payment.succeeded" for e in events) <= 1
    rows = await store._fetchall("SELECT payment_id, COUNT(*) FROM attempts WHERE status='succeeded' "
                                 "GROUP BY payment_id HAVING COUNT(*) > 1")
    assert rows == [], "a payment succeeded twice"
    flagged = await store._fetchall("SELECT id, needs_review FROM attempts WHERE needs_review IS NOT NULL")
    assert flagged == []


def write_figures(trips, injected: dict[str, int], callbacks: dict[str, int], ledger: dict) -> None:
    figures = {
        "payments": len(trips),
        "outcomes": dict(Counter(t.final for t in trips)),
        "by_wallet": {w: dict(Counter(t.final for t in trips if t.wallet == w)) for w in PLUGINS},
        "attempts": sum(t.attempts for t in trips),
        "requests_retried_by_shoppers": sum(t.retried_requests for t in trips),
        "faults_injected": injected,
        "callbacks_received": callbacks,
        "ledger_check": ledger,
    }
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "reliability.json").write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures))
