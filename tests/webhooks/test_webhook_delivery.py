"""Deliveries to a real receiver: payment events over the sandbox, retries, 410, Retry-After,
timeouts, redirects, huge answers, rotation, the delivery log and redelivery."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import pytest
import standardwebhooks

from kopek import keys
from support import SUCCEEDS, attempt, confirm, wait_for_status
from webhook_receiver import Receiver, delivery_figures, endless_body, record_figures, slow, status

BASE = "/v1/webhook_endpoints"


async def add_endpoint(kopek, url: str, **body: Any) -> dict[str, Any]:
    response = await kopek.client.post(BASE, json={"url": url, **body}, headers=kopek.auth())
    assert response.status == 201, await response.text()
    return await response.json()


async def deliveries(kopek, endpoint: dict[str, Any], **query: Any) -> dict[str, Any]:
    response = await kopek.client.get(f"{BASE}/{endpoint['id']}/deliveries", params=query, headers=kopek.auth())
    assert response.status == 200
    return await response.json()


async def wait_delivery(kopek, endpoint: dict[str, Any], check, timeout_s: float = 15.0) -> dict[str, Any]:
    """The newest delivery, once `check(delivery)` holds."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        data = (await deliveries(kopek, endpoint))["data"]
        if data and check(data[0]):
            return data[0]
        assert asyncio.get_running_loop().time() < deadline, f"delivery never got there: {data[:1]}"
        await asyncio.sleep(0.05)


async def pay(kopek, order_id: str) -> dict[str, Any]:
    payment = await kopek.create_payment(order_id=order_id)
    started = await attempt(kopek, payment, SUCCEEDS)
    assert started.status == 200, await started.text()
    confirmed = await confirm(kopek, payment, await kopek.phone_code(payment["id"]))
    assert confirmed.status == 200, await confirmed.text()
    assert (await wait_for_status(kopek, payment, "succeeded"))["status"] == "succeeded"
    return payment


