"""Idempotency-Key on the server API's POSTs, as a shop's developer relies on it."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from aiohttp import web

from kopek import keys
from kopek.app import create_app
from kopek.idempotency import RequestPrint
from kopek.merchants import create_merchant
from kopek.settings import Settings, settings_from_env
from kopek.store.idempotency import IdempotencyStore, KeyScope
from kopek.web.requests import authenticate
from support import SUCCEEDS, attempt, make_settings


def _body(order_id: str, amount: int = 500) -> bytes:
    return json.dumps({"amount": amount, "currency": "RUB", "order_id": order_id}).encode()


async def _post(kopek, path, body=b"", key=None, secret_key=None):
    headers = {**kopek.auth(secret_key), "Content-Type": "application/json"}
    if key is not None:
        headers["Idempotency-Key"] = key
    response = await kopek.client.post(path, data=body, headers=headers)
    return response, await response.read()


async def _payments_for_order(kopek, order_id: str) -> int:
    row = await kopek.app[keys.STORE]._fetchone("SELECT COUNT(*) FROM payments WHERE order_id=?", (order_id,))
    return row[0]


def _error(raw: bytes) -> dict:
    return json.loads(raw)["error"]


async def test_a_retry_replays_the_first_response_byte_for_byte(kopek):
    key = str(uuid.uuid4())
    first, first_raw = await _post(kopek, "/v1/payments", _body("IK-1"), key)
    again, again_raw = await _post(kopek, "/v1/payments", _body("IK-1"), key)
    assert first.status == again.status == 201
    assert again_raw == first_raw
    assert again.headers["Content-Type"] == first.headers["Content-Type"] == "application/json; charset=utf-8"
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["X-Request-Id"] != first.headers["X-Request-Id"]
    assert await _payments_for_order(kopek, "IK-1") == 1


async def test_the_same_key_with_other_parameters_is_an_idempotency_error(kopek):
    key = "order-IK-2"
    first, first_raw = await _post(kopek, "/v1/payments", _body("IK-2"), key)
    assert first.status == 201
    payment_id = json.loads(first_raw)["id"]
    for path, body in [("/v1/payments", _body("IK-2", amount=501)),
                       ("/v1/payments", _body("IK-2").replace(b", ", b",")),  # the raw body is compared
                       (f"/v1/payments/{payment_id}/cancel", b"")]:
        response, raw = await _post(kopek, path, body, key)
        assert response.status == 400, raw
        error = _error(raw)
        assert (error["type"], error["code"], error["param"]) == (
            "idempotency_error", "idempotency_key_reused", "Idempotency-Key")
        assert "POST /v1/payments" in error["message"]
    got = await (await kopek.client.get(f"/v1/payments/{payment_id}", headers=kopek.auth())).json()
    assert got["status"] == "requires_wallet" and got["amount"] == 500
    assert await _payments_for_order(kopek, "IK-2") == 1


async def test_fifty_concurrent_requests_with_one_key_make_one_payment(kopek):
    key = str(uuid.uuid4())
    results = await asyncio.gather(*(_post(kopek, "/v1/payments", _body("IK-50"), key) for _ in range(50)))
    assert [response.status for response, _ in results] == [201] * 50
    assert len({raw for _, raw in results}) == 1
    replayed = [response.headers.get("Idempotent-Replayed") for response, _ in results]
    assert replayed.count("true") == 49 and replayed.count(None) == 1
    assert await _payments_for_order(kopek, "IK-50") == 1
    outbox = await kopek.app[keys.STORE].outbox(kopek.merchant.merchant.id)
    assert [row["type"] for row in outbox] == ["payment.created"]


async def test_cancel_twice_with_one_key_replays_the_first_200(kopek):
    payment = await kopek.create_payment(order_id="IK-C")
    path = f"/v1/payments/{payment['id']}/cancel"
    first, first_raw = await _post(kopek, path, key="cancel-IK-C")
    again, again_raw = await _post(kopek, path, key="cancel-IK-C")
    assert first.status == again.status == 200
    assert json.loads(first_raw)["status"] == "canceled"
    assert again_raw == first_raw and again.headers["Idempotent-Replayed"] == "true"
    without_key, raw = await _post(kopek, path)
    assert without_key.status == 409 and _error(raw)["code"] == "invalid_state"
    other_key, raw = await _post(kopek, path, key="cancel-IK-C-2")
    assert other_key.status == 409 and "Idempotent-Replayed" not in other_key.headers


async def test_a_404_and_a_409_are_kept_and_replayed(kopek):
    missing, missing_raw = await _post(kopek, "/v1/payments/pay_nothing/cancel", key="k-404")
    again, again_raw = await _post(kopek, "/v1/payments/pay_nothing/cancel", key="k-404")
    assert missing.status == again.status == 404 and again_raw == missing_raw
    assert again.headers["Idempotent-Replayed"] == "true"

    await kopek.create_payment(order_id="IK-D")
    duplicate, duplicate_raw = await _post(kopek, "/v1/payments", _body("IK-D"), "k-409")
    again, again_raw = await _post(kopek, "/v1/payments", _body("IK-D"), "k-409")
    assert duplicate.status == again.status == 409 and again_raw == duplicate_raw
    assert _error(again_raw)["code"] == "duplicate_order"


async def test_refused_input_is_not_kept_so_the_fixed_request_may_reuse_the_key(kopek):
    bad = json.dumps({"amount": "lots", "currency": "RUB", "order_id": "IK-F"}).encode()
    refused, raw = await _post(kopek, "/v1/payments", bad, "fix-and-retry")
    assert refused.status == 400 and _error(raw)["param"] == "amount"
    fixed, fixed_raw = await _post(kopek, "/v1/payments", _body("IK-F"), "fix-and-retry")
    assert fixed.status == 201 and "Idempotent-Replayed" not in fixed.headers
    again, again_raw = await _post(kopek, "/v1/payments", _body("IK-F"), "fix-and-retry")
    assert again_raw == fixed_raw and again.headers["Idempotent-Replayed"] == "true"


async def test_a_body_that_is_not_json_is_415_style_400_and_not_kept(kopek):
    response = await kopek.client.post("/v1/payments", data=b"amount=5", headers={
        **kopek.auth(), "Idempotency-Key": "form", "Content-Type": "application/x-www-form-urlencoded"})
    assert response.status == 400
    assert (await response.json())["error"]["code"] == "unsupported_media_type"
    assert await IdempotencyStore(kopek.app[keys.STORE]).count(kopek.merchant.merchant.id) == 0


@pytest.mark.parametrize("key", ["", "k" * 256, "tab\there"], ids=["empty", "256-chars", "tab"])
async def test_an_invalid_key_is_400(kopek, key):
    response, raw = await _post(kopek, "/v1/payments", _body("IK-BAD"), key)
    assert response.status == 400, raw
    error = _error(raw)
    assert (error["code"], error["param"]) == ("idempotency_key_invalid", "Idempotency-Key")
    assert await _payments_for_order(kopek, "IK-BAD") == 0


@pytest.mark.parametrize(("key", "code"), [(b"\xff\xfe", "invalid_encoding"),
                                           (b"bell\x07", None), (b"nul\x00", None)], ids=["not-utf8", "bell", "nul"])
async def test_raw_bytes_in_the_key_are_400(kopek, key, code):
    """Sent over a raw socket: aiohttp's client refuses to send these. aiohttp's server itself refuses
    most control characters before any handler runs (a plain 400); what reaches us gets the envelope."""
    body = _body("IK-RAW")
    reader, writer = await asyncio.open_connection(kopek.server.host, kopek.server.port)
    writer.write(b"POST /v1/payments HTTP/1.1\r\nHost: kopek\r\nConnection: close\r\n"
                 b"Authorization: Bearer " + kopek.merchant.secret_key.encode() + b"\r\n"
                 b"Content-Type: application/json\r\nIdempotency-Key: " + key + b"\r\n"
                 b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    raw = await reader.read()
    writer.close()
    await writer.wait_closed()
    head, _, payload = raw.partition(b"\r\n\r\n")
    assert head.split(b" ")[1] == b"400"
    if code is not None:
        assert _error(payload)["code"] == code
    assert await _payments_for_order(kopek, "IK-RAW") == 0


async def test_a_key_of_255_characters_works(kopek):
    response, _ = await _post(kopek, "/v1/payments", _body("IK-255"), "k" * 255)
    assert response.status == 201


async def test_two_key_headers_are_400(kopek):
    headers = [("Authorization", f"Bearer {kopek.merchant.secret_key}"), ("Content-Type", "application/json"),
               ("Idempotency-Key", "one"), ("Idempotency-Key", "two")]
    response = await kopek.client.post("/v1/payments", data=_body("IK-2H"), headers=headers)
    assert response.status == 400
    assert (await response.json())["error"]["code"] == "idempotency_key_invalid"


async def test_a_wrong_secret_key_is_401_before_the_idempotency_key_is_looked_at(kopek):
    response, raw = await _post(kopek, "/v1/payments", _body("IK-401"), "k" * 300, secret_key="sk_test_wrong")
    assert response.status == 401 and _error(raw)["type"] == "authentication_error"


async def test_keys_belong_to_one_merchant(kopek):
    other = await create_merchant(kopek.app[keys.STORE], "Other", ["https://other.test"])
    mine, mine_raw = await _post(kopek, "/v1/payments", _body("IK-M1"), "shared-key")
    theirs, theirs_raw = await _post(kopek, "/v1/payments", _body("IK-M2", amount=900), "shared-key",
                                     secret_key=other.secret_key)
    assert mine.status == theirs.status == 201
    assert "Idempotent-Replayed" not in theirs.headers
    assert json.loads(theirs_raw)["id"] != json.loads(mine_raw)["id"]
    replay, replay_raw = await _post(kopek, "/v1/payments", _body("IK-M2", amount=900), "shared-key",
                                     secret_key=other.secret_key)
    assert replay_raw == theirs_raw


async def test_keys_belong_to_one_mode(kopek):
    store = IdempotencyStore(kopek.app[keys.STORE])
    merchant_id = kopek.merchant.merchant.id
    test_claim = await store.claim(KeyScope(merchant_id, False, "k"), token="t1", fingerprint="a",
                                   method="POST", path="/v1/payments", created_after="")
    live_claim = await store.claim(KeyScope(merchant_id, True, "k"), token="t2", fingerprint="b",
                                   method="POST", path="/v1/payments", created_after="")
    assert (test_claim.token, live_claim.token) == ("t1", "t2")


async def test_checkout_attempts_keep_their_own_keys(kopek):
    payment = await kopek.create_payment(order_id="IK-CO")
    key = str(uuid.uuid4())
    first = await kopek.client.post(
        f"/v1/checkout/{payment['id']}/attempts", json={"wallet": "webmoney", "details": {"account": SUCCEEDS}},
        headers={**kopek.checkout_headers(payment), **kopek.auth(), "Idempotency-Key": key})
    assert first.status == 200, await first.text()
    again = await attempt(kopek, payment, SUCCEEDS, key=key)
    assert again.status == 200 and "Idempotent-Replayed" not in again.headers
    rows = await kopek.app[keys.STORE]._fetchall("SELECT id FROM attempts WHERE payment_id=?", (payment["id"],))
    assert len(rows) == 1
    short = await attempt(kopek, payment, SUCCEEDS, key="short")
    assert short.status == 400 and "8-255" in (await short.json())["error"]["message"]
    assert await IdempotencyStore(kopek.app[keys.STORE]).count(kopek.merchant.merchant.id) == 0


async def test_gets_and_requests_without_a_key_are_untouched(kopek):
    response = await kopek.client.get("/v1/payments", headers={**kopek.auth(), "Idempotency-Key": "k" * 300})
    assert response.status == 200
    await kopek.create_payment(order_id="IK-N")
    assert await IdempotencyStore(kopek.app[keys.STORE]).count(kopek.merchant.merchant.id) == 0


async def test_openapi_documents_the_header_on_every_post(kopek):
    spec = await (await kopek.client.get("/v1/openapi.json")).json()
    # The guard keys secret-key requests; the checkout frame's and the button form's POSTs are not covered.
    posts = [op for path in spec["paths"].values() for method, op in path.items()
             if method == "post" and op["security"] == [{"secretKey": []}]]
    assert posts and all(any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in op["parameters"])
                         for op in posts)


class TestShortLivedKeys:
    @pytest.fixture
    def kopek_settings(self, tmp_path, unused_tcp_port):
        return make_settings(tmp_path, unused_tcp_port, idempotency_ttl_s=0.3)

    async def test_keys_are_purged_after_the_ttl(self, kopek):
        store = IdempotencyStore(kopek.app[keys.STORE])
        first, _ = await _post(kopek, "/v1/payments", _body("IK-T1"), "short-lived")
        assert first.status == 201 and await store.count(kopek.merchant.merchant.id) == 1
        for _ in range(100):
            if await store.count(kopek.merchant.merchant.id) == 0:
                break
            await asyncio.sleep(0.05)
        assert await store.count(kopek.merchant.merchant.id) == 0
        reused, raw = await _post(kopek, "/v1/payments", _body("IK-T2"), "short-lived")
        assert reused.status == 201, raw
        assert "Idempotent-Replayed" not in reused.headers


class TestShortWaits:
    @pytest.fixture
    def kopek_settings(self, tmp_path, unused_tcp_port):
        return make_settings(tmp_path, unused_tcp_port, idempotency_wait_s=0.2)

    async def test_a_key_held_too_long_by_another_request_is_409_in_use(self, kopek):
        store = IdempotencyStore(kopek.app[keys.STORE])
        body = _body("IK-H")
        held = RequestPrint.of("POST", "/v1/payments", body)
        scope = KeyScope(kopek.merchant.merchant.id, False, "held")
        await store.claim(scope, token="elsewhere", fingerprint=held.fingerprint, method="POST",
                          path="/v1/payments", created_after="")
        response, raw = await _post(kopek, "/v1/payments", body, "held")
        assert response.status == 409
        error = _error(raw)
        assert (error["type"], error["code"]) == ("idempotency_error", "idempotency_key_in_use")
        assert await _payments_for_order(kopek, "IK-H") == 0
        await store.release(scope, "elsewhere")
        response, raw = await _post(kopek, "/v1/payments", body, "held")
        assert response.status == 201, raw


async def test_a_server_error_is_not_kept_so_a_retry_runs_again(tmp_path, unused_tcp_port, aiohttp_client):
    """A route that fails once: the 500 is not replayed; the retry runs and its 201 is."""
    app = create_app(make_settings(tmp_path, unused_tcp_port))
    runs = []

    async def flaky(request: web.Request) -> web.Response:
        await authenticate(request)
        runs.append(await request.json())
        if len(runs) == 1:
            raise RuntimeError("the first run breaks")
        return web.json_response({"run": len(runs)}, status=201)

    app.router.add_post("/v1/flaky", flaky)
    client = await aiohttp_client(app)
    merchant = await create_merchant(app[keys.STORE], "Shop", ["https://shop.test"])
    headers = {"Authorization": f"Bearer {merchant.secret_key}", "Idempotency-Key": "flaky"}
    statuses = []
    for _ in range(3):
        response = await client.post("/v1/flaky", json={"x": 1}, headers=headers)
        statuses.append((response.status, await response.read(), response.headers.get("Idempotent-Replayed")))
    assert statuses[0][0] == 500 and statuses[1][:2] == statuses[2][:2] == (201, b'{"run": 2}')
    assert (statuses[1][2], statuses[2][2]) == (None, "true")
    assert len(runs) == 2


def test_settings_come_from_the_environment_and_are_checked():
    settings = settings_from_env({"KOPEK_IDEMPOTENCY_TTL_S": "3600", "KOPEK_IDEMPOTENCY_WAIT_S": "2.5"})
    assert (settings.idempotency_ttl_s, settings.idempotency_wait_s) == (3600, 2.5)
    assert Settings().idempotency_ttl_s == 86400
    for bad in ({"idempotency_ttl_s": 0}, {"idempotency_wait_s": -1}):
        with pytest.raises(ValueError, match="idempotency"):
            Settings(**bad)


async def test_endpoints_added_later_are_covered_too(kopek):
    """Nothing in the webhook endpoints' code knows about idempotency keys; the middleware covers it."""
    body = json.dumps({"url": "https://shop.test/hooks"}).encode()
    first, first_raw = await _post(kopek, "/v1/webhook_endpoints", body, "hook-1")
    again, again_raw = await _post(kopek, "/v1/webhook_endpoints", body, "hook-1")
    assert first.status == again.status == 201, first_raw
    assert again.headers["Idempotent-Replayed"] == "true"
    # Byte for byte but for the secret, which is shown once (see the next test).
    created, replayed = json.loads(first_raw), json.loads(again_raw)
    assert {**created, "secret": None, "secret_shown_once": True} == replayed
    listed = await (await kopek.client.get("/v1/webhook_endpoints", headers=kopek.auth())).json()
    assert [e["id"] for e in listed["data"]] == [json.loads(first_raw)["id"]]


async def test_a_replayed_secret_is_not_stored_or_shown_again(kopek):
    headers = {**kopek.auth(), "Idempotency-Key": "webhook-create-1"}
    body = {"url": "http://127.0.0.1:9/hooks"}
    first = await kopek.client.post("/v1/webhook_endpoints", json=body, headers=headers)
    created = await first.json()
    assert created["secret"].startswith("whsec_")
    again = await kopek.client.post("/v1/webhook_endpoints", json=body, headers=headers)
    replayed = await again.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert replayed["id"] == created["id"] and replayed["secret"] is None and replayed["secret_shown_once"] is True
    raw = b"".join(p.read_bytes() for p in kopek.app[keys.SETTINGS].db_path.parent.iterdir()
                   if p.name.startswith("kopek.db"))
    assert created["secret"].encode() not in raw
