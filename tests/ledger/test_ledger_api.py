"""The money API as a shop meets it: fee and net on payments, fee plans, the balance, settlements
and their CSV report; good paths and every bad input."""

from __future__ import annotations

import csv
import io

import aiohttp
import pytest

from kopek import keys
from kopek.errors import Conflict, InvalidRequest
from kopek.ledger import invariants
from kopek.merchants import create_merchant
from kopek.providers.registry import PLUGINS
from ledger_helpers import finish, pay, today, tomorrow
from shopper import Shopper


async def get(kopek, path, key=None, **params):
    response = await kopek.client.get(path, headers=kopek.auth(key), params=params)
    return response.status, (await response.json() if response.content_type == "application/json" else None)


async def post(kopek, path, body, key=None):
    response = await kopek.client.post(path, headers=kopek.auth(key), json=body)
    return response.status, await response.json()


def ledger(kopek):
    return kopek.app[keys.LEDGER]


def service(kopek):
    return kopek.app[keys.PAYMENTS]


async def settle_today(kopek):
    """Settle today's payments as if it were tomorrow (a day must be over to be settled)."""
    return await ledger(kopek).settlements.settle_day(today(), livemode=False, today=tomorrow())


async def assert_books_balance(kopek):
    report = await invariants.check(kopek.app[keys.STORE])
    assert report.problems == []
    return report


# -- fee and net on the payment ------------------------------------------------------------

async def test_a_sandbox_payment_shows_its_fee_and_net_once_it_succeeds_and_in_the_event(kopek):
    payment = await kopek.create_payment(amount=100, order_id="FEE-1")
    assert (payment["fee"], payment["net"]) == (None, None)
    async with aiohttp.ClientSession() as http:
        trip = await Shopper(http, kopek.base_url, f"{kopek.base_url}/sandbox/phone.json").pay(
            payment, "webmoney", PLUGINS["webmoney"].example_details(PLUGINS["webmoney"].example_account("01")))
    assert trip.final == "succeeded", trip

    status, paid = await get(kopek, f"/v1/payments/{payment['id']}")
    assert (paid["status"], paid["fee"], paid["net"]) == ("succeeded", 2, 98)   # 1.5 % of 1 rouble, half up
    status, events = await get(kopek, f"/v1/payments/{payment['id']}/events")
    by_type = {e["type"]: e["payment"] for e in events["data"]}
    assert (by_type["payment.succeeded"]["fee"], by_type["payment.succeeded"]["net"]) == (2, 98)
    assert by_type["payment.created"]["fee"] is None
    outbox = [row for row in await kopek.app[keys.STORE].outbox(kopek.merchant.merchant.id)
              if row["type"] == "payment.succeeded"]
    assert outbox[0]["payload"]["fee"] == 2   # what the webhook carries
    status, balance = await get(kopek, "/v1/balance")
    assert balance["pending"] == [{"currency": "RUB", "amount": 98}]
    assert balance["available"] == [{"currency": "RUB", "amount": 0}]
    await assert_books_balance(kopek)


async def test_the_checkout_frame_never_shows_the_shop_its_fee(kopek):
    payment = await kopek.create_payment(amount=100, order_id="FEE-2")
    await finish(service(kopek), await kopek.app[keys.STORE].get_payment(payment["id"]), "eport")
    response = await kopek.client.get(f"/v1/checkout/{payment['id']}", headers=kopek.checkout_headers(payment))
    body = await response.json()
    assert body["payment"]["status"] == "succeeded"
    assert "fee" not in body["payment"] and "net" not in body["payment"]


# -- fee plans -------------------------------------------------------------------------------

