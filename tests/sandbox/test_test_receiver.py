"""The built-in webhook receiver: the console button aims a test endpoint at it, Kopek's real
webhooks arrive verified and are listed for the console's merchant only, and a forged or stale
signature is refused 400 and listed as invalid."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from datetime import datetime, timedelta, timezone

import standardwebhooks
from sandbox_steps import api, client_secret, open_console, payment_id, start_payment

from kopek.keyring import PurposeKeys
from kopek import keys
from kopek.webhooks.test_receiver import MAX_MERCHANTS, MAX_PER_MERCHANT, BuiltInReceiver, summary


def receiver_path(merchant_id: str) -> str:
    return f"/sandbox/webhook-receiver/{merchant_id}"


async def aimed_endpoints(kopek, merchant_id: str) -> list:
    url = kopek.base_url + receiver_path(merchant_id)
    return [e for e in await kopek.app[keys.WEBHOOK_ENDPOINTS].list(merchant_id, False) if e.url == url]


async def received(visitor, kopek) -> list[dict]:
    async with visitor.http.get(f"{kopek.base_url}/sandbox/webhooks.json") as response:
        assert response.status == 200
        return (await response.json())["data"]


async def wait_for_webhook(visitor, kopek, payment_id: str, event_type: str, timeout_s: float = 20) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = [w for w in await received(visitor, kopek) if (w["payment_id"], w["type"]) == (payment_id, event_type)]
        if found:
            return found[0]
        await asyncio.sleep(0.1)
    raise AssertionError(f"no {event_type} webhook for {payment_id}")


async def pay(kopek, secret_key: str) -> dict:
    """A shopper pays a new payment of the key's merchant with the magic WebMoney purse that succeeds."""
    created = await kopek.client.post("/v1/payments", headers=api(secret_key), json={
        "amount": 700, "currency": "RUB", "order_id": f"order-{uuid.uuid4().hex[:8]}"})
    payment = await created.json()
    headers = {"Kopek-Client-Secret": payment["client_secret"]}
    started = await kopek.client.post(f"/v1/checkout/{payment['id']}/attempts", headers={
        **headers, "Idempotency-Key": str(uuid.uuid4())}, json={"wallet": "webmoney",
                                                                 "details": {"account": "R100000000001"}})
    assert started.status == 200, await started.text()
    code = await kopek.phone_code(payment["id"])
    confirmed = await kopek.client.post(f"/v1/checkout/{payment['id']}/confirm", headers=headers, json={"code": code})
    assert confirmed.status == 200, await confirmed.text()
    return payment


async def test_an_owner_uses_the_receiver_and_their_payments_webhooks_arrive_verified(kopek, owner, visitors):
    page = await open_console(owner)
    merchant_id = page.find(r'id="console-merchant">([^<]+)<')
    assert page.find(r'id="receiver-status" data-state="([^"]+)"') == "none"
    done = await owner.post("/sandbox/receiver")
    assert done.status == 200 and done.url.path == "/sandbox"
    assert "Test webhooks now go to the built-in receiver too." in done.text
    assert done.find(r'id="receiver-status" data-state="([^"]+)"') == "enabled"
    listed = await (await kopek.client.get("/v1/webhook_endpoints", headers=api(owner.keys["sk-test"]))).json()
    assert [e["url"] for e in listed["data"]] == [kopek.base_url + receiver_path(merchant_id)]
    assert not re.search(r"whsec_[A-Za-z0-9+/]{8}", done.text), "the endpoint's secret is not shown"

    payment = await pay(kopek, owner.keys["sk-test"])
    succeeded = await wait_for_webhook(owner, kopek, payment["id"], "payment.succeeded")
    assert succeeded["verified"] is True and succeeded["webhook_id"].startswith("evt_")
    assert set(succeeded) == {"received_at", "webhook_id", "type", "payment_id", "verified"}
    assert all(w["verified"] for w in await received(owner, kopek))
    assert payment["id"] not in str(await received(visitors(), kopek)), "the shared sandbox lists only its own"
    again = await open_console(owner)
    assert f'<tr data-webhook-id="{succeeded["webhook_id"]}"' in again.text


async def test_pressing_twice_keeps_one_endpoint(kopek, visitors):
    visitor = visitors()
    await open_console(visitor)
    merchant_id = kopek.app[keys.SANDBOX_MERCHANT_ID]
    await visitor.post("/sandbox/receiver")
    second = await visitor.post("/sandbox/receiver")
    assert "The built-in receiver was already in use." in second.text
    assert len(await aimed_endpoints(kopek, merchant_id)) == 1


async def test_a_disabled_receiver_endpoint_is_enabled_again(kopek, visitors):
    visitor = visitors()
    await open_console(visitor)
    merchant_id = kopek.app[keys.SANDBOX_MERCHANT_ID]
    await visitor.post("/sandbox/receiver")
    endpoints = kopek.app[keys.WEBHOOK_ENDPOINTS]
    await endpoints.update((await aimed_endpoints(kopek, merchant_id))[0], {"status": "disabled"})
    assert (await open_console(visitor)).find(r'id="receiver-status" data-state="([^"]+)"') == "disabled"
    again = await visitor.post("/sandbox/receiver")
    assert "Test webhooks now go to the built-in receiver too." in again.text
    assert [e.status for e in await aimed_endpoints(kopek, merchant_id)] == ["enabled"]


async def test_the_shared_sandbox_merchant_can_use_it_anonymously(kopek, visitors):
    visitor = visitors()
    await open_console(visitor)
    await visitor.post("/sandbox/receiver")
    merchant_id = kopek.app[keys.SANDBOX_MERCHANT_ID]
    assert len(await aimed_endpoints(kopek, merchant_id)) == 1
    page = await start_payment(visitor)
    canceled = await kopek.client.post(f"/v1/checkout/{payment_id(page)}/cancel",
                                       headers={"Kopek-Client-Secret": client_secret(page)})
    assert canceled.status == 200
    canceled = await wait_for_webhook(visitor, kopek, payment_id(page), "payment.canceled")
    assert canceled["verified"] is True


