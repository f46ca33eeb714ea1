"""Guesses at secret keys and client secrets, from outside: counted before they are checked, kept
apart by the credential they guess at, and never holding back a right credential."""

from __future__ import annotations

import asyncio
from collections import Counter

import aiohttp

from kopek.web.requests import CLIENT_SECRET_GUESSES_PER_PAYMENT

WRONG = "pay_x_secret_wrong"
FREE = CLIENT_SECRET_GUESSES_PER_PAYMENT.free


async def guess_over_http(kopek, payment) -> int:
    response = await kopek.client.get(f"/v1/checkout/{payment['id']}", headers={"Kopek-Client-Secret": WRONG})
    return response.status


async def guess_over_websocket(kopek, payment) -> str:
    ws = await kopek.client.ws_connect(f"/v1/checkout/{payment['id']}/live")
    await ws.send_json({"type": "auth", "client_secret": WRONG, "after": 0})
    code = (await ws.receive_json(timeout=5))["code"]
    assert (await ws.receive(timeout=5)).type == aiohttp.WSMsgType.CLOSE
    await ws.close()
    return code


async def test_wrong_client_secrets_over_http_and_websocket_share_one_small_budget(kopek):
    payment = await kopek.create_payment(order_id="GUESS-1")
    http = [await guess_over_http(kopek, payment) for _ in range(FREE - 2)]
    sockets = [await guess_over_websocket(kopek, payment) for _ in range(4)]
    assert http == [401] * (FREE - 2)
    assert sockets == ["invalid_client_secret"] * 2 + ["rate_limited"] * 2
    refused = await kopek.client.get(f"/v1/checkout/{payment['id']}", headers={"Kopek-Client-Secret": WRONG})
    assert refused.status == 429 and int(refused.headers["Retry-After"]) >= 1


async def test_concurrent_wrong_client_secrets_are_not_all_checked(kopek):
    payment = await kopek.create_payment(order_id="GUESS-2")
    statuses = Counter(await asyncio.gather(*(guess_over_http(kopek, payment) for _ in range(30))))
    assert statuses == {401: FREE, 429: 30 - FREE}, statuses


async def test_a_right_secret_key_is_not_held_back_by_client_secret_guesses(kopek):
    payment = await kopek.create_payment(order_id="GUESS-3")
    for _ in range(30):
        await guess_over_http(kopek, payment)
    listed = await kopek.client.get("/v1/payments", headers=kopek.auth())
    assert listed.status == 200
    other = await kopek.create_payment(order_id="GUESS-4")
    opened = await kopek.client.get(f"/v1/checkout/{other['id']}", headers=kopek.checkout_headers(other))
    assert opened.status == 200, "another payment's right secret from the same address still opens"


async def test_concurrent_wrong_secret_keys_are_not_all_checked(kopek):
    async def guess() -> int:
        response = await kopek.client.get("/v1/payments", headers={"Authorization": "Bearer sk_test_guess"})
        return response.status

    statuses = Counter(await asyncio.gather(*(guess() for _ in range(40))))
    assert statuses == {401: 20, 429: 20}, statuses
    assert (await kopek.client.get("/v1/payments", headers=kopek.auth())).status == 429, \
        "the guessing address waits, even with a right key, until its delay passes"