async def test_fee_plans_default_then_set_per_wallet_and_used_for_the_next_payment(kopek):
    status, plans = await get(kopek, "/v1/fee_plans")
    assert status == 200 and plans["object"] == "list"
    assert [p["wallet"] for p in plans["data"]] == list(PLUGINS)
    assert all((p["basis_points"], p["fixed"], p["minimum"], p["maximum"], p["default"]) == (150, 0, 0, None, True)
               for p in plans["data"])

    status, plan = await post(kopek, "/v1/fee_plans/eport",
                              {"basis_points": 300, "fixed": 5, "minimum": 10, "maximum": 100})
    assert status == 200
    assert plan == {"object": "fee_plan", "wallet": "eport", "basis_points": 300, "fixed": 5, "minimum": 10,
                    "maximum": 100, "default": False}
    status, plans = await get(kopek, "/v1/fee_plans")
    assert next(p for p in plans["data"] if p["wallet"] == "eport") == plan
    assert next(p for p in plans["data"] if p["wallet"] == "webmoney")["default"] is True

    merchant = kopek.merchant.merchant.id
    on_eport = await pay(service(kopek), merchant, 1_000, "eport", "PLAN-1")
    on_webmoney = await pay(service(kopek), merchant, 1_000, "webmoney", "PLAN-2")
    assert (on_eport.fee, on_eport.net) == (35, 965)          # 30 + 5
    assert (on_webmoney.fee, on_webmoney.net) == (15, 985)    # the default 1.5 %

    other = await create_merchant(kopek.app[keys.STORE], "Other shop", [])
    status, theirs = await get(kopek, "/v1/fee_plans", other.secret_key)
    assert all(p["default"] for p in theirs["data"])          # one merchant's plan is its own

    status, plan = await post(kopek, "/v1/fee_plans/eport", {"basis_points": 0, "fixed": 0, "minimum": 0})
    assert status == 200 and plan["maximum"] is None           # setting again replaces it
    await assert_books_balance(kopek)


@pytest.mark.parametrize(("body", "param"), [
    ({"basis_points": -1, "fixed": 0, "minimum": 0}, "basis_points"),
    ({"basis_points": 10001, "fixed": 0, "minimum": 0}, "basis_points"),
    ({"basis_points": 1.5, "fixed": 0, "minimum": 0}, "basis_points"),
    ({"basis_points": "150", "fixed": 0, "minimum": 0}, "basis_points"),
    ({"basis_points": True, "fixed": 0, "minimum": 0}, "basis_points"),
    ({"basis_points": 150, "fixed": -5, "minimum": 0}, "fixed"),
    ({"basis_points": 150, "fixed": 0.5, "minimum": 0}, "fixed"),
    ({"basis_points": 150, "fixed": 0, "minimum": -1}, "minimum"),
    ({"basis_points": 150, "fixed": 0, "minimum": 10, "maximum": 9}, "maximum"),
    ({"basis_points": 150, "fixed": 0, "minimum": 0, "maximum": -1}, "maximum"),
    ({"basis_points": 150, "fixed": 0, "minimum": 0, "maximum": 10**13}, "maximum"),
    ({"fixed": 0, "minimum": 0}, "basis_points"),
    ({"basis_points": 150, "fixed": 0, "minimum": 0, "currency": "RUB"}, "currency"),
])
async def test_bad_fee_plans_are_400_and_change_nothing(kopek, body, param):
    status, error = await post(kopek, "/v1/fee_plans/webmoney", body)
    assert status == 400, error
    assert error["error"]["param"] == param and error["error"]["code"] == "parameter_invalid"
    status, plans = await get(kopek, "/v1/fee_plans")
    assert next(p for p in plans["data"] if p["wallet"] == "webmoney")["default"] is True


async def test_fee_plans_for_unknown_wallets_without_keys_or_json_are_refused(kopek):
    status, error = await post(kopek, "/v1/fee_plans/paypal", {"basis_points": 1, "fixed": 0, "minimum": 0})
    assert status == 404 and error["error"]["param"] == "wallet"
    response = await kopek.client.post("/v1/fee_plans/webmoney", json={"basis_points": 1, "fixed": 0, "minimum": 0})
    assert response.status == 401
    response = await kopek.client.get("/v1/fee_plans")
    assert response.status == 401
    response = await kopek.client.post("/v1/fee_plans/webmoney", data="{", headers={
        **kopek.auth(), "Content-Type": "application/json"})
    assert response.status == 400 and (await response.json())["error"]["code"] == "invalid_json"