def db_rows(kopek, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(kopek.app[keys.SETTINGS].db_path) as db:
        return db.execute(sql, params).fetchall()


async def test_a_paid_payment_delivers_its_events_signed_and_in_seq_order(kopek, aiohttp_server):
    receiver = Receiver()
    endpoint = await add_endpoint(kopek, await receiver.start(aiohttp_server))
    payments = [await pay(kopek, f"WH-{n}") for n in range(3)]
    await receiver.wait_count(9)
    await asyncio.sleep(0.3)  # nothing more may come: payment.created is not subscribed to by default
    assert len(receiver.received) == 9
    for payment in payments:
        got = [r for r in receiver.received if r.payload["data"]["object"]["id"] == payment["id"]]
        verified = [r.verify(endpoint["secret"]) for r in got]
        assert [v["type"] for v in verified] == [
            "payment.requires_confirmation", "payment.processing", "payment.succeeded"]
        assert [v["data"]["seq"] for v in verified] == [2, 3, 4]
        assert [v["data"]["object"]["status"] for v in verified] == ["requires_confirmation", "processing",
                                                                      "succeeded"]
        events = await (await kopek.client.get(f"/v1/payments/{payment['id']}/events", headers=kopek.auth())).json()
        assert [r.webhook_id for r in got] == [e["id"] for e in events["data"][1:]]
        assert all(v["id"] == r.webhook_id for v, r in zip(verified, got))
        assert "client_secret" not in verified[-1]["data"]["object"]
    log = await deliveries(kopek, endpoint, limit=100)
    assert len(log["data"]) == 9 and {d["status"] for d in log["data"]} == {"succeeded"}
    assert all(d["attempt_count"] == 1 and d["attempts"][0]["http_status"] == 200 for d in log["data"])
    record_figures("sandbox_payments", {**delivery_figures(receiver.received), "payments": len(payments)})


async def test_opt_in_events_go_only_to_endpoints_that_ask(kopek, aiohttp_server):
    everything, default = Receiver(), Receiver()
    await add_endpoint(kopek, await everything.start(aiohttp_server), events=["payment.created"])
    await add_endpoint(kopek, await default.start(aiohttp_server))
    payment = await kopek.create_payment(order_id="OPT-1")
    got = await everything.wait_count(1)
    assert got[0].payload["type"] == "payment.created" and got[0].payload["data"]["seq"] == 1
    await kopek.client.post(f"/v1/payments/{payment['id']}/cancel", headers=kopek.auth())
    canceled = await default.wait_count(1)
    assert [r.payload["type"] for r in canceled] == ["payment.canceled"]
    await asyncio.sleep(0.3)
    assert len(everything.received) == 1   # it did not subscribe to payment.canceled


async def test_a_500_then_200_is_retried_with_the_same_webhook_id(kopek, aiohttp_server):
    receiver = Receiver(script=[status(500, b"oops"), status(500)])
    endpoint = await add_endpoint(kopek, await receiver.start(aiohttp_server), events=["payment.created"])
    await kopek.create_payment(order_id="R-1")
    got = await receiver.wait_count(3)
    assert len({r.webhook_id for r in got}) == 1 and len({r.body for r in got}) == 1
    assert len({r.headers["webhook-timestamp"] for r in got}) >= 1
    for r in got:
        r.verify(endpoint["secret"])
    delivery = await wait_delivery(kopek, endpoint, lambda d: d["status"] == "succeeded")
    assert [a["http_status"] for a in delivery["attempts"]] == [200, 500, 500]   # newest first
    assert delivery["attempts"][-1]["response_excerpt"] == "oops" and delivery["attempt_count"] == 3
    assert got[1].at - got[0].at < 1.0    # the compressed schedule (5 s x 0.001), not a Retry-After
    record_figures("retry_500", delivery_figures(got))


async def test_a_410_disables_the_endpoint_and_abandons_what_was_open(kopek, aiohttp_server):
    receiver = Receiver(script=[status(503, headers={"Retry-After": "60"}), status(410, b"gone")])
    endpoint = await add_endpoint(kopek, await receiver.start(aiohttp_server), events=["payment.created"])
    await kopek.create_payment(order_id="G-1")
    await receiver.wait_count(1)
    first = await wait_delivery(kopek, endpoint, lambda d: d["status"] == "failed")   # retry due in 60 s
    await kopek.create_payment(order_id="G-2")
    await receiver.wait_count(2)
    current = await wait_delivery(kopek, endpoint, lambda d: d["status"] == "abandoned")
    assert current["attempts"][0]["http_status"] == 410
    shown = await (await kopek.client.get(f"{BASE}/{endpoint['id']}", headers=kopek.auth())).json()
    assert shown["status"] == "disabled" and "410" in shown["disabled_reason"]
    log = {d["id"]: d for d in (await deliveries(kopek, endpoint))["data"]}
    assert log[first["id"]]["status"] == "abandoned" and log[first["id"]]["next_attempt_at"] is None
    await kopek.create_payment(order_id="G-3")
    await asyncio.sleep(0.5)
    assert len(receiver.received) == 2 and len((await deliveries(kopek, endpoint))["data"]) == 2


async def test_retry_after_is_honoured_when_later_than_the_schedule(kopek, aiohttp_server):
    receiver = Receiver(script=[status(503, headers={"Retry-After": "2"})])
    endpoint = await add_endpoint(kopek, await receiver.start(aiohttp_server), events=["payment.created"])
    await kopek.create_payment(order_id="RA-1")
    got = await receiver.wait_count(2)
    assert got[1].at - got[0].at >= 1.9     # the schedule alone would have waited 5 ms
    assert got[0].webhook_id == got[1].webhook_id
    await wait_delivery(kopek, endpoint, lambda d: d["status"] == "succeeded")


async def test_a_slow_receiver_times_out_and_is_retried(kopek, aiohttp_server):
    receiver = Receiver(script=[slow(3.0)])   # the timeout is 1 s
    endpoint = await add_endpoint(kopek, await receiver.start(aiohttp_server), events=["payment.created"])
    await kopek.create_payment(order_id="T-1")
    delivery = await wait_delivery(kopek, endpoint, lambda d: d["status"] == "succeeded")
    timed_out = delivery["attempts"][-1]
    assert timed_out["http_status"] is None and "timed out" in timed_out["error"]
    assert 900 <= timed_out["duration_ms"] < 2500
    assert delivery["attempts"][0]["http_status"] == 200
    assert len({r.webhook_id for r in receiver.received}) == 1 and len(receiver.received) == 2


async def test_one_slow_receiver_does_not_hold_up_another(kopek, aiohttp_server):
    stuck, quick = Receiver(default=slow(3.0)), Receiver()
    stuck_endpoint = await add_endpoint(kopek, await stuck.start(aiohttp_server), events=["payment.created"])
    await add_endpoint(kopek, await quick.start(aiohttp_server), events=["payment.created"])
    for n in range(5):
        await kopek.create_payment(order_id=f"S-{n}")
    await quick.wait_count(5, timeout_s=0.9)   # before the stuck receiver's first timeout (1 s)
    assert len(stuck.received) == 2            # at most two in flight per endpoint
    log = (await deliveries(kopek, stuck_endpoint))["data"]
    assert len(log) == 5 and all(d["attempt_count"] == 0 for d in log)


async def test_a_redirect_is_not_followed(kopek, aiohttp_server):
    receiver = Receiver()
    url = await receiver.start(aiohttp_server)
    receiver.script = [status(302, headers={"Location": url.replace("/hooks", "/elsewhere")})]
    endpoint = await add_endpoint(kopek, url, events=["payment.created"])
    await kopek.create_payment(order_id="RD-1")
    delivery = await wait_delivery(kopek, endpoint, lambda d: d["status"] == "succeeded")
    redirected = delivery["attempts"][-1]
    assert redirected["http_status"] == 302 and "not followed" in redirected["error"]
    assert [r.path for r in receiver.received] == ["/hooks", "/hooks"]


async def test_a_proxy_from_the_environment_is_not_used(kopek, aiohttp_server, inward_listener, monkeypatch):
    """A proxy would carry the delivery to an address the guard never saw."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{inward_listener.port}")
    receiver = Receiver()
    endpoint = await add_endpoint(kopek, await receiver.start(aiohttp_server), events=["payment.created"])
    await kopek.create_payment(order_id="PX-1")
    await wait_delivery(kopek, endpoint, lambda d: d["status"] == "succeeded")
    assert len(receiver.received) == 1 and inward_listener.connections == 0


async def test_an_endless_answer_is_cut_off_and_counts_as_delivered(kopek, aiohttp_server):
    receiver = Receiver(script=[endless_body()])
    endpoint = await add_endpoint(kopek, await receiver.start(aiohttp_server), events=["payment.created"])
    await kopek.create_payment(order_id="HB-1")
    delivery = await wait_delivery(kopek, endpoint, lambda d: d["status"] == "succeeded")
    only = delivery["attempts"]
    assert len(only) == 1 and only[0]["http_status"] == 200 and only[0]["error"] is None
    assert only[0]["duration_ms"] < 900        # it stopped reading at 64 KB; it did not wait for the timeout
    assert 0 < len(only[0]["response_excerpt"].encode()) <= 1024
    stored = db_rows(kopek, "SELECT length(CAST(response_excerpt AS BLOB)) FROM webhook_attempts")
    assert stored == [(1024,)]


async def test_rotation_signs_with_both_secrets_during_the_overlap(kopek, aiohttp_server):
    receiver = Receiver()
    endpoint = await add_endpoint(kopek, await receiver.start(aiohttp_server))
    old = endpoint["secret"]
    rotated = await (await kopek.client.post(f"{BASE}/{endpoint['id']}/rotate_secret", json={"overlap_s": 600},
                                             headers=kopek.auth())).json()
    new = rotated["secret"]
    assert (await kopek.client.post(f"{BASE}/{endpoint['id']}/test", headers=kopek.auth())).status == 202
    got = (await receiver.wait_count(1))[0]
    assert len(got.signatures) == 2 and all(s.startswith("v1,") for s in got.signatures)
    assert got.verify(old)["type"] == "webhook.test" and got.verify(new)["type"] == "webhook.test"
    for secret, signature in zip((new, old), got.signatures):   # each signature is its own secret's
        alone = {**got.headers, "webhook-signature": signature}
        standardwebhooks.Webhook(secret).verify(got.body, alone)
        with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
            standardwebhooks.Webhook(old if secret == new else new).verify(got.body, alone)

    latest = (await (await kopek.client.post(f"{BASE}/{endpoint['id']}/rotate_secret", json={"overlap_s": 0},
                                             headers=kopek.auth())).json())["secret"]
    await kopek.client.post(f"{BASE}/{endpoint['id']}/test", headers=kopek.auth())
    after = (await receiver.wait_count(2))[1]
    assert len(after.signatures) == 1 and after.verify(latest)
    for stale in (old, new):
        with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
            after.verify(stale)


async def test_delivery_log_pages_newest_first_and_redeliver_sends_the_same_event_again(kopek, aiohttp_server):
    receiver = Receiver()
    endpoint = await add_endpoint(kopek, await receiver.start(aiohttp_server), events=["payment.created"])
    for n in range(3):
        await kopek.create_payment(order_id=f"L-{n}")
        await receiver.wait_count(n + 1)
    await wait_delivery(kopek, endpoint, lambda d: d["status"] == "succeeded")
    first_page = await deliveries(kopek, endpoint, limit=2)
    assert len(first_page["data"]) == 2 and first_page["has_more"] is True
    rest = await deliveries(kopek, endpoint, limit=2, starting_after=first_page["data"][-1]["id"])
    assert len(rest["data"]) == 1 and rest["has_more"] is False
    ordered = first_page["data"] + rest["data"]
    assert [d["event_id"] for d in ordered] == [r.webhook_id for r in reversed(receiver.received)]
    oldest = ordered[-1]
    assert oldest["payload"]["type"] == "payment.created" and oldest["attempts"][0]["duration_ms"] >= 0

    response = await kopek.client.post(f"{BASE}/{endpoint['id']}/deliveries/{oldest['id']}/redeliver",
                                       headers=kopek.auth())
    assert response.status == 202 and (await response.json())["status"] == "pending"
    again = (await receiver.wait_count(4))[3]
    assert again.webhook_id == oldest["event_id"] and again.body == receiver.received[0].body
    again.verify(endpoint["secret"])
    log = {d["id"]: d for d in (await deliveries(kopek, endpoint))["data"]}
    for _ in range(40):
        if log[oldest["id"]]["attempt_count"] == 2:
            break
        await asyncio.sleep(0.05)
        log = {d["id"]: d for d in (await deliveries(kopek, endpoint))["data"]}
    assert log[oldest["id"]]["attempt_count"] == 2 and log[oldest["id"]]["status"] == "succeeded"
    record_figures("redeliver", delivery_figures(receiver.received))


async def test_the_test_event_reaches_the_endpoint(kopek, aiohttp_server):
    receiver = Receiver()
    endpoint = await add_endpoint(kopek, await receiver.start(aiohttp_server), events=["payment.failed"])
    response = await kopek.client.post(f"{BASE}/{endpoint['id']}/test", headers=kopek.auth())
    queued = await response.json()
    assert response.status == 202 and queued["event_type"] == "webhook.test" and queued["status"] == "pending"
    event = (await receiver.wait_count(1))[0].verify(endpoint["secret"])
    assert event["type"] == "webhook.test" and event["id"] == queued["event_id"]
    assert event["data"]["object"]["id"] == endpoint["id"]


@pytest.mark.webhook_settings(webhook_retry_scale=0.00001)
async def test_a_receiver_that_never_answers_2xx_is_abandoned_after_ten_attempts(kopek, aiohttp_server):
    receiver = Receiver(default=status(500))
    endpoint = await add_endpoint(kopek, await receiver.start(aiohttp_server), events=["payment.created"])
    await kopek.create_payment(order_id="AB-1")
    delivery = await wait_delivery(kopek, endpoint, lambda d: d["status"] == "abandoned", timeout_s=30)
    assert delivery["attempt_count"] == 10 and delivery["next_attempt_at"] is None
    assert len(receiver.received) == 10 and len({r.webhook_id for r in receiver.received}) == 1
    shown = await (await kopek.client.get(f"{BASE}/{endpoint['id']}", headers=kopek.auth())).json()
    assert shown["status"] == "enabled"   # only a 410 disables an endpoint
    record_figures("abandoned_after_schedule", {**delivery_figures(receiver.received),
                                                "retries": len(receiver.received) - 1})


async def test_deleting_an_endpoint_stops_its_deliveries(kopek, aiohttp_server):
    receiver = Receiver(default=status(503, headers={"Retry-After": "1"}))
    endpoint = await add_endpoint(kopek, await receiver.start(aiohttp_server), events=["payment.created"])
    await kopek.create_payment(order_id="D-1")
    await receiver.wait_count(1)
    await kopek.client.delete(f"{BASE}/{endpoint['id']}", headers=kopek.auth())
    await asyncio.sleep(1.5)
    assert len(receiver.received) == 1
    assert db_rows(kopek, "SELECT status FROM webhook_deliveries") == [("abandoned",)]


async def test_each_outbox_row_becomes_one_delivery_per_endpoint_and_is_marked_dispatched(kopek, aiohttp_server):
    receivers = [Receiver(), Receiver()]
    for receiver in receivers:
        await add_endpoint(kopek, await receiver.start(aiohttp_server), events=["payment.created"])
    for n in range(4):
        await kopek.create_payment(order_id=f"O-{n}")
    for receiver in receivers:
        await receiver.wait_count(4)
    assert db_rows(kopek, "SELECT COUNT(*) FROM outbox WHERE dispatched_at IS NULL") == [(0,)]
    assert db_rows(kopek, "SELECT COUNT(*), COUNT(DISTINCT event_id) FROM webhook_deliveries") == [(8, 4)]
