"""The live status websocket: authorised by the first message, resumable by seq."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from kopek import keys
from support import SUCCEEDS, attempt, confirm, make_settings


@pytest.fixture
def kopek_settings(tmp_path, unused_tcp_port, request):
    return make_settings(tmp_path, unused_tcp_port, **getattr(request, "param", {}))


async def open_live(kopek, payment, secret=None, after=0, forwarded_for=None, **fields):
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else None
    ws = await kopek.client.ws_connect(f"/v1/checkout/{payment['id']}/live", headers=headers)
    await ws.send_json({"type": "auth", "client_secret": secret or payment["client_secret"], "after": after,
                        **fields})
    return ws


async def receive_seqs(ws, count):
    seen = []
    for _ in range(count):
        message = await ws.receive_json(timeout=5)
        assert message["type"] == "event"
        assert message["seq"] == message["event"]["seq"]
        assert "client_secret" not in message["event"]["payment"]
        seen.append((message["seq"], message["event"]["type"], message["event"]["payment"]["status"]))
    return seen


async def test_events_arrive_live_in_order(kopek):
    payment = await kopek.create_payment(order_id="LV-1")
    ws = await open_live(kopek, payment)
    assert await receive_seqs(ws, 1) == [(1, "payment.created", "requires_wallet")]
    await attempt(kopek, payment, SUCCEEDS)
    assert await receive_seqs(ws, 1) == [(2, "payment.requires_confirmation", "requires_confirmation")]
    await confirm(kopek, payment, await kopek.phone_code(payment["id"]))
    assert await receive_seqs(ws, 2) == [(3, "payment.processing", "processing"),
                                         (4, "payment.succeeded", "succeeded")]
    await ws.close()


async def test_reconnect_with_last_seq_replays_only_what_was_missed(kopek):
    payment = await kopek.create_payment(order_id="LV-2")
    ws = await open_live(kopek, payment)
    await receive_seqs(ws, 1)
    await ws.close()  # the connection drops

    await attempt(kopek, payment, SUCCEEDS)
    await confirm(kopek, payment, await kopek.phone_code(payment["id"]))

    resumed = await open_live(kopek, payment, after=1)
    seen = await receive_seqs(resumed, 3)
    assert [s[0] for s in seen] == [2, 3, 4]
    assert seen[-1][2] == "succeeded"
    with pytest.raises(TimeoutError):
        await resumed.receive_json(timeout=0.3)  # nothing repeated
    await resumed.close()


async def test_a_widget_that_asks_gets_the_checkout_state_first_then_only_newer_events(kopek):
    payment = await kopek.create_payment(order_id="LV-S1")
    await attempt(kopek, payment, SUCCEEDS)
    over_http = await kopek.client.get(f"/v1/checkout/{payment['id']}", headers=kopek.checkout_headers(payment))

    ws = await open_live(kopek, payment, state=True)
    state = await ws.receive_json(timeout=5)
    assert state == {"type": "state", **await over_http.json()}
    assert state["seq"] == 2 and state["payment"]["status"] == "requires_confirmation"
    assert {w["id"] for w in state["wallets"]} >= {"webmoney", "yandex_dengi"}

    await confirm(kopek, payment, await kopek.phone_code(payment["id"]))
    assert await receive_seqs(ws, 2) == [(3, "payment.processing", "processing"),
                                         (4, "payment.succeeded", "succeeded")]
    await ws.close()


@pytest.mark.parametrize("asked", [1, "yes", None])
async def test_only_state_true_asks_for_the_state(kopek, asked):
    payment = await kopek.create_payment(order_id=f"LV-S2-{asked}")
    ws = await open_live(kopek, payment, state=asked)
    assert await receive_seqs(ws, 1) == [(1, "payment.created", "requires_wallet")]
    await ws.close()


async def test_a_wrong_secret_gets_no_state(kopek):
    payment = await kopek.create_payment(order_id="LV-S3")
    ws = await open_live(kopek, payment, secret=payment["client_secret"][:-1] + "x", state=True)
    assert (await ws.receive_json(timeout=5))["type"] == "error"
    closing = await ws.receive(timeout=5)
    assert closing.type == aiohttp.WSMsgType.CLOSE and closing.data == 4401


@pytest.mark.parametrize("secret", ["wrong", "pay_other_secret_x"])
async def test_wrong_client_secret_is_rejected(kopek, secret):
    payment = await kopek.create_payment(order_id="LV-3")
    ws = await open_live(kopek, payment, secret=secret)
    message = await ws.receive_json(timeout=5)
    assert message == {"type": "error", "code": "invalid_client_secret",
                       "message": "invalid client secret for this payment"}
    closing = await ws.receive(timeout=5)
    assert closing.type == aiohttp.WSMsgType.CLOSE and closing.data == 4401


@pytest.mark.parametrize("first", ['{"type":"hello"}', "not json", '["auth"]'])
async def test_first_message_must_be_auth(kopek, first):
    payment = await kopek.create_payment(order_id="LV-4")
    ws = await kopek.client.ws_connect(f"/v1/checkout/{payment['id']}/live")
    await ws.send_str(first)
    assert (await ws.receive_json(timeout=5))["code"] == "auth_expected"
    closing = await ws.receive(timeout=5)
    assert closing.type == aiohttp.WSMsgType.CLOSE and closing.data == 4400


async def test_a_secret_in_the_url_is_ignored(kopek):
    payment = await kopek.create_payment(order_id="LV-5")
    ws = await kopek.client.ws_connect(f"/v1/checkout/{payment['id']}/live?client_secret={payment['client_secret']}")
    await ws.send_json({"type": "auth", "client_secret": "", "after": 0})
    assert (await ws.receive_json(timeout=5))["code"] == "invalid_client_secret"


async def test_sockets_for_one_payment_are_capped(kopek):
    cap = kopek.app[keys.SETTINGS].ws_per_payment_max
    payment = await kopek.create_payment(order_id="LV-CAP")
    sockets = [await open_live(kopek, payment) for _ in range(cap + 5)]
    refused = []
    for ws in sockets[cap:]:
        message = await ws.receive_json(timeout=5)
        closing = await ws.receive(timeout=5)
        refused.append((message["code"], closing.type, closing.data))
    assert refused == [("too_many_connections", aiohttp.WSMsgType.CLOSE, 1013)] * 5
    first = sockets[0]
    assert (await first.receive_json(timeout=5))["seq"] == 1, "the sockets under the cap stay open and stream"
    for ws in sockets:
        await ws.close()
    again = await open_live(kopek, payment)
    assert (await again.receive_json(timeout=5))["seq"] == 1, "closed sockets free their places"
    await again.close()


async def test_sockets_from_one_address_are_capped_before_they_authenticate(kopek):
    cap = kopek.app[keys.SETTINGS].ws_per_ip_max
    payment = await kopek.create_payment(order_id="LV-IP")
    idle = [await kopek.client.ws_connect(f"/v1/checkout/{payment['id']}/live") for _ in range(cap)]
    extra = await kopek.client.ws_connect(f"/v1/checkout/{payment['id']}/live")
    assert (await extra.receive_json(timeout=5))["code"] == "too_many_connections"
    assert (await extra.receive(timeout=5)).data == 1013
    for ws in idle:
        await ws.close()


@pytest.mark.parametrize("kopek_settings", [{"ws_total_max": 2, "ws_per_ip_max": 1,
                                             "trusted_proxies": "127.0.0.0/8"}], indirect=True)
async def test_sockets_over_the_total_cap_are_refused_whatever_their_address(kopek):
    """Each shopper behind the proxy has one socket, within the per-address cap (one here); the
    server as a whole holds two (10,000 by default). A place freed is taken by the next one."""
    payments = [await kopek.create_payment(order_id=f"LV-ALL-{n}") for n in range(4)]
    first, second = [await open_live(kopek, payments[n], forwarded_for=f"198.51.100.{n}") for n in (0, 1)]
    for ws in (first, second):
        assert (await ws.receive_json(timeout=5))["seq"] == 1
    extra = await open_live(kopek, payments[2], forwarded_for="198.51.100.2")
    assert await extra.receive_json(timeout=5) == {"type": "error", "code": "too_many_connections",
                                                   "message": "the server is full"}
    closing = await extra.receive(timeout=5)
    assert (closing.type, closing.data, closing.extra) == (aiohttp.WSMsgType.CLOSE, 1013, "too_many_connections")
    assert not first.closed and not second.closed, "the sockets under the cap stay open"

    await first.close()
    for _ in range(20):   # the server lets go of the closed socket's place as its handler returns
        again = await open_live(kopek, payments[3], forwarded_for="198.51.100.3")
        message = await again.receive_json(timeout=5)
        if message.get("code") != "too_many_connections":
            break
        await again.close()
        await asyncio.sleep(0.05)
    assert message["type"] == "event" and message["seq"] == 1, message
    for ws in (second, extra, again):
        await ws.close()
