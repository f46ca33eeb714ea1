"""The server API as a shop's developer meets it: good paths and every bad input."""

from __future__ import annotations

import json

import pytest

from kopek import keys
from kopek.merchants import create_merchant

pytestmark = pytest.mark.usefixtures("kopek")


async def test_create_payment_returns_the_documented_object(kopek):
    response = await kopek.client.post("/v1/payments", headers=kopek.auth(), json={
        "amount": 1, "currency": "RUB", "order_id": "A-1", "description": "One kopeck",
        "metadata": {"sku": "pdf-42"}})
    assert response.status == 201
    payment = await response.json()
    assert payment["id"].startswith("pay_")
    assert payment["object"] == "payment"
    assert payment["status"] == "requires_wallet"
    assert (payment["amount"], payment["currency"], payment["order_id"]) == (1, "RUB", "A-1")
    assert payment["client_secret"].startswith(payment["id"] + "_secret_")
    assert payment["livemode"] is False
    assert payment["metadata"] == {"sku": "pdf-42"}
    assert payment["next_action"] is None and payment["wallet"] is None
    assert payment["expires_at"] > payment["created_at"]
    assert response.headers["X-Request-Id"]


async def test_get_list_and_events(kopek):
    first = await kopek.create_payment(order_id="L-1")
    second = await kopek.create_payment(order_id="L-2", amount=700)
    got = await (await kopek.client.get(f"/v1/payments/{first['id']}", headers=kopek.auth())).json()
    assert got == first

    page = await (await kopek.client.get("/v1/payments?limit=1", headers=kopek.auth())).json()
    assert [p["id"] for p in page["data"]] == [second["id"]] and page["has_more"] is True
    rest = await (await kopek.client.get(f"/v1/payments?limit=1&starting_after={second['id']}",
                                         headers=kopek.auth())).json()
    assert [p["id"] for p in rest["data"]] == [first["id"]] and rest["has_more"] is False

    by_order = await (await kopek.client.get("/v1/payments?order_id=L-2", headers=kopek.auth())).json()
    assert [p["id"] for p in by_order["data"]] == [second["id"]]
    by_status = await (await kopek.client.get("/v1/payments?status=succeeded", headers=kopek.auth())).json()
    assert by_status["data"] == []

    events = await (await kopek.client.get(f"/v1/payments/{first['id']}/events", headers=kopek.auth())).json()
    assert [(e["seq"], e["type"]) for e in events["data"]] == [(1, "payment.created")]
    assert events["data"][0]["payment"]["status"] == "requires_wallet"


async def test_cancel_then_cancel_again_is_409_with_status(kopek):
    payment = await kopek.create_payment(order_id="C-1")
    response = await kopek.client.post(f"/v1/payments/{payment['id']}/cancel", headers=kopek.auth())
    assert response.status == 200 and (await response.json())["status"] == "canceled"
    again = await kopek.client.post(f"/v1/payments/{payment['id']}/cancel", headers=kopek.auth())
    assert again.status == 409
    error = (await again.json())["error"]
    assert error["code"] == "invalid_state" and error["status"] == "canceled"
    assert "canceled" in error["message"]


async def test_a_canceled_order_can_be_paid_by_a_new_payment(kopek):
    payment = await kopek.create_payment(order_id="R-1")
    await kopek.client.post(f"/v1/payments/{payment['id']}/cancel", headers=kopek.auth())
    await kopek.create_payment(order_id="R-1")


async def test_wallets_describe_their_forms(kopek):
    response = await kopek.client.get("/v1/wallets", headers=kopek.auth())
    wallets = {w["id"]: w for w in (await response.json())["data"]}
    webmoney = wallets["webmoney"]
    assert webmoney["confirmation"] == "enter_code"
    field = webmoney["fields"][0]
    assert set(field) >= {"name", "label", "type", "pattern", "required"}
    assert set(field["label"]) == {"en", "ru"}
    assert {"currency": "RUB", "min_amount": 1, "max_amount": 1_500_000} in webmoney["limits"]


async def test_openapi_is_generated_from_the_schemas(kopek):
    spec = await (await kopek.client.get("/v1/openapi.json")).json()
    assert spec["openapi"].startswith("3.")
    create = spec["paths"]["/v1/payments"]["post"]
    schema_ref = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = spec["components"]["schemas"][schema_ref.rsplit("/", 1)[1]]
    assert set(schema["required"]) == {"amount", "currency", "order_id"}
    assert {"/v1/payments/{id}", "/v1/payments/{id}/cancel", "/v1/payments/{id}/events",
            "/v1/wallets"} <= set(spec["paths"])


BAD_BODIES = [
    ({"amount": 0}, "amount"),
    ({"amount": -5}, "amount"),
    ({"amount": 1.5}, "amount"),
    ({"amount": "500"}, "amount"),
    ({"amount": True}, "amount"),
    ({"amount": 10**15}, "amount"),
    ({"currency": "XYZ"}, "currency"),
    ({"currency": 643}, "currency"),
    ({"order_id": ""}, "order_id"),
    ({"order_id": None}, "order_id"),
    ({"surprise": 1}, "surprise"),
    ({"return_url": "javascript:alert(1)"}, "return_url"),
    ({"metadata": {"k": 1}}, "metadata"),
    ({"metadata": {f"k{i}": "v" for i in range(21)}}, "metadata"),
    ({"expires_in": 5}, "expires_in"),
    ({"wallets": ["paypal"]}, "wallets"),
    ({"wallets": []}, "wallets"),
]


