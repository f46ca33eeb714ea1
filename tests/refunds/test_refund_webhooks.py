"""A shop's receiver gets refund.* webhooks when it subscribes to them."""

from __future__ import annotations

from test_refunds_api import paid, refund
from webhook_receiver import Receiver


async def test_refund_webhooks_carry_the_refund_and_the_payment(kopek, aiohttp_server) -> None:
    receiver = Receiver()
    response = await kopek.client.post("/v1/webhook_endpoints", headers=kopek.auth(), json={
        "url": await receiver.start(aiohttp_server), "events": ["refund.succeeded", "refund.failed"]})
    assert response.status == 201, await response.text()
    endpoint = await response.json()
    payment = await paid(kopek)
    await refund(kopek, payment=payment["id"], amount=199)
    _, made = await refund(kopek, payment=payment["id"], amount=300)
    got = [r.verify(endpoint["secret"]) for r in await receiver.wait_count(2)]
    assert sorted(g["type"] for g in got) == ["refund.failed", "refund.succeeded"]
    succeeded = next(g for g in got if g["type"] == "refund.succeeded")["data"]["object"]
    assert (succeeded["id"], succeeded["status"], succeeded["amount"]) == (made["id"], "succeeded", 300)
    assert (succeeded["payment_object"]["id"], succeeded["payment_object"]["amount_refunded"]) == (payment["id"], 300)