async def test_a_payment_whose_fee_would_exceed_it_is_refused_at_creation(kopek):
    await post(kopek, "/v1/fee_plans/webmoney", {"basis_points": 0, "fixed": 5, "minimum": 0})
    response = await kopek.client.post("/v1/payments", headers=kopek.auth(),
                                       json={"amount": 4, "currency": "RUB", "order_id": "TINY-1"})
    error = (await response.json())["error"]
    assert response.status == 400
    assert (error["code"], error["param"], error["fee"]) == ("amount_below_fee", "amount", 5)
    status, listed = await get(kopek, "/v1/payments")
    assert listed["data"] == []                                     # nothing was created

    assert (await kopek.create_payment(amount=4, order_id="TINY-2", wallets=["eport"]))["status"] == "requires_wallet"
    exact = await kopek.create_payment(amount=5, order_id="TINY-3")  # the fee may take it all, never more
    paid = await finish(service(kopek), await kopek.app[keys.STORE].get_payment(exact["id"]), "webmoney")
    assert (paid.fee, paid.net) == (5, 0)
    await kopek.client.post("/v1/wallets/webmoney", headers=kopek.auth(), json={"enabled": False})
    assert (await kopek.create_payment(amount=4, order_id="TINY-4"))["status"] == "requires_wallet"
    await assert_books_balance(kopek)


# -- balance -----------------------------------------------------------------------------------

async def test_the_balance_moves_from_pending_to_available_when_providers_settle(kopek):
    status, empty = await get(kopek, "/v1/balance")
    assert status == 200 and empty == {"object": "balance", "livemode": False, "pending": [], "available": []}
    merchant = kopek.merchant.merchant.id
    await pay(service(kopek), merchant, 10_000, "webmoney", "B-1")
    await pay(service(kopek), merchant, 500, "yandex_dengi", "B-2")
    await pay(service(kopek), merchant, 700, "webmoney", "B-3", succeed=False)
    await pay(service(kopek), merchant, 200, "webmoney", "B-4", currency="USD")
    status, balance = await get(kopek, "/v1/balance")
    assert balance["pending"] == [{"currency": "RUB", "amount": 9850 + 492}, {"currency": "USD", "amount": 197}]
    assert balance["available"] == [{"currency": "RUB", "amount": 0}, {"currency": "USD", "amount": 0}]

    made = await ledger(kopek).provider_settler.run_once()
    assert sorted((s.wallet, s.currency, s.amount, s.payments_count) for s in made) == [
        ("webmoney", "RUB", 10_000, 1), ("webmoney", "USD", 200, 1), ("yandex_dengi", "RUB", 500, 1)]
    assert await ledger(kopek).provider_settler.run_once() == []     # each payment is settled once
    status, balance = await get(kopek, "/v1/balance")
    assert balance["pending"] == [{"currency": "RUB", "amount": 0}, {"currency": "USD", "amount": 0}]
    assert balance["available"] == [{"currency": "RUB", "amount": 10_342}, {"currency": "USD", "amount": 197}]

    other = await create_merchant(kopek.app[keys.STORE], "Other shop", [])
    status, theirs = await get(kopek, "/v1/balance", other.secret_key)
    assert theirs["pending"] == [] and theirs["available"] == []
    assert (await kopek.client.get("/v1/balance")).status == 401
    await assert_books_balance(kopek)


# -- settlements -------------------------------------------------------------------------------

async def make_a_day(kopek):
    merchant = kopek.merchant.merchant.id
    payments = [await pay(service(kopek), merchant, 10_000, "webmoney", "S-1"),
                await pay(service(kopek), merchant, 100, "eport", "=cmd|' /C calc'!A0"),
                await pay(service(kopek), merchant, 500, "webmoney", "S-3"),
                await pay(service(kopek), merchant, 300, "kreditpilot", "S-4"),
                await pay(service(kopek), merchant, 200, "webmoney", "S-5", currency="USD")]
    await pay(service(kopek), merchant, 999, "webmoney", "S-failed", succeed=False)
    other = await create_merchant(kopek.app[keys.STORE], "Other shop", [])
    await pay(service(kopek), other.merchant.id, 1_000, "yandex_dengi", "O-1")
    return payments, other


