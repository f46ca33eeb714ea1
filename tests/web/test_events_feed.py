"""GET /v1/events: the feed a shop polls instead of receiving webhooks."""

from __future__ import annotations

import base64

import pytest

from kopek import keys
from kopek.merchants import create_merchant
from kopek.payments.schemas import PaymentCreateSchema


async def _feed(kopek, query="", secret_key=None):
    response = await kopek.client.get(f"/v1/events{query}", headers=kopek.auth(secret_key))
    assert response.status == 200, await response.text()
    return await response.json()


async def _cancel(kopek, payment):
    response = await kopek.client.post(f"/v1/payments/{payment['id']}/cancel", headers=kopek.auth())
    assert response.status == 200


async def _all_pages(kopek, query=""):
    items, cursor, pages = [], "", 0
    while True:
        page = await _feed(kopek, f"?limit=2{query}" + (f"&after={cursor}" if cursor else ""))
        items += page["data"]
        cursor, pages = page["next_cursor"], pages + 1
        if not page["has_more"]:
            return items, cursor, pages


async def test_events_come_oldest_first_with_the_payment_as_it_was(kopek):
    first = await kopek.create_payment(order_id="F-1")
    second = await kopek.create_payment(order_id="F-2")
    await _cancel(kopek, first)
    page = await _feed(kopek)
    assert [(e["type"], e["data"]["object"]["id"], e["seq"]) for e in page["data"]] == [
        ("payment.created", first["id"], 1), ("payment.created", second["id"], 1),
        ("payment.canceled", first["id"], 2)]
    created, _, canceled = page["data"]
    assert created["id"].startswith("evt_") and created["object"] == "event"
    assert created["data"]["object"]["status"] == "requires_wallet"
    assert canceled["data"]["object"]["status"] == "canceled"
    assert "client_secret" not in created["data"]["object"]
    assert created["created_at"] <= canceled["created_at"]
    assert page["has_more"] is False and page["next_cursor"]
    events = await (await kopek.client.get(f"/v1/payments/{first['id']}/events", headers=kopek.auth())).json()
    assert [e["id"] for e in events["data"]] == [created["id"], canceled["id"]]


async def test_cursor_pages_through_everything_once_then_waits_for_new_events(kopek):
    payments = [await kopek.create_payment(order_id=f"P-{i}") for i in range(5)]
    await _cancel(kopek, payments[0])
    everything = (await _feed(kopek, "?limit=100"))["data"]
    assert len(everything) == 6

    items, cursor, pages = await _all_pages(kopek)
    assert [e["id"] for e in items] == [e["id"] for e in everything]
    assert pages == 3

    empty = await _feed(kopek, f"?after={cursor}")
    assert empty["data"] == [] and empty["has_more"] is False and empty["next_cursor"] == cursor
    await _cancel(kopek, payments[1])
    fresh = await _feed(kopek, f"?after={cursor}")
    assert [(e["type"], e["data"]["object"]["id"]) for e in fresh["data"]] == [("payment.canceled", payments[1]["id"])]


async def test_default_limit_is_20(kopek):
    for i in range(21):
        await kopek.create_payment(order_id=f"L-{i}")
    page = await _feed(kopek)
    assert len(page["data"]) == 20 and page["has_more"] is True
    rest = await _feed(kopek, f"?after={page['next_cursor']}")
    assert [e["data"]["object"]["order_id"] for e in rest["data"]] == ["L-20"]


