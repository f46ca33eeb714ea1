"""The shop's pre-check: asked, signed, before any attempt reaches a provider."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import uuid

import pytest
from aiohttp import web
from standardwebhooks import Webhook

from kopek import keys
from kopek.app import create_app
from kopek.merchants import create_merchant
from support import INWARD_URLS, ODD_IPV4_URLS, SUCCEEDS, attempt, make_settings

ANSWER = web.AppKey("answer", dict)
RECEIVED = web.AppKey("received", list)


@pytest.fixture
def kopek_settings(tmp_path, unused_tcp_port):
    return make_settings(tmp_path, unused_tcp_port, check_timeout_s=0.3)


@pytest.fixture
async def shop(aiohttp_server):
    """The shop's own check endpoint; what it answers is set per test."""
    async def check(request: web.Request) -> web.Response:
        request.app[RECEIVED].append((await request.read(), dict(request.headers)))
        answer = request.app[ANSWER]
        if answer.get("sleep_s"):
            await asyncio.sleep(answer["sleep_s"])
        return web.Response(status=answer.get("status", 200), body=answer.get("body", b'{"allow": true}'),
                            content_type="application/json", headers=answer.get("headers"))

    app = web.Application()
    app[ANSWER], app[RECEIVED] = {}, []
    app.router.add_post("/check", check)
    return await aiohttp_server(app)


async def set_check(kopek, shop, on_timeout="allow"):
    response = await kopek.client.post("/v1/merchant", headers=kopek.auth(), json={
        "check_url": str(shop.make_url("/check")), "check_on_timeout": on_timeout})
    assert response.status == 200
    return await response.json()


async def codes_sent(kopek, payment):
    return (await (await kopek.client.get("/sandbox/phone.json", params={"payment": payment["id"]})).json())["data"]


async def test_the_shop_is_asked_with_a_signed_request_and_may_allow(kopek, shop):
    settings = await set_check(kopek, shop)
    payment = await kopek.create_payment(order_id="PC-ok")
    answer = await (await attempt(kopek, payment, SUCCEEDS)).json()
    assert answer["payment"]["status"] == "requires_confirmation"
    [(body, headers)] = shop.app[RECEIVED]
    verified = Webhook(settings["check_secret"]).verify(body, headers)
    assert verified["type"] == "payment.check" and verified["data"]["object"]["id"] == payment["id"]
    assert verified["wallet"] == "webmoney"


async def test_a_refusal_reaches_the_shopper_and_nothing_reaches_the_provider(kopek, shop):
    await set_check(kopek, shop)
    shop.app[ANSWER]["body"] = json.dumps({"allow": False, "message": "Sold out, sorry"}).encode()
    payment = await kopek.create_payment(order_id="PC-no")
    answer = await (await attempt(kopek, payment, SUCCEEDS)).json()
    assert answer["payment"]["status"] == "requires_wallet"
    assert answer["payment"]["last_error"] == {"code": "merchant_refused", "message": "Sold out, sorry"}
    assert await codes_sent(kopek, payment) == []


@pytest.mark.parametrize(("answer", "on_timeout", "allowed"), [
    ({"sleep_s": 1.0}, "allow", True),
    ({"sleep_s": 1.0}, "refuse", False),
    ({"body": b"<html>oops</html>"}, "allow", True),
    ({"body": b'{"allow": "yes"}'}, "refuse", False),
    ({"status": 500}, "refuse", False),
    ({"status": 302, "body": b""}, "allow", True),
])
async def test_a_slow_or_broken_check_falls_back_to_the_default(kopek, shop, answer, on_timeout, allowed):
    await set_check(kopek, shop, on_timeout)
    shop.app[ANSWER].update(answer)
    payment = await kopek.create_payment(order_id=f"PC-{on_timeout}-{len(shop.app[RECEIVED])}")
    started = asyncio.get_running_loop().time()
    body = await (await attempt(kopek, payment, SUCCEEDS)).json()
    assert asyncio.get_running_loop().time() - started < 2.0  # the time budget holds
    assert (body["payment"]["status"] == "requires_confirmation") is allowed
    if not allowed:
        assert body["payment"]["last_error"]["code"] == "merchant_refused"