@pytest.mark.parametrize(("change", "param"), BAD_BODIES, ids=[p + "-" + json.dumps(c)[:30] for c, p in BAD_BODIES])
async def test_bad_fields_are_400_naming_the_field(kopek, change, param):
    body = {"amount": 500, "currency": "RUB", "order_id": "B-1", **change}
    response = await kopek.client.post("/v1/payments", json=body, headers=kopek.auth())
    assert response.status == 400
    error = (await response.json())["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param, error
    assert error["message"] and error["request_id"]
    await _assert_no_payments(kopek)


@pytest.mark.parametrize("missing", ["amount", "currency", "order_id"])
async def test_missing_fields_are_400(kopek, missing):
    body = {"amount": 500, "currency": "RUB", "order_id": "M-1"}
    del body[missing]
    response = await kopek.client.post("/v1/payments", json=body, headers=kopek.auth())
    error = (await response.json())["error"]
    assert response.status == 400 and error["param"] == missing
    assert "fields" in error and missing in error["fields"]


async def test_amount_above_every_wallets_limit_is_400(kopek):
    response = await kopek.client.post("/v1/payments", headers=kopek.auth(),
                                       json={"amount": 1_500_001, "currency": "RUB", "order_id": "X-1"})
    error = (await response.json())["error"]
    assert response.status == 400 and error["code"] == "amount_outside_wallet_limits"
    assert "1500000" in error["message"]


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b"\xff\xfe", b'"text"'])
async def test_invalid_json_is_400(kopek, raw):
    response = await kopek.client.post("/v1/payments", data=raw, headers={
        **kopek.auth(), "Content-Type": "application/json"})
    assert response.status == 400
    assert (await response.json())["error"]["code"] == "invalid_json"


async def test_form_encoded_body_is_400(kopek):
    response = await kopek.client.post("/v1/payments", data={"amount": "5"}, headers=kopek.auth())
    assert response.status == 400
    assert (await response.json())["error"]["code"] == "unsupported_media_type"


async def test_body_over_64kb_is_413(kopek):
    body = json.dumps({"amount": 500, "currency": "RUB", "order_id": "big", "description": "x" * 70_000})
    response = await kopek.client.post("/v1/payments", data=body, headers={
        **kopek.auth(), "Content-Type": "application/json"})
    assert response.status == 413
    assert (await response.json())["error"]["code"] == "payload_too_large"
    await _assert_no_payments(kopek)


async def test_duplicate_order_is_409_naming_the_first_payment(kopek):
    first = await kopek.create_payment(order_id="D-1")
    response = await kopek.client.post("/v1/payments", headers=kopek.auth(),
                                       json={"amount": 500, "currency": "RUB", "order_id": "D-1"})
    error = (await response.json())["error"]
    assert response.status == 409
    assert error["code"] == "duplicate_order" and error["payment"] == first["id"]


@pytest.mark.parametrize("header", [None, "Bearer sk_test_wrong", "Basic abc", "Bearer pk_test_abc", "Bearer "])
async def test_no_or_wrong_key_is_401(kopek, header):
    headers = {"Authorization": header} if header is not None else {}
    response = await kopek.client.post("/v1/payments", headers=headers,
                                       json={"amount": 500, "currency": "RUB", "order_id": "K-1"})
    assert response.status == 401
    assert (await response.json())["error"]["type"] == "authentication_error"


async def test_live_key_on_a_sandbox_server_is_401(kopek):
    response = await kopek.client.get("/v1/payments", headers=kopek.auth(kopek.merchant.live_secret_key))
    assert response.status == 401
    assert (await response.json())["error"]["code"] == "key_mode_mismatch"


async def test_another_merchants_payment_is_404(kopek):
    other = await create_merchant(kopek.app[keys.STORE], "Other", ["https://other.test"])
    theirs = await kopek.client.post("/v1/payments", headers=kopek.auth(other.secret_key),
                                     json={"amount": 500, "currency": "RUB", "order_id": "O-1"})
    payment_id = (await theirs.json())["id"]
    for method, path in [("GET", f"/v1/payments/{payment_id}"), ("POST", f"/v1/payments/{payment_id}/cancel"),
                         ("GET", f"/v1/payments/{payment_id}/events")]:
        response = await kopek.client.request(method, path, headers=kopek.auth())
        assert response.status == 404, path
    listed = await (await kopek.client.get("/v1/payments", headers=kopek.auth())).json()
    assert listed["data"] == []


async def test_repeated_invalid_keys_are_rate_limited(kopek):
    statuses = []
    for _ in range(22):
        response = await kopek.client.get("/v1/payments", headers={"Authorization": "Bearer sk_test_guess"})
        statuses.append(response.status)
    assert statuses[:20] == [401] * 20
    assert statuses[-1] == 429
    assert response.headers["Retry-After"].isdigit()


@pytest.mark.parametrize("query", ["status=paid", "limit=0", "limit=101", "limit=-1", "limit=abc", "colour=red"])
async def test_bad_list_queries_are_400(kopek, query):
    response = await kopek.client.get(f"/v1/payments?{query}", headers=kopek.auth())
    assert response.status == 400


async def test_unknown_route_and_method_use_the_envelope(kopek):
    missing = await kopek.client.get("/v1/nothing")
    assert missing.status == 404 and (await missing.json())["error"]["code"] == "not_found"
    wrong = await kopek.client.delete("/v1/payments")
    assert wrong.status == 405 and (await wrong.json())["error"]["request_id"]


async def _assert_no_payments(kopek):
    listed = await (await kopek.client.get("/v1/payments", headers=kopek.auth())).json()
    assert listed["data"] == []