async def test_a_day_settles_into_one_report_per_merchant_across_all_wallets(kopek):
    payments, other = await make_a_day(kopek)
    run = await settle_today(kopek)
    assert len(run.created) == 2 and run.existing == []
    again = await settle_today(kopek)
    assert again.created == [] and len(again.existing) == 2           # running it twice changes nothing

    status, listed = await get(kopek, "/v1/settlements")
    assert status == 200 and len(listed["data"]) == 1 and listed["has_more"] is False
    settlement_id = listed["data"][0]["id"]
    status, settlement = await get(kopek, f"/v1/settlements/{settlement_id}")
    assert status == 200
    assert (settlement["object"], settlement["status"], settlement["paid_at"]) == ("settlement", "open", None)
    assert settlement["date"] == today().isoformat()
    assert settlement["totals"] == [
        {"wallet": "eport", "currency": "RUB", "count": 1, "amount": 100, "fee": 2, "net": 98},
        {"wallet": "kreditpilot", "currency": "RUB", "count": 1, "amount": 300, "fee": 5, "net": 295},
        {"wallet": "webmoney", "currency": "RUB", "count": 2, "amount": 10_500, "fee": 158, "net": 10_342},
        {"wallet": "webmoney", "currency": "USD", "count": 1, "amount": 200, "fee": 3, "net": 197}]
    assert settlement["net_payable"] == [{"currency": "RUB", "amount": 10_735}, {"currency": "USD", "amount": 197}]
    lines = settlement["lines"]
    assert [line["id"] for line in lines["data"]] == [p.id for p in payments] and lines["has_more"] is False
    assert lines["data"][0] == {"type": "payment", "id": payments[0].id, "order_id": "S-1", "wallet": "webmoney",
                                "currency": "RUB", "amount": 10_000, "fee": 150, "net": 9_850,
                                "occurred_at": lines["data"][0]["occurred_at"]}

    status, page = await get(kopek, f"/v1/settlements/{settlement_id}", limit=2)
    assert [line["id"] for line in page["lines"]["data"]] == [p.id for p in payments[:2]]
    assert page["lines"]["has_more"] is True
    status, rest = await get(kopek, f"/v1/settlements/{settlement_id}", limit=2, starting_after=payments[1].id)
    assert [line["id"] for line in rest["lines"]["data"]] == [p.id for p in payments[2:4]]

    status, theirs = await get(kopek, "/v1/settlements", other.secret_key)
    assert [s["net_payable"] for s in theirs["data"]] == [[{"currency": "RUB", "amount": 985}]]
    status, error = await get(kopek, f"/v1/settlements/{theirs['data'][0]['id']}")
    assert status == 404 and error["error"]["code"] == "resource_missing"   # another merchant's
    await assert_books_balance(kopek)


async def test_the_csv_report_lists_every_payment_totals_per_wallet_and_the_net_payable(kopek):
    payments, _ = await make_a_day(kopek)
    await settle_today(kopek)
    status, listed = await get(kopek, "/v1/settlements")
    settlement = listed["data"][0]
    response = await kopek.client.get(f"/v1/settlements/{settlement['id']}/report.csv", headers=kopek.auth())
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="kopek-settlement-{settlement["date"]}-{settlement["id"]}.csv"')
    assert response.headers["X-Content-Type-Options"] == "nosniff" and response.headers["X-Request-Id"]
    rows = list(csv.reader(io.StringIO(await response.text())))
    assert rows[0] == ["type", "id", "order_id", "wallet", "currency", "occurred_at", "amount", "fee", "net"]
    body = [row for row in rows[1:] if row[0] == "payment"]
    assert [row[1] for row in body] == [p.id for p in payments]
    assert body[0][2:5] == ["S-1", "webmoney", "RUB"] and body[0][6:] == ["100.00", "1.50", "98.50"]
    assert body[1][2] == "'=cmd|' /C calc'!A0"       # a spreadsheet will not run the shop's order id
    assert body[1][6:] == ["1.00", "0.02", "0.98"]
    totals = [row for row in rows if row[0] == "wallet_total"]
    assert [(row[3], row[4], row[6], row[7], row[8]) for row in totals] == [
        ("eport", "RUB", "1.00", "0.02", "0.98"), ("kreditpilot", "RUB", "3.00", "0.05", "2.95"),
        ("webmoney", "RUB", "105.00", "1.58", "103.42"), ("webmoney", "USD", "2.00", "0.03", "1.97")]
    assert [(row[1], row[4], row[8]) for row in rows if row[0] == "net_payable"] == [
        (settlement["id"], "RUB", "107.35"), (settlement["id"], "USD", "1.97")]