async def test_turning_the_check_off(kopek, shop):
    await set_check(kopek, shop)
    response = await kopek.client.post("/v1/merchant", headers=kopek.auth(), json={"check_url": None})
    assert (await response.json())["check_url"] is None and "check_secret" not in await response.json()
    payment = await kopek.create_payment(order_id="PC-off")
    await attempt(kopek, payment, SUCCEEDS)
    assert shop.app[RECEIVED] == []


@pytest.mark.parametrize("body", [{"check_url": "ftp://shop.test/check"}, {"check_url": "https://" + "a" * 2050},
                                  {"check_on_timeout": "maybe"}, {"colour": "red"}, {"check_url": 5}])
async def test_bad_check_settings_are_400(kopek, body):
    response = await kopek.client.post("/v1/merchant", headers=kopek.auth(), json=body)
    assert response.status == 400
    merchant = await (await kopek.client.get("/v1/merchant", headers=kopek.auth())).json()
    assert merchant["check_url"] is None and merchant["check_on_timeout"] == "allow"


@pytest.mark.parametrize("url", INWARD_URLS)
async def test_a_private_check_url_is_refused_in_live_mode(live, url):
    _, client, auth = live
    response = await client.post("/v1/merchant", json={"check_url": url}, headers=auth)
    error = (await response.json())["error"]
    assert response.status == 400 and error["code"] == "url_not_allowed" and error["param"] == "check_url", error
    assert (await (await client.get("/v1/merchant", headers=auth)).json())["check_url"] is None


@pytest.mark.parametrize("url", ODD_IPV4_URLS)
async def test_an_odd_ipv4_spelling_is_refused_as_a_check_url(live, url):
    _, client, auth = live
    response = await client.post("/v1/merchant", json={"check_url": url}, headers=auth)
    error = (await response.json())["error"]
    assert response.status == 400 and error["param"] == "check_url" and "four decimal numbers" in error["message"]


def bearer(key):
    return {"Authorization": f"Bearer {key}"}


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]", "[2002:7f00:1::]"])
async def test_a_live_server_never_calls_the_inward_check_url_a_sandbox_server_saved(
        live, inward_listener, aiohttp_client, unused_tcp_port_factory, caplog, host):
    """Sandbox and live servers on one database share the merchant, and the sandbox lets a check
    URL point at localhost. The live server must refuse the connection, not trust the saved row."""
    app, live_client, _ = live
    shop = await create_merchant(app[keys.STORE], "Shared shop", [])
    sandbox_settings = dataclasses.replace(app[keys.SETTINGS], mode="sandbox", port=unused_tcp_port_factory())
    sandbox = await aiohttp_client(create_app(sandbox_settings))
    saved = await sandbox.post("/v1/merchant", headers=bearer(shop.secret_key), json={
        "check_url": f"http://{host}:{inward_listener.port}/check", "check_on_timeout": "refuse"})
    assert saved.status == 200, await saved.text()

    created = await live_client.post("/v1/payments", headers=bearer(shop.live_secret_key),
                                     json={"amount": 500, "currency": "RUB", "order_id": "PC-inward"})
    payment = await created.json()
    caplog.set_level(logging.WARNING, logger="kopek.payments.precheck")
    response = await live_client.post(
        f"/v1/checkout/{payment['id']}/attempts", json={"wallet": "webmoney", "details": {"account": SUCCEEDS}},
        headers={"Kopek-Client-Secret": payment["client_secret"], "Idempotency-Key": str(uuid.uuid4())})
    body = await response.json()
    assert body["payment"]["status"] == "requires_wallet", body
    assert body["payment"]["last_error"]["code"] == "merchant_refused"
    assert inward_listener.connections == 0
    assert any(f"pre-check for {payment['id']} refused" in r.getMessage() for r in caplog.records), caplog.text


async def test_the_check_ignores_proxy_settings_and_redirects(kopek, shop, inward_listener, monkeypatch):
    """A proxy from the environment or a redirect would carry the request somewhere the guard never saw."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{inward_listener.port}")
    await set_check(kopek, shop, on_timeout="refuse")
    shop.app[ANSWER].update({"status": 307, "body": b"",
                             "headers": {"Location": f"http://127.0.0.1:{inward_listener.port}/check"}})
    payment = await kopek.create_payment(order_id="PC-redirect")
    body = await (await attempt(kopek, payment, SUCCEEDS)).json()
    assert len(shop.app[RECEIVED]) == 1 and body["payment"]["last_error"]["code"] == "merchant_refused"
    assert inward_listener.connections == 0
