"""The live payment list: the websocket behind /dashboard/payments, and the hub's merchant topic."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from kopek.live.hub import LiveHub
from kopek.store.records import Event
from support import SUCCEEDS, attempt, confirm

LIVE = "/dashboard/payments/live"


async def open_live(kopek: Any, visitor: Any, origin: str | None = None) -> aiohttp.ClientWebSocketResponse:
    return await visitor.http.ws_connect(f"{kopek.base_url}{LIVE}", origin=origin or kopek.base_url)


async def create(kopek: Any, owner: Any, order_id: str, amount: int = 500) -> dict[str, Any]:
    response = await kopek.client.post("/v1/payments", json={"amount": amount, "currency": "RUB", "order_id": order_id},
                                       headers={"Authorization": f"Bearer {owner.keys['sk-test']}"})
    assert response.status == 201
    return await response.json()


async def test_the_owner_sees_each_change_of_their_payments(kopek, owner) -> None:
    ws = await open_live(kopek, owner)
    await kopek.create_payment(order_id="another-shop")            # not this merchant's: never sent
    payment = await create(kopek, owner, "live-1", 1234)
    created = await ws.receive_json(timeout=5)
    assert created["id"] == payment["id"] and created["new"] is True
    assert {k: created[k] for k in ("status", "status_label", "amount_display", "wallet", "order_id")} == {
        "status": "requires_wallet", "status_label": "Waiting for a wallet", "amount_display": "12.34 RUB",
        "wallet": None, "order_id": "live-1"}
    assert created["created_at_display"].endswith(" UTC") and created["updated"].endswith(" UTC")

    await attempt(kopek, payment, SUCCEEDS)
    await confirm(kopek, payment, await kopek.phone_code(payment["id"]))
    seen = [await ws.receive_json(timeout=5) for _ in range(3)]
    assert [(m["id"], m["status"], m["new"]) for m in seen] == [
        (payment["id"], "requires_confirmation", False), (payment["id"], "processing", False),
        (payment["id"], "succeeded", False)]
    assert seen[-1]["wallet"] == "webmoney" and seen[-1]["wallet_display"] == "WebMoney"
    with pytest.raises(asyncio.TimeoutError):
        await ws.receive_json(timeout=0.3)
    await ws.close()


async def test_a_viewer_gets_the_same_rows_in_their_language(kopek, owner, viewer) -> None:
    await viewer.get("/dashboard/payments", locale="ru")
    ws = await open_live(kopek, viewer)
    payment = await create(kopek, owner, "live-ru")
    message = await ws.receive_json(timeout=5)
    assert (message["id"], message["status_label"]) == (payment["id"], "Ожидает кошелёк")
    await ws.close()


async def test_the_other_modes_payments_are_not_sent(kopek, owner) -> None:
    await owner.get("/dashboard/payments")
    await owner.post("/dashboard/mode", {"mode": "live", "next": "/dashboard/payments"})
    ws = await open_live(kopek, owner)
    await create(kopek, owner, "test-mode-payment")
    with pytest.raises(asyncio.TimeoutError):
        await ws.receive_json(timeout=0.5)
    await ws.close()


async def test_without_a_login_the_socket_is_refused(kopek, visitors) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await open_live(kopek, visitors())
    assert refused.value.status == 401


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1.evil.example"])
async def test_a_foreign_origin_is_refused(kopek, owner, origin) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await open_live(kopek, owner, origin=origin)
    assert refused.value.status == 403


async def test_a_handshake_without_an_origin_is_refused(kopek, owner) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await owner.http.ws_connect(f"{kopek.base_url}{LIVE}")
    assert refused.value.status == 403


# -- the hub ---------------------------------------------------------------------------------

def event(payment_id: str, seq: int = 1) -> Event:
    return Event(f"evt_{payment_id}_{seq}", payment_id, seq, "payment.created", "requires_wallet", {}, "now")


async def test_a_merchant_subscription_gets_that_merchants_events_in_that_mode_only() -> None:
    hub = LiveHub(queue_max=10)
    test_mode, live_mode = hub.subscribe_merchant("mer_1", False), hub.subscribe_merchant("mer_1", True)
    other, per_payment = hub.subscribe_merchant("mer_2", False), hub.subscribe("pay_1")
    hub.publish(event("pay_1"), merchant_id="mer_1", livemode=False)
    hub.publish(event("pay_2"), merchant_id="mer_1", livemode=True)
    hub.publish(event("pay_1", 2))       # named no merchant: only the payment's subscribers
    assert [test_mode.queue.get_nowait().payment_id for _ in range(test_mode.queue.qsize())] == ["pay_1"]
    assert [live_mode.queue.get_nowait().payment_id for _ in range(live_mode.queue.qsize())] == ["pay_2"]
    assert other.queue.empty()
    assert [per_payment.queue.get_nowait().seq for _ in range(2)] == [1, 2]


async def test_a_slow_merchant_subscriber_is_marked_lagging_without_stalling_others() -> None:
    hub = LiveHub(queue_max=2)
    slow, fast = hub.subscribe_merchant("mer_1", False), hub.subscribe_merchant("mer_1", False)
    for seq in (1, 2):
        hub.publish(event("pay_1", seq), merchant_id="mer_1", livemode=False)
    fast.queue.get_nowait()
    fast.queue.get_nowait()
    hub.publish(event("pay_1", 3), merchant_id="mer_1", livemode=False)
    assert slow.lagging.is_set() and not fast.lagging.is_set() and fast.queue.get_nowait().seq == 3
    hub.unsubscribe(slow)
    hub.unsubscribe(fast)
    assert hub.subscriber_count("merchant:mer_1:test") == 0
