"""The refunds API over real HTTP, against the e-port sandbox (its simulator refunds)."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from kopek import keys
from kopek.ledger import invariants
from kopek.merchants import create_merchant
from kopek.providers.contract import ProviderError
from kopek.providers.registry import PLUGINS
from support import wait_for_status


async def paid(kopek, amount=500, ending="01"):
    payment = await kopek.create_payment(amount=amount, order_id=f"o-{uuid.uuid4()}")
    details = PLUGINS["eport"].example_details(PLUGINS["eport"].example_account(ending))
    response = await kopek.client.post(
        f"/v1/checkout/{payment['id']}/attempts", json={"wallet": "eport", "details": details},
        headers={**kopek.checkout_headers(payment), "Idempotency-Key": str(uuid.uuid4())})
    assert response.status < 300, await response.text()
    if ending == "01":
        assert (await wait_for_status(kopek, payment, "succeeded"))["status"] == "succeeded"
    return payment


async def refund(kopek, **body):
    response = await kopek.client.post("/v1/refunds", json=body, headers=kopek.auth())
    return response.status, await response.json()


async def get_payment(kopek, payment):
    return await (await kopek.client.get(f"/v1/payments/{payment['id']}", headers=kopek.auth())).json()


async def balance_rows(kopek):
    return await kopek.app[keys.STORE]._fetchall("SELECT account, SUM(amount) FROM ledger_postings GROUP BY account")


async def books_ok(kopek):
    report = await invariants.check(kopek.app[keys.STORE])
    assert report.ok, report.problems


async def test_full_refund_by_default(kopek) -> None:
    payment = await paid(kopek)
    status, body = await refund(kopek, payment=payment["id"], reason="customer asked")
    assert status == 200, body
    assert body["id"].startswith("re_") and body["object"] == "refund"
    assert (body["payment"], body["amount"], body["currency"], body["status"], body["reason"]) == (
        payment["id"], 500, "RUB", "succeeded", "customer asked")
    assert (await get_payment(kopek, payment))["amount_refunded"] == 500
    fetched = await (await kopek.client.get(f"/v1/refunds/{body['id']}", headers=kopek.auth())).json()
    assert fetched == body
    listed = await (await kopek.client.get("/v1/refunds", params={"payment": payment["id"]},
                                           headers=kopek.auth())).json()
    assert [r["id"] for r in listed["data"]] == [body["id"]]
    await books_ok(kopek)


async def test_partial_refunds_up_to_the_amount_then_refused(kopek) -> None:
    payment = await paid(kopek)
    assert (await refund(kopek, payment=payment["id"], amount=200))[1]["status"] == "succeeded"
    status, body = await refund(kopek, payment=payment["id"], amount=301)
    assert (status, body["error"]["code"], body["error"]["refundable"]) == (400, "amount_too_large", 300)
    assert (await refund(kopek, payment=payment["id"]))[1]["amount"] == 300
    assert (await get_payment(kopek, payment))["amount_refunded"] == 500
    status, body = await refund(kopek, payment=payment["id"], amount=1)
    assert (status, body["error"]["code"]) == (400, "amount_too_large")
    await books_ok(kopek)


async def test_declined_refund_releases_its_reservation(kopek) -> None:
    payment = await paid(kopek)
    status, body = await refund(kopek, payment=payment["id"], amount=199)
    assert (status, body["status"], body["failure_code"]) == (200, "failed", "refund_declined")
    assert (await get_payment(kopek, payment))["amount_refunded"] == 0
    refunds_booked = await kopek.app[keys.STORE]._fetchall("SELECT * FROM ledger_transactions WHERE kind='refund'")
    assert refunds_booked == []
    assert (await refund(kopek, payment=payment["id"]))[1]["amount"] == 500
    await books_ok(kopek)


async def test_concurrent_refunds_only_what_fits_succeeds(kopek) -> None:
    payment = await paid(kopek)
    results = await asyncio.gather(*(refund(kopek, payment=payment["id"], amount=150) for _ in range(5)))
    succeeded = [body for status, body in results if status == 200 and body["status"] == "succeeded"]
    refused = [body for status, body in results if status == 400]
    assert (len(succeeded), len(refused)) == (3, 2)
    assert all(body["error"]["code"] == "amount_too_large" for body in refused)
    assert (await get_payment(kopek, payment))["amount_refunded"] == 450
    await books_ok(kopek)


async def test_refund_books_a_balanced_transaction_and_returns_the_fee_share(kopek) -> None:
    payment = await paid(kopek, amount=1000)
    fee = (await get_payment(kopek, payment))["fee"]
    await refund(kopek, payment=payment["id"])
    rows = await kopek.app[keys.STORE]._fetchall(
        "SELECT p.account, p.amount FROM ledger_postings p JOIN ledger_transactions t ON t.id = p.transaction_id "
        "WHERE t.kind='refund'")
    legs = {row[0].split(":", 1)[0] + ":" + row[0].rsplit(":", 1)[1]: row[1] for row in rows}
    assert sum(legs.values()) == 0
    assert legs["kopek:refunds_in_transit"] == -1000
    assert legs["merchant:pending"] == 1000 - fee
    if fee:
        assert legs["kopek:fee_revenue"] == fee
    await books_ok(kopek)


async def test_refund_events_reach_the_feed_and_the_outbox(kopek) -> None:
    payment = await paid(kopek)
    await refund(kopek, payment=payment["id"], amount=199)
    await refund(kopek, payment=payment["id"], amount=100)
    outbox = await kopek.app[keys.STORE].outbox(kopek.merchant.merchant.id)
    refund_rows = [row for row in outbox if row["type"].startswith("refund.")]
    assert [row["type"] for row in refund_rows] == ["refund.failed", "refund.succeeded"]
    payload = refund_rows[1]["payload"]
    assert (payload["object"], payload["amount"], payload["payment_object"]["amount_refunded"]) == ("refund", 100, 100)
    feed = await (await kopek.client.get("/v1/events", params={"type": "refund.*"}, headers=kopek.auth())).json()
    assert [e["type"] for e in feed["data"]] == ["refund.failed", "refund.succeeded"]


@pytest.mark.parametrize("body, code", [
    ({"amount": -5}, "parameter_invalid"),
    ({"amount": 0}, "parameter_invalid"),
    ({"amount": 1.5}, "parameter_invalid"),
    ({"amount": "100"}, "parameter_invalid"),
    ({"amount": 501}, "amount_too_large"),
    ({"currency": "USD"}, "currency_mismatch"),
    ({"currency": "XXX"}, "parameter_invalid"),
    ({"reason": 5}, "parameter_invalid"),
])
async def test_bad_refunds_are_refused_and_move_no_money(kopek, body, code) -> None:
    payment = await paid(kopek)
    status, answer = await refund(kopek, payment=payment["id"], **body)
    assert (status, answer["error"]["code"]) == (400, code), answer
    assert (await get_payment(kopek, payment))["amount_refunded"] == 0
    assert await kopek.app[keys.STORE]._fetchall("SELECT * FROM refunds") == []


async def test_refund_of_a_payment_that_has_not_succeeded(kopek) -> None:
    payment = await kopek.create_payment(order_id="unpaid")
    status, answer = await refund(kopek, payment=payment["id"])
    assert (status, answer["error"]["code"]) == (400, "payment_not_refundable")


async def test_unknown_and_foreign_payments_and_refunds_are_404(kopek) -> None:
    status, answer = await refund(kopek, payment="pay_doesnotexist")
    assert status == 404 and answer["error"]["code"] == "resource_missing"
    payment = await paid(kopek)
    _, made = await refund(kopek, payment=payment["id"], amount=100)
    other_key = (await create_merchant(kopek.app[keys.STORE], "Other", [])).secret_key
    headers = kopek.auth(other_key)
    assert (await kopek.client.post("/v1/refunds", json={"payment": payment["id"]}, headers=headers)).status == 404
    assert (await kopek.client.get(f"/v1/refunds/{made['id']}", headers=headers)).status == 404
    assert (await kopek.client.get("/v1/refunds", params={"payment": payment["id"]}, headers=headers)).status == 404
    assert (await kopek.client.get("/v1/refunds/re_nope", headers=kopek.auth())).status == 404
    assert (await kopek.client.get("/v1/refunds", headers=kopek.auth())).status == 400
    assert (await get_payment(kopek, payment))["amount_refunded"] == 100


async def test_openapi_documents_the_refund_endpoints(kopek) -> None:
    spec = await (await kopek.client.get("/v1/openapi.json")).json()
    assert {"post", "get"} <= set(spec["paths"]["/v1/refunds"])
    assert "get" in spec["paths"]["/v1/refunds/{id}"]
    assert "amount_refunded" in spec["components"]["schemas"]["Payment"]["properties"]


class Unreachable:
    """The wallet is down for the next `times` refund calls (the provider is outside the system)."""

    def __init__(self, connector, times):
        self._connector, self.times = connector, times

    async def refund(self, *args):
        if self.times > 0:
            self.times -= 1
            raise ProviderError("connection refused")
        return await self._connector.refund(*args)


async def test_a_refund_the_wallet_did_not_answer_stays_pending_then_finishes(kopek, monkeypatch) -> None:
    payment = await paid(kopek)
    connectors = kopek.app[keys.REFUNDS]._connectors
    monkeypatch.setitem(connectors, "eport", Unreachable(connectors["eport"], 1))
    status, body = await refund(kopek, payment=payment["id"], amount=300)
    assert (status, body["status"]) == (202, "pending")
    assert (await get_payment(kopek, payment))["amount_refunded"] == 300   # still reserved
    status, over = await refund(kopek, payment=payment["id"], amount=201)
    assert (status, over["error"]["code"]) == (400, "amount_too_large")
    fetched = await (await kopek.client.get(f"/v1/refunds/{body['id']}", headers=kopek.auth())).json()
    assert fetched["status"] == "succeeded"
    again = await asyncio.gather(*(kopek.client.get(f"/v1/refunds/{body['id']}", headers=kopek.auth())
                                   for _ in range(3)))
    assert {(await r.json())["status"] for r in again} == {"succeeded"}
    events = await kopek.app[keys.STORE]._fetchall("SELECT type FROM outbox WHERE type LIKE 'refund.%'")
    assert [row[0] for row in events] == ["refund.succeeded"]
    await books_ok(kopek)
