"""Malformed input from outside, over real HTTP: each is a 400 envelope, never a 500, and writes nothing."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

pytestmark = pytest.mark.usefixtures("kopek")

DEEP = b"[" * 60_000   # as sent in the report: under the 64 KB body cap, and never closed
DEEP_OBJECT = b'{"amount":' * 40 + b"1" + b"}" * 40
HUGE_AMOUNT = b'{"amount": ' + b"9" * 5000 + b', "currency": "RUB", "order_id": "HUGE-1"}'
SURROGATE = '"\\ud800"'
JSON = {"Content-Type": "application/json"}


async def post_raw(kopek, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    response = await kopek.client.post(path, data=body, headers={**JSON, **headers})
    return response.status, await response.json()


async def listed(kopek, path: str) -> list[dict[str, Any]]:
    response = await kopek.client.get(path, headers=kopek.auth())
    assert response.status == 200, await response.text()
    return (await response.json())["data"]


def assert_envelope(status: int, body: dict[str, Any], code: str, param: str | None = None) -> None:
    assert status == 400, body
    assert body["error"]["code"] == code, body
    assert body["error"]["request_id"]
    if param:
        assert body["error"]["param"] == param, body


# -- JSON bodies --------------------------------------------------------------------------------

@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT, b'{"a": ' + b'{"b": ' * 33 + b"1" + b"}" * 34])
async def test_deeply_nested_json_is_refused_on_the_server_api(kopek, body):
    status, answer = await post_raw(kopek, "/v1/payments", body, kopek.auth())
    assert_envelope(status, answer, "invalid_json")
    assert await listed(kopek, "/v1/payments") == []


async def test_deeply_nested_json_is_refused_on_confirm(kopek):
    payment = await kopek.create_payment(order_id="DEEP-2")
    status, answer = await post_raw(kopek, f"/v1/checkout/{payment['id']}/confirm", DEEP,
                                    kopek.checkout_headers(payment))
    assert_envelope(status, answer, "invalid_json")


async def test_a_5000_digit_amount_is_refused(kopek):
    status, answer = await post_raw(kopek, "/v1/payments", HUGE_AMOUNT, kopek.auth())
    assert_envelope(status, answer, "invalid_json")
    assert "digits" in answer["error"]["message"]
    assert await listed(kopek, "/v1/payments") == []


async def test_a_5000_digit_number_is_refused_on_confirm(kopek):
    payment = await kopek.create_payment(order_id="HUGE-2")
    status, answer = await post_raw(kopek, f"/v1/checkout/{payment['id']}/confirm",
                                    b'{"code": ' + b"1" * 5000 + b"}", kopek.checkout_headers(payment))
    assert_envelope(status, answer, "invalid_json")


@pytest.mark.parametrize("path", ["/v1/buttons", "/v1/merchant", "/v1/webhook_endpoints", "/v1/payments"])
async def test_huge_integers_are_refused_on_every_endpoint_with_a_body(kopek, path):
    status, answer = await post_raw(kopek, path, b'{"amount": -' + b"7" * 30 + b"}", kopek.auth())
    assert_envelope(status, answer, "invalid_json")


async def test_a_20_digit_amount_is_json_but_out_of_range(kopek):
    body = b'{"amount": 99999999999999999999, "currency": "RUB", "order_id": "BIG-1"}'
    status, answer = await post_raw(kopek, "/v1/payments", body, kopek.auth())
    assert_envelope(status, answer, "parameter_invalid", "amount")


def _payment_with(order_id: str) -> bytes:
    return ('{"amount": 500, "currency": "RUB", "order_id": ' + order_id + '}').encode()


@pytest.mark.parametrize("body", [
    _payment_with(SURROGATE),
    _payment_with('"ok\\udc80ok"'),
    _payment_with('"\\udc00\\ud800"'),                           # a low then a high half: no pair
    b'{"amount": 500, "currency": "RUB", "order_id": "S-1", "metadata": {"\\ud800": "x"}}',
    b'{"amount": 500, "currency": "RUB", "order_id": "\xed\xa0\x80"}',   # the surrogate as raw bytes
    b'{"amount": 500, "currency": "RUB", "order_id": "\xff"}',
])
async def test_lone_surrogates_and_bad_utf8_in_a_payment_are_refused(kopek, body):
    status, answer = await post_raw(kopek, "/v1/payments", body, kopek.auth())
    assert_envelope(status, answer, "invalid_json")
    assert await listed(kopek, "/v1/payments") == []


async def test_a_surrogate_pair_is_a_real_character(kopek):
    status, answer = await post_raw(kopek, "/v1/payments", _payment_with('"\\ud83d\\ude00"'), kopek.auth())
    assert status == 201 and answer["order_id"] == "\U0001F600"


@pytest.mark.parametrize(("path", "body", "listing"), [
    ("/v1/webhook_endpoints", '{"url": "https://shop.example/hook", "description": "\\ud800"}',
     "/v1/webhook_endpoints"),
    ("/v1/buttons", '{"amount": 500, "currency": "RUB", "description": "\\ud800"}', "/v1/buttons"),
    ("/v1/merchant", '{"check_url": "https://\\ud800.example/check"}', None),
])
async def test_lone_surrogates_are_refused_on_other_endpoints(kopek, path, body, listing):
    status, answer = await post_raw(kopek, path, body.encode(), kopek.auth())
    assert_envelope(status, answer, "invalid_json")
    if listing:
        assert await listed(kopek, listing) == []
    else:
        merchant = await (await kopek.client.get("/v1/merchant", headers=kopek.auth())).json()
        assert merchant["check_url"] is None


@pytest.mark.parametrize("body", [b"[]", b'"text"', b"12", b"null"])
async def test_a_body_that_is_not_an_object_is_refused(kopek, body):
    status, answer = await post_raw(kopek, "/v1/payments", body, kopek.auth())
    assert_envelope(status, answer, "invalid_json")


@pytest.mark.parametrize("body", [b'{"amount": NaN}', b'{"amount": 1, "amount": 2}', b"{"])
async def test_nan_repeated_keys_and_broken_json_are_refused(kopek, body):
    status, answer = await post_raw(kopek, "/v1/payments", body, kopek.auth())
    assert_envelope(status, answer, "invalid_json")


# -- the path, the query string and headers ------------------------------------------------------

async def raw_request(kopek, head: bytes) -> tuple[int, bytes]:
    """Bytes no HTTP client library would send, straight onto the socket."""
    reader, writer = await asyncio.open_connection(kopek.server.host, kopek.server.port)
    try:
        writer.write(head)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(65536), 5)
    finally:
        writer.close()
        await writer.wait_closed()
    status = int(answer.split(b" ", 2)[1])
    return status, answer


@pytest.mark.parametrize("target", [
    "/v1/payments/%ED%A0%80", "/v1/payments?order_id=%ED%A0%80", "/v1/payments?starting_after=%ED%A0%80%ED%A0%80",
    "/v1/payments/pay_%ED%A0%80/events", "/v1/checkout/%ED%A0%80", "/pay/%ED%A0%80",
    "/v1/payments?order_id=%FF",
])
async def test_percent_encoded_surrogates_in_the_url_are_refused(kopek, target):
    response = await kopek.client.get(target, headers=kopek.auth())
    assert response.status == 400, await response.text()
    if response.content_type == "application/json":
        error = (await response.json())["error"]
        assert error["code"] == "invalid_encoding"
        assert error.get("param") == (target.partition("?")[2].partition("=")[0] or None)


def _post_head(path: str, headers: list[bytes], body: bytes) -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n").encode() + b"".join(h + b"\r\n" for h in headers) + b"\r\n" + body


@pytest.mark.parametrize("header", [b"Idempotency-Key: \xed\xa0\x80abc", b"Idempotency-Key: k\xff",
                                    b"X-Anything: \xed\xa0\x80", b"Authorization: Bearer sk_test_\xed\xa0\x80"])
async def test_bad_utf8_in_a_header_is_refused(kopek, header):
    auth = b"Authorization: Bearer " + kopek.merchant.secret_key.encode()
    headers = [header] if header.startswith(b"Authorization") else [auth, header]
    body = b'{"amount": 500, "currency": "RUB", "order_id": "H-1"}'
    status, answer = await raw_request(kopek, _post_head("/v1/payments", headers, body))
    assert status == 400, answer
    assert b"invalid_encoding" in answer
    assert await listed(kopek, "/v1/payments") == []


async def test_bad_utf8_in_the_client_secret_is_refused(kopek):
    payment = await kopek.create_payment(order_id="H-2")
    status, answer = await raw_request(kopek, _post_head(
        f"/v1/checkout/{payment['id']}/cancel", [b"Kopek-Client-Secret: " + payment["client_secret"].encode()
                                                 + b"\xed\xa0\x80"], b"{}"))
    assert status == 400 and b"invalid_encoding" in answer, answer
    got = await (await kopek.client.get(f"/v1/payments/{payment['id']}", headers=kopek.auth())).json()
    assert got["status"] == "requires_wallet"


async def test_a_surrogate_in_a_dashboard_form_never_reaches_the_database(kopek):
    response = await kopek.client.post("/dashboard/login", data="email=%ED%A0%80&password=%ED%A0%80",
                                       headers={"Content-Type": "application/x-www-form-urlencoded"},
                                       allow_redirects=False)
    assert response.status < 500


# -- integer query parameters ---------------------------------------------------------------------

TOO_BIG = str(2**63)


async def test_event_cursors_beyond_64_bits_are_refused(kopek):
    payment = await kopek.create_payment(order_id="CUR-1")
    for path, headers in ((f"/v1/payments/{payment['id']}/events", kopek.auth()),
                          (f"/v1/checkout/{payment['id']}/events", kopek.checkout_headers(payment))):
        for value in (TOO_BIG, "9" * 5000, "-1"):
            response = await kopek.client.get(path, params={"after": value}, headers=headers)
            assert_envelope(response.status, await response.json(), "parameter_invalid", "after")
        response = await kopek.client.get(path, params={"after": str(2**63 - 1)}, headers=headers)
        assert response.status == 200 and (await response.json())["data"] == []


@pytest.mark.parametrize("path", ["/v1/payments", "/v1/buttons",
                                  "/v1/refunds?payment=pay_x", "/v1/settlements", "/v1/events"])
@pytest.mark.parametrize("value", [TOO_BIG, "9" * 5000, "0", "-5"])
async def test_page_limits_are_bounded(kopek, path, value):
    response = await kopek.client.get(path, params={"limit": value}, headers=kopek.auth())
    assert_envelope(response.status, await response.json(), "parameter_invalid", "limit")


# -- provider callbacks ------------------------------------------------------------------------------

@pytest.mark.parametrize("wallet", ["eport", "kreditpilot"])
@pytest.mark.parametrize("body", [DEEP, b'{"amount": ' + b"9" * 5000 + b"}", b'{"status": "\\ud800"}'])
async def test_a_malformed_json_callback_is_refused_without_a_500(kopek, wallet, body):
    response = await kopek.client.post(f"/v1/providers/{wallet}/callback", data=body, headers=JSON)
    assert 400 <= response.status < 500, await response.text()