async def test_settlement_lookups_that_go_wrong_are_clear_4xx(kopek):
    await make_a_day(kopek)
    await settle_today(kopek)
    status, listed = await get(kopek, "/v1/settlements")
    settlement_id = listed["data"][0]["id"]
    for path in ("/v1/settlements/stl_nope", "/v1/settlements/stl_nope/report.csv"):
        status, error = await get(kopek, path)
        assert status == 404 and error["error"]["code"] == "resource_missing", path
    for params in ({"limit": "0"}, {"limit": "1001"}, {"limit": "ten"}, {"starting_after": "pay_not_a_line"}):
        status, error = await get(kopek, f"/v1/settlements/{settlement_id}", **params)
        assert status == 400, params
    for params in ({"limit": "101"}, {"starting_after": "stl_nope"}):
        status, error = await get(kopek, "/v1/settlements", **params)
        assert status in (400, 404), params
    for path in ("/v1/settlements", f"/v1/settlements/{settlement_id}", f"/v1/settlements/{settlement_id}/report.csv"):
        assert (await kopek.client.get(path)).status == 401


async def test_a_future_or_current_day_cannot_be_settled(kopek):
    settlements = ledger(kopek).settlements
    for day in (tomorrow(), today()):
        with pytest.raises(InvalidRequest) as refused:
            await settlements.settle_day(day, livemode=False)
        assert refused.value.code == "settlement_date_not_past"


async def test_a_settlement_is_paid_once_and_only_with_money_the_providers_have_paid(kopek):
    await make_a_day(kopek)
    await settle_today(kopek)
    status, listed = await get(kopek, "/v1/settlements")
    settlement_id = listed["data"][0]["id"]
    settlements = ledger(kopek).settlements

    with pytest.raises(Conflict) as refused:
        await settlements.pay(settlement_id)
    assert refused.value.code == "funds_pending"
    status, still = await get(kopek, f"/v1/settlements/{settlement_id}")
    assert still["status"] == "open"

    await ledger(kopek).provider_settler.run_once()
    paid = await settlements.pay(settlement_id)
    assert paid.status == "paid" and paid.payout_transaction_id.startswith("ltx_")
    status, shown = await get(kopek, f"/v1/settlements/{settlement_id}")
    assert shown["status"] == "paid" and shown["paid_at"]
    status, balance = await get(kopek, "/v1/balance")
    assert balance["available"] == [{"currency": "RUB", "amount": 0}, {"currency": "USD", "amount": 0}]

    with pytest.raises(Conflict) as twice:
        await settlements.pay(settlement_id)
    assert twice.value.code == "settlement_paid"
    report = await assert_books_balance(kopek)
    assert report.figures["by_currency"]["test RUB"]["paid_out"] == 10_735


async def test_openapi_documents_the_money_endpoints_and_the_payments_fee(kopek):
    spec = await (await kopek.client.get("/v1/openapi.json")).json()
    for path, method in [("/v1/fee_plans", "get"), ("/v1/fee_plans/{wallet}", "post"), ("/v1/balance", "get"),
                         ("/v1/settlements", "get"), ("/v1/settlements/{id}", "get")]:
        assert method in spec["paths"][path], path
    payment = spec["components"]["schemas"]["Payment"]["properties"]
    assert payment["fee"]["nullable"] is True and "net" in payment
    plan = spec["components"]["schemas"]["FeePlanUpdate"]
    assert set(plan["required"]) == {"basis_points", "fixed", "minimum"}