async def test_type_filters_exact_repeated_and_prefix(kopek):
    first = await kopek.create_payment(order_id="T-1")
    await kopek.create_payment(order_id="T-2")
    await _cancel(kopek, first)
    canceled = await _feed(kopek, "?type=payment.canceled")
    assert [e["type"] for e in canceled["data"]] == ["payment.canceled"]
    both = await _feed(kopek, "?type=payment.canceled&type=payment.created")
    assert [e["type"] for e in both["data"]] == ["payment.created", "payment.created", "payment.canceled"]
    prefix = await _feed(kopek, "?type=payment.*")
    assert len(prefix["data"]) == 3
    none = await _feed(kopek, "?type=payment.succeeded")
    assert none["data"] == [] and none["has_more"] is False

    items, _, pages = await _all_pages(kopek, "&type=payment.created")
    assert [e["data"]["object"]["order_id"] for e in items] == ["T-1", "T-2"] and pages == 1


async def test_other_merchants_and_the_other_mode_are_invisible(kopek):
    other = await create_merchant(kopek.app[keys.STORE], "Other", ["https://other.test"])
    theirs = await kopek.client.post("/v1/payments", headers=kopek.auth(other.secret_key),
                                     json={"amount": 500, "currency": "RUB", "order_id": "O-1"})
    assert theirs.status == 201
    live = PaymentCreateSchema().load({"amount": 500, "currency": "RUB", "order_id": "LIVE-1"})
    await kopek.app[keys.PAYMENTS].create(merchant_id=kopek.merchant.merchant.id, livemode=True, data=live)
    mine = await kopek.create_payment(order_id="M-1")

    page = await _feed(kopek)
    assert [e["data"]["object"]["id"] for e in page["data"]] == [mine["id"]]
    their_page = await _feed(kopek, secret_key=other.secret_key)
    assert [e["data"]["object"]["order_id"] for e in their_page["data"]] == ["O-1"]
    # A cursor is only a position: another merchant's cursor still shows only this merchant's events.
    after_theirs = await _feed(kopek, f"?after={their_page['next_cursor']}")
    assert [e["data"]["object"]["id"] for e in after_theirs["data"]] == [mine["id"]]


def _cursor_of(text: str) -> str:
    return "cur_" + base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


BAD_QUERIES = [
    ("after=garbage", "after"),
    ("after=cur_", "after"),
    ("after=cur_!!!!", "after"),
    ("after=" + _cursor_of("outbox:-1"), "after"),
    ("after=" + _cursor_of("outbox:01"), "after"),
    ("after=" + _cursor_of("hello"), "after"),
    ("after=" + "cur_" + "A" * 100, "after"),
    ("after=cur_%FF", "after"),
    ("after=", "after"),
    ("type=payment.unknown", "type"),
    ("type=payout.*", "type"),
    ("type=*", "type"),
    ("type=", "type"),
    ("type=payment.created&type=nope", "type"),
    ("&".join(["type=payment.created"] * 21), "type"),
    ("limit=0", "limit"),
    ("limit=101", "limit"),
    ("limit=abc", "limit"),
    ("limit=1&limit=2", "limit"),
    ("colour=red", "colour"),
]


@pytest.mark.parametrize(("query", "param"), BAD_QUERIES, ids=[q[:40] for q, _ in BAD_QUERIES])
async def test_bad_queries_are_400_naming_the_parameter(kopek, query, param):
    await kopek.create_payment(order_id="B-1")
    response = await kopek.client.get(f"/v1/events?{query}", headers=kopek.auth())
    assert response.status == 400, await response.text()
    error = (await response.json())["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param, error
    assert error["message"] and error["request_id"]


async def test_the_feed_needs_a_secret_key(kopek):
    for headers in ({}, {"Authorization": "Bearer sk_test_wrong"},
                    {"Authorization": f"Bearer {kopek.merchant.live_secret_key}"}):
        response = await kopek.client.get("/v1/events", headers=headers)
        assert response.status == 401


async def test_openapi_documents_the_feed(kopek):
    spec = await (await kopek.client.get("/v1/openapi.json")).json()
    operation = spec["paths"]["/v1/events"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"after", "type", "limit"}
    page_ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    page = spec["components"]["schemas"][page_ref.rsplit("/", 1)[1]]
    assert {"data", "has_more", "next_cursor"} <= set(page["properties"])
