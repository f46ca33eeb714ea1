"""Webhooks survive crashes: Kopek as a real process, killed with SIGKILL while events wait for
a receiver that is down, and again while attempts are in flight. After the restarts every event
arrives at least once, and a repeat carries the same webhook-id and the same body.

Also the CLI: `kopek webhook create | list`.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections import defaultdict

import aiohttp
import pytest
from aiohttp import web

from kopek.providers.registry import PLUGINS
from processes import KopekProcess, create_merchant, free_port, http_json, kopek_env, run_cli
from shopper import Shopper
from webhook_receiver import Receiver, delivery_figures, record_figures, slow, status

DEFAULT_TYPES = {"payment.requires_confirmation", "payment.processing", "payment.succeeded"}
PAYMENTS = 4


async def start_receiver(receiver: Receiver, port: int) -> web.AppRunner:
    runner = web.AppRunner(receiver.app(), shutdown_timeout=0.5)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


def db_rows(db, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


@pytest.mark.timeout(180)
async def test_events_waiting_for_a_receiver_survive_kill_9_and_arrive_once_it_is_back(tmp_path):
    db, port, receiver_port = tmp_path / "kopek.db", free_port(), free_port()
    env = kopek_env({"KOPEK_WEBHOOK_RETRY_SCALE": "0.0002", "KOPEK_WEBHOOK_TIMEOUT_S": "5"})
    merchant = create_merchant(db, "Restart shop", "https://shop.example")
    auth = {"Authorization": f"Bearer {merchant['secret_key']}"}
    kopek = KopekProcess(db, port, env=env)
    receiver, runner = Receiver(), None
    try:
        code, endpoint = http_json("POST", f"{kopek.base_url}/v1/webhook_endpoints",
                                     {"url": f"http://127.0.0.1:{receiver_port}/hooks"}, auth)
        assert code == 201, endpoint
        # 1. Shoppers pay while the shop's receiver is down; Kopek dies right after the last success.
        async with aiohttp.ClientSession() as http:
            shopper = Shopper(http, kopek.base_url, f"{kopek.base_url}/sandbox/phone.json", deadline_s=60)
            payments = [await create_payment(http, kopek.base_url, auth, f"WR-{n}") for n in range(PAYMENTS)]
            details = PLUGINS["webmoney"].example_details(PLUGINS["webmoney"].example_account("01"))
            trips = await asyncio.gather(*(shopper.pay(p, "webmoney", details) for p in payments))
        kopek.kill()
        assert [t.final for t in trips] == ["succeeded"] * PAYMENTS, [(t.final, t.errors) for t in trips]
        at_first_kill = {
            "undispatched_outbox_rows": db_rows(db, "SELECT COUNT(*) FROM outbox WHERE dispatched_at IS NULL")[0][0],
            "failed_attempts_while_down": db_rows(db, "SELECT COUNT(*) FROM webhook_attempts")[0][0]}

        # 2. The receiver is back but slow; Kopek restarts and is killed again mid-attempt.
        receiver.default = slow(1.5)
        runner = await start_receiver(receiver, receiver_port)
        kopek = KopekProcess(db, port, env=env)
        await receiver.wait_count(1, timeout_s=30)
        kopek.kill()
        in_flight_at_second_kill = len(receiver.received)

        # 3. A normal receiver and a normal restart: everything arrives.
        receiver.default = status(200)
        kopek = KopekProcess(db, port, env=env)
        expected = {row[0] for row in db_rows(
            db, "SELECT id FROM payment_events WHERE type IN ('payment.requires_confirmation', "
                "'payment.processing', 'payment.succeeded')")}
        assert len(expected) == 3 * PAYMENTS
        await receiver.wait_for(lambda got: expected <= {r.webhook_id for r in got}, timeout_s=60)
        await wait_all_succeeded(db)
    finally:
        kopek.stop()
        if runner is not None:
            await runner.cleanup()

    by_id: dict[str, list] = defaultdict(list)
    for received in receiver.received:
        by_id[received.webhook_id].append(received)
        assert received.verify(endpoint["secret"])["type"] in DEFAULT_TYPES
    assert set(by_id) == expected                                     # nothing else, nothing missing
    assert all(len({r.body for r in copies}) == 1 for copies in by_id.values())   # a repeat is the same event
    cut_off = receiver.received[:in_flight_at_second_kill]   # Kopek died before their answers came
    assert all(len(by_id[r.webhook_id]) >= 2 for r in cut_off)      # so they were sent again, same id
    per_payment = defaultdict(set)
    for received in receiver.received:
        payload = received.payload
        per_payment[payload["data"]["object"]["id"]].add((payload["data"]["seq"], payload["type"]))
    assert all(seen == {(2, "payment.requires_confirmation"), (3, "payment.processing"), (4, "payment.succeeded")}
               for seen in per_payment.values()) and len(per_payment) == PAYMENTS
    assert db_rows(db, "SELECT COUNT(*), COUNT(DISTINCT event_id) FROM webhook_deliveries") == [(12, 12)]
    attempts = db_rows(db, "SELECT COUNT(*) FROM webhook_attempts")[0][0]
    record_figures("restart_kill_9", {**delivery_figures(receiver.received), **at_first_kill,
                                      "requests_in_flight_at_second_kill": in_flight_at_second_kill,
                                      "recorded_attempts": attempts, "recorded_retries": attempts - 12})


async def create_payment(http: aiohttp.ClientSession, base_url: str, auth: dict, order_id: str) -> dict:
    async with http.post(f"{base_url}/v1/payments", json={"amount": 500, "currency": "RUB", "order_id": order_id},
                         headers=auth) as response:
        assert response.status == 201
        return await response.json()


async def wait_all_succeeded(db, timeout_s: float = 20) -> None:
    """The receiver got everything; Kopek records the last answers a moment later."""
    for _ in range(int(timeout_s / 0.1)):
        if db_rows(db, "SELECT DISTINCT status FROM webhook_deliveries") == [("succeeded",)]:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(db_rows(db, "SELECT status, COUNT(*) FROM webhook_deliveries GROUP BY status"))


def test_cli_creates_an_endpoint_printing_its_secret_once_and_lists_without_it(tmp_path):
    db = tmp_path / "kopek.db"
    merchant = create_merchant(db, "CLI shop")
    done = run_cli("webhook", "create", "--merchant", merchant["id"], "--url", "http://127.0.0.1:9/hooks",
                   "--event", "payment.succeeded", "--event", "payment.failed", "--json", db=db)
    assert done.returncode == 0, done.stderr
    created = json.loads(done.stdout)
    assert created["id"].startswith("we_") and created["secret"].startswith("whsec_")
    assert created["events"] == ["payment.succeeded", "payment.failed"]
    plain = run_cli("webhook", "create", "--merchant", merchant["id"], "--url", "https://127.0.0.1/h", db=db)
    assert plain.returncode == 0 and "whsec_" in plain.stdout and "shown once" in plain.stdout

    listed = run_cli("webhook", "list", "--merchant", merchant["id"], "--json", db=db)
    assert listed.returncode == 0 and "whsec_" not in listed.stdout
    assert [e["url"] for e in json.loads(listed.stdout)] == ["http://127.0.0.1:9/hooks", "https://127.0.0.1/h"]
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("kopek.db"))
    assert created["secret"].encode() not in raw and created["secret"][6:].encode() not in raw


@pytest.mark.parametrize(("args", "message"), [
    (["--url", "ftp://x/"], "http"),
    (["--url", "https://shop.example/", "--event", "payment.nope"], "events"),
    (["--url", "http://localhost/", "--live"], "not allowed"),
])
def test_cli_refuses_bad_endpoints(tmp_path, args, message):
    db = tmp_path / "kopek.db"
    merchant = create_merchant(db, "CLI shop")
    mode = ["--mode", "live"] if "--live" in args else []
    args = [a for a in args if a != "--live"]
    done = run_cli(*mode, "webhook", "create", "--merchant", merchant["id"], *args, db=db)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    unknown = run_cli("webhook", "list", "--merchant", "mer_nobody", db=db)
    assert unknown.returncode == 2 and "no such merchant" in unknown.stderr