async def test_a_viewer_may_not_and_a_form_without_csrf_changes_nothing(kopek, owner, viewer, visitors):
    await open_console(viewer)
    refused = await viewer.post("/sandbox/receiver")
    assert refused.status == 403 and "viewer" in refused.text
    page = await open_console(viewer)
    assert 'id="use-receiver"' not in page.text and 'id="receiver-owner-only"' in page.text
    await open_console(owner)
    assert (await owner.post("/sandbox/receiver", with_csrf=False)).status == 403
    anonymous = visitors()
    await open_console(anonymous)
    assert (await anonymous.post("/sandbox/receiver", {"extra": "1"})).status == 400
    merchant_id = page.find(r'id="console-merchant">([^<]+)<')
    assert await aimed_endpoints(kopek, merchant_id) == []
    assert await aimed_endpoints(kopek, kopek.app[keys.SANDBOX_MERCHANT_ID]) == []


async def test_a_forged_signature_is_refused_and_listed_as_invalid(kopek, owner):
    merchant_id = (await open_console(owner)).find(r'id="console-merchant">([^<]+)<')
    await owner.post("/sandbox/receiver")
    body = b'{"id":"evt_forged","type":"payment.succeeded","data":{"object":{"id":"pay_x","object":"payment"}}}'
    response = await kopek.client.post(receiver_path(merchant_id), data=body, headers={
        "webhook-id": "evt_forged", "webhook-timestamp": str(int(time.time())),
        "webhook-signature": "v1,bm90IHRoZSByaWdodCBzaWduYXR1cmU="})
    assert response.status == 400
    assert (await response.json())["error"]["code"] == "invalid_signature"
    # The console's own payment.created webhook may arrive before or after it: find the forged one.
    forged = [w for w in await received(owner, kopek) if w["webhook_id"] == "evt_forged"]
    assert [w | {"received_at": None} for w in forged] == [{"received_at": None, "webhook_id": "evt_forged",
                                                           "type": "payment.succeeded", "payment_id": "pay_x",
                                                           "verified": False}]
    page = await open_console(owner)
    assert '<tr data-webhook-id="evt_forged"' in page.text and "signature invalid" in page.text


async def test_a_webhook_signed_by_a_standard_library_is_verified_and_a_stale_one_is_not(kopek, owner):
    merchant_id = (await open_console(owner)).find(r'id="console-merchant">([^<]+)<')
    created = await kopek.client.post("/v1/webhook_endpoints", headers=api(owner.keys["sk-test"]),
                                      json={"url": kopek.base_url + receiver_path(merchant_id)})
    signer = standardwebhooks.Webhook((await created.json())["secret"])
    body = '{"id":"evt_1","type":"webhook.test","data":{"object":{"id":"we_1","object":"webhook_endpoint"}}}'
    for webhook_id, at, status in [("evt_now", datetime.now(timezone.utc), 204),
                                   ("evt_stale", datetime.now(timezone.utc) - timedelta(minutes=10), 400)]:
        response = await kopek.client.post(receiver_path(merchant_id), data=body.encode(), headers={
            "webhook-id": webhook_id, "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": signer.sign(webhook_id, at, body)})
        assert response.status == status, webhook_id
    listed = {w["webhook_id"]: w for w in await received(owner, kopek)}
    assert listed["evt_now"]["verified"] is True and listed["evt_now"]["type"] == "webhook.test"
    assert listed["evt_now"]["payment_id"] is None
    assert listed["evt_stale"]["verified"] is False


async def test_an_unknown_merchant_or_an_oversized_body_is_not_kept(kopek, visitors):
    response = await kopek.client.post(receiver_path("mer_nobody"), data=b"{}")
    assert response.status == 404
    merchant_id = kopek.app[keys.SANDBOX_MERCHANT_ID]
    oversized = b"x" * (kopek.app[keys.SETTINGS].max_body_bytes + 1)
    too_big = await kopek.client.post(receiver_path(merchant_id), data=oversized)
    assert too_big.status == 413
    assert await received(visitors(), kopek) == []


async def test_webhooks_json_refuses_a_query(kopek, visitors):
    async with visitors().http.get(f"{kopek.base_url}/sandbox/webhooks.json?merchant=mer_other") as response:
        assert response.status == 400


def test_the_memory_is_bounded():
    receiver = BuiltInReceiver(PurposeKeys.single(b"k" * 32, "webhook_secret"))
    for n in range(MAX_PER_MERCHANT + 10):
        receiver.receive("mer_a", [], {"webhook-id": f"evt_{n}"}, b"{}")
    kept = receiver.received("mer_a")
    assert len(kept) == MAX_PER_MERCHANT and kept[0].webhook_id == f"evt_{MAX_PER_MERCHANT + 9}"
    for n in range(MAX_MERCHANTS):
        receiver.receive(f"mer_{n}", [], {"webhook-id": "x" * 500}, b"{}")
    assert receiver.received("mer_a") == [], "the least recently used merchant goes first"
    assert len(receiver.received("mer_0")[0].webhook_id) == 100


def test_the_summary_reads_only_what_the_body_claims():
    assert summary(b"not json") == (None, None)
    assert summary(b"[1, 2]") == (None, None)
    assert summary(b'{"type": 5, "data": {"object": null}}') == (None, None)
    assert summary(b'{"type": "refund.succeeded", "data": {"object": {"object": "refund", "payment": "pay_1"}}}') \
        == ("refund.succeeded", "pay_1")
