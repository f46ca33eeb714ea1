"""The shopper's path through the checkout endpoints, with the WebMoney simulator over real HTTP."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import uuid

import pytest

from kopek import keys
from support import DECLINED, INSUFFICIENT, NOT_FOUND, SLOW, SUCCEEDS, WRONG_CODES, attempt, confirm, event_types, wait_for_status

async def test_checkout_state_lists_wallets_with_forms(kopek):
    payment = await kopek.create_payment()
    response = await kopek.client.get(f"/v1/checkout/{payment['id']}", headers=kopek.checkout_headers(payment))
    state = await response.json()
    assert state["payment"]["status"] == "requires_wallet"
    assert "client_secret" not in state["payment"] and "metadata" not in state["payment"]
    assert [w["id"] for w in state["wallets"]] == ["webmoney", "yandex_dengi", "eport", "kreditpilot"]
    assert state["wallets"][0]["fields"][0]["name"] == "account"
    assert all(w["available"] for w in state["wallets"])


async def test_only_wallets_that_take_the_amount_and_currency_are_offered(kopek):
    payment = await kopek.create_payment(order_id="USD-1", currency="USD", amount=100)
    state = await (await kopek.client.get(f"/v1/checkout/{payment['id']}", headers=kopek.checkout_headers(payment))).json()
    assert [w["id"] for w in state["wallets"]] == ["webmoney", "eport"]
    assert state["seq"] == 1


async def test_pay_with_webmoney_code_from_the_phone(kopek):
    payment = await kopek.create_payment(order_id="W-1")
    started = await attempt(kopek, payment, SUCCEEDS)
    body = await started.json()
    assert started.status == 200, body
    assert body["payment"]["status"] == "requires_confirmation"
    action = body["payment"]["next_action"]
    assert action["type"] == "enter_code" and action["code_length"] == 6 and action["tries_left"] == 3
    assert SUCCEEDS not in action["sent_to"]  # masked

    code = await kopek.phone_code(payment["id"])
    confirmed = await confirm(kopek, payment, code)
    assert confirmed.status == 200
    assert (await confirmed.json())["payment"]["status"] in ("processing", "succeeded")

    final = await wait_for_status(kopek, payment, "succeeded")
    assert final["status"] == "succeeded" and final["wallet"] == "webmoney"
    assert await event_types(kopek, payment) == [
        "payment.created", "payment.requires_confirmation", "payment.processing", "payment.succeeded"]
    outbox = await kopek.app[keys.STORE].outbox(kopek.merchant.merchant.id)
    assert [row["type"] for row in outbox] == await event_types(kopek, payment)


async def test_wrong_codes_then_lock_then_retry_succeeds(kopek):
    payment = await kopek.create_payment(order_id="W-2")
    await attempt(kopek, payment, SUCCEEDS)
    real = await kopek.phone_code(payment["id"])
    wrong = "000000" if real != "000000" else "111111"
    first = await confirm(kopek, payment, wrong)
    assert first.status == 400
    error = (await first.json())["error"]
    assert error["code"] == "incorrect_code" and error["tries_left"] == 2
    state = await (await kopek.client.get(f"/v1/checkout/{payment['id']}",
                                          headers=kopek.checkout_headers(payment))).json()
    assert state["payment"]["next_action"]["tries_left"] == 2
    await confirm(kopek, payment, wrong)
    third = await confirm(kopek, payment, wrong)
    assert third.status == 400 and (await third.json())["error"]["code"] == "code_attempts_exceeded"
    current = await wait_for_status(kopek, payment, "requires_wallet")
    assert current["last_error"]["code"] == "code_attempts_exceeded"
    # the right code is useless now: the attempt is over
    late = await confirm(kopek, payment, real)
    assert late.status == 409 and (await late.json())["error"]["status"] == "requires_wallet"

    await attempt(kopek, payment, SUCCEEDS)
    await confirm(kopek, payment, await kopek.phone_code(payment["id"]))
    assert (await wait_for_status(kopek, payment, "succeeded"))["status"] == "succeeded"


@pytest.mark.parametrize(("account", "reason"), [(DECLINED, "declined"), (INSUFFICIENT, "insufficient_funds")])
async def test_declines_return_to_wallet_choice(kopek, account, reason):
    payment = await kopek.create_payment(order_id=f"D-{reason}")
    await attempt(kopek, payment, account)
    await confirm(kopek, payment, await kopek.phone_code(payment["id"]))
    current = await wait_for_status(kopek, payment, "requires_wallet")
    assert current["status"] == "requires_wallet"
    assert current["last_error"]["code"] == reason and current["last_error"]["message"]
    assert "payment.attempt_failed" in await event_types(kopek, payment)


async def test_wallet_not_found_is_a_synchronous_decline(kopek):
    payment = await kopek.create_payment(order_id="NF-1")
    response = await attempt(kopek, payment, NOT_FOUND)
    body = await response.json()
    assert response.status == 200
    assert body["payment"]["status"] == "requires_wallet"
    assert body["payment"]["last_error"]["code"] == "wallet_not_found"
    assert body["payment"]["attempts_left"] == kopek.app[keys.SETTINGS].max_attempts_per_payment - 1


async def test_every_code_wrong_wallet_locks_after_three(kopek):
    payment = await kopek.create_payment(order_id="WC-1")
    await attempt(kopek, payment, WRONG_CODES)
    code = await kopek.phone_code(payment["id"])
    codes = [(await (await confirm(kopek, payment, code)).json())["error"]["code"] for _ in range(3)]
    assert codes == ["incorrect_code", "incorrect_code", "code_attempts_exceeded"]


async def test_slow_wallet_stays_processing_then_succeeds(kopek):
    payment = await kopek.create_payment(order_id="S-1")
    await attempt(kopek, payment, SLOW)
    await confirm(kopek, payment, await kopek.phone_code(payment["id"]))
    assert (await wait_for_status(kopek, payment, "succeeded", timeout_s=0.3))["status"] == "processing"
    assert (await wait_for_status(kopek, payment, "succeeded", timeout_s=10))["status"] == "succeeded"


async def test_attempts_run_out_and_the_payment_fails(kopek):
    payment = await kopek.create_payment(order_id="F-1")
    for _ in range(kopek.app[keys.SETTINGS].max_attempts_per_payment):
        await attempt(kopek, payment, NOT_FOUND)
    final = await wait_for_status(kopek, payment, "failed")
    assert final["status"] == "failed"
    assert (await event_types(kopek, payment))[-1] == "payment.failed"


async def test_double_click_makes_one_attempt(kopek):
    payment = await kopek.create_payment(order_id="DC-1")
    key = str(uuid.uuid4())
    first, second = await asyncio.gather(attempt(kopek, payment, SUCCEEDS, key),
                                         attempt(kopek, payment, SUCCEEDS, key))
    assert first.status == second.status == 200
    messages = (await (await kopek.client.get("/sandbox/phone.json",
                                              params={"payment": payment["id"]})).json())["data"]
    assert len(messages) == 1
    assert (await event_types(kopek, payment)).count("payment.requires_confirmation") == 1


async def test_a_second_attempt_while_confirming_is_409(kopek):
    payment = await kopek.create_payment(order_id="A2-1")
    await attempt(kopek, payment, SUCCEEDS)
    again = await attempt(kopek, payment, SUCCEEDS)
    assert again.status == 409
    assert (await again.json())["error"]["status"] == "requires_confirmation"


async def test_confirm_in_the_wrong_state_is_409_with_status(kopek):
    payment = await kopek.create_payment(order_id="CS-1")
    response = await confirm(kopek, payment, "123456")
    error = (await response.json())["error"]
    assert response.status == 409 and error["code"] == "invalid_state" and error["status"] == "requires_wallet"


@pytest.mark.parametrize("details", [{"account": "R12"}, {"account": "X100000000001"}, {}, {"account": ""},
                                     {"account": "R100000000001", "pin": "1234"}])
async def test_bad_wallet_details_are_400_per_field(kopek, details):
    payment = await kopek.create_payment(order_id="BD-1")
    response = await kopek.client.post(
        f"/v1/checkout/{payment['id']}/attempts", json={"wallet": "webmoney", "details": details},
        headers={**kopek.checkout_headers(payment), "Idempotency-Key": str(uuid.uuid4())})
    assert response.status == 400
    error = (await response.json())["error"]
    assert error["fields"], error
    assert (await (await kopek.client.get("/sandbox/phone.json")).json())["data"] == []


@pytest.mark.parametrize("body", [{"wallet": "paypal", "details": {"account": "x"}},
                                  {"wallet": 5, "details": {}}, {"details": {"account": "R100000000001"}},
                                  {"wallet": "webmoney", "details": "R100000000001"}])
async def test_bad_attempt_bodies_are_400(kopek, body):
    payment = await kopek.create_payment(order_id="BB-1")
    response = await kopek.client.post(f"/v1/checkout/{payment['id']}/attempts", json=body,
                                       headers={**kopek.checkout_headers(payment), "Idempotency-Key": "k" * 16})
    assert response.status == 400


@pytest.mark.parametrize("code", ["12", "abcdef", "", "1234567890"])
async def test_malformed_codes_are_400(kopek, code):
    payment = await kopek.create_payment(order_id="MC-1")
    await attempt(kopek, payment, SUCCEEDS)
    response = await confirm(kopek, payment, code)
    assert response.status == 400 and (await response.json())["error"]["param"] == "code"


async def test_attempt_without_idempotency_key_is_400(kopek):
    payment = await kopek.create_payment(order_id="IK-1")
    response = await kopek.client.post(f"/v1/checkout/{payment['id']}/attempts", headers=kopek.checkout_headers(payment),
                                       json={"wallet": "webmoney", "details": {"account": SUCCEEDS}})
    assert response.status == 400 and (await response.json())["error"]["param"] == "Idempotency-Key"


@pytest.mark.parametrize("secret", [None, "", "pay_x_secret_y", "wrong"])
async def test_wrong_client_secret_is_401(kopek, secret):
    payment = await kopek.create_payment(order_id="CS-2")
    headers = {"Kopek-Client-Secret": secret} if secret is not None else {}
    for method, path in [("GET", ""), ("POST", "/attempts"), ("POST", "/confirm"), ("POST", "/cancel"),
                         ("GET", "/events")]:
        response = await kopek.client.request(method, f"/v1/checkout/{payment['id']}{path}", headers=headers,
                                              json={})
        assert response.status == 401, path
        assert (await response.json())["error"]["code"] == "invalid_client_secret"


async def test_another_payments_secret_is_401(kopek):
    mine = await kopek.create_payment(order_id="X-1")
    other = await kopek.create_payment(order_id="X-2")
    response = await kopek.client.get(f"/v1/checkout/{mine['id']}", headers=kopek.checkout_headers(other))
    assert response.status == 401


async def test_shopper_cancel_and_events_polling(kopek):
    payment = await kopek.create_payment(order_id="PC-1")
    canceled = await kopek.client.post(f"/v1/checkout/{payment['id']}/cancel", headers=kopek.checkout_headers(payment))
    assert (await canceled.json())["payment"]["status"] == "canceled"
    polled = await (await kopek.client.get(f"/v1/checkout/{payment['id']}/events?after=1",
                                           headers=kopek.checkout_headers(payment))).json()
    assert [(e["seq"], e["type"]) for e in polled["data"]] == [(2, "payment.canceled")]
    assert polled["payment"]["status"] == "canceled"


async def test_payment_expires_at_expires_at(kopek):
    payment = await kopek.create_payment(order_id="E-1", expires_in=60)
    store = kopek.app[keys.STORE]
    async with store._transaction() as db:  # let time pass: move the deadline into the past
        await db.execute("UPDATE payments SET expires_at='2000-01-01T00:00:00.000000Z' WHERE id=?", (payment["id"],))
    final = await wait_for_status(kopek, payment, "expired", timeout_s=5)
    assert final["status"] == "expired"
    late = await attempt(kopek, payment, SUCCEEDS)
    assert late.status == 409 and (await late.json())["error"]["status"] == "expired"


def sha256_source(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


async def test_the_frame_may_only_be_embedded_by_allowed_origins(kopek):
    payment = await kopek.create_payment(order_id="FR-1")
    allowed = await kopek.client.get(f"/v1/checkout/{payment['id']}/frame",
                                     params={"origin": "http://shop.test:8001", "locale": "ru"})
    assert allowed.status == 200
    csp = allowed.headers["Content-Security-Policy"]
    html = await allowed.text()
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert directives["frame-ancestors"].split()[0] == "http://shop.test:8001"
    (script,) = re.findall(r"<script>(.*?)</script>", html, re.S)
    (style,) = re.findall(r"<style>(.*?)</style>", html, re.S)
    assert directives["script-src"] == sha256_source(script) and directives["style-src"] == sha256_source(style)
    assert 'data-parent-origin="http://shop.test:8001"' in html and 'lang="ru"' in html
    assert payment["client_secret"] not in html

    for origin in ["https://evil.test", "http://shop.test:8001.evil.test", ""]:
        refused = await kopek.client.get(f"/v1/checkout/{payment['id']}/frame", params={"origin": origin})
        assert refused.status == 403, origin
        assert "frame-ancestors 'none'" in refused.headers["Content-Security-Policy"]
    unknown = await kopek.client.get("/v1/checkout/pay_nope/frame", params={"origin": "http://shop.test:8001"})
    assert unknown.status == 404
