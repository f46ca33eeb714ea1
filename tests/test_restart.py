"""kill -9 in the middle of payments: after a restart every one still ends where it should.

The wallet providers run as their own process (`kopek simulators`), as real providers do,
so the crash loses only what Kopek itself had not written down.
"""

from __future__ import annotations

import asyncio
import sqlite3

import aiohttp
import pytest

from kopek.providers.registry import PLUGINS
from processes import KopekProcess, create_merchant, free_port, kopek_env
from shopper import Shopper

TIME_SCALE = "0.05"   # the slow wallets take 6 s, so the kill finds them in flight
EXPECTED = {"01": "succeeded", "04": "succeeded", "03": "failed"}
PER_WALLET = 6


@pytest.mark.timeout(240)
async def test_payments_in_flight_survive_a_kill_9(tmp_path):
    simulators = KopekProcess(tmp_path / "providers.db", free_port(), time_scale=TIME_SCALE,
                              command="simulators", ready_path="/sandbox/phone.json")
    providers = {f"KOPEK_PROVIDER_URL_{w.upper()}": f"{simulators.base_url}/sandbox/providers/{w}" for w in PLUGINS}
    env = kopek_env({**providers, "KOPEK_PROVIDER_TIMEOUT_S": "2"})
    db, port = tmp_path / "kopek.db", free_port()
    merchant = create_merchant(db, "Restart shop", "https://shop.example")
    kopek = KopekProcess(db, port, time_scale=TIME_SCALE, env=env)
    try:
        async with aiohttp.ClientSession() as http:
            plan = [(wallet, ending) for wallet in PLUGINS for ending in EXPECTED for _ in range(PER_WALLET // 3)]
            payments = [await create_payment(http, kopek.base_url, merchant["secret_key"], f"rs-{i}")
                        for i in range(len(plan))]
            shopper = Shopper(http, kopek.base_url, f"{simulators.base_url}/sandbox/phone.json", deadline_s=150)
            trips = asyncio.gather(*(shopper.pay(p, w, PLUGINS[w].example_details(PLUGINS[w].example_account(e)))
                                     for p, (w, e) in zip(payments, plan)))
            await asyncio.sleep(2.0)
            in_flight = count_statuses(db)
            kopek.kill()
            await asyncio.sleep(0.5)
            kopek = KopekProcess(db, port, time_scale=TIME_SCALE, env=env)
            results = await trips
        assert in_flight.get("processing", 0) + in_flight.get("requires_confirmation", 0) > 0, in_flight
        wrong = [(t.wallet, t.account, t.final, t.errors) for t, (_, ending) in zip(results, plan)
                 if t.final != EXPECTED[ending] or t.errors]
        assert wrong == []
    finally:
        kopek.stop()
        simulators.stop()
    assert_invariants(db)


async def create_payment(http: aiohttp.ClientSession, base_url: str, secret_key: str, order_id: str) -> dict:
    async with http.post(f"{base_url}/v1/payments", json={"amount": 500, "currency": "RUB", "order_id": order_id},
                         headers={"Authorization": f"Bearer {secret_key}"}) as response:
        assert response.status == 201
        return await response.json()


def count_statuses(db) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT status, COUNT(*) FROM payments GROUP BY status").fetchall())


def assert_invariants(db) -> None:
    with sqlite3.connect(db) as conn:
        for (payment_id,) in conn.execute("SELECT id FROM payments"):
            seqs = [row[0] for row in conn.execute(
                "SELECT seq FROM payment_events WHERE payment_id=? ORDER BY seq", (payment_id,))]
            assert seqs == list(range(1, len(seqs) + 1)), payment_id
        twice = conn.execute("SELECT payment_id FROM payment_events WHERE type='payment.succeeded' "
                             "GROUP BY payment_id HAVING COUNT(*) > 1").fetchall()
        assert twice == []
        assert conn.execute("SELECT COUNT(*) FROM attempts WHERE status='starting'").fetchone()[0] == 0
