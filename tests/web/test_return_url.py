"""A return_url lies on one of the merchant's allowed origins, at creation and again at the redirect."""

from __future__ import annotations

import pytest

from kopek import keys
from kopek.store.origins import OriginStore

PHISH = "https://phish.example/login"
SHOP_ORIGIN = "http://shop.test:8001"   # on the test merchant's list (tests/conftest.py)


async def listed(client, path, headers):
    response = await client.get(path, headers=headers)
    assert response.status == 200
    return (await response.json())["data"]


def assert_not_allowed(status, body):
    assert status == 400, body
    assert body["error"]["code"] == "return_url_not_allowed"
    assert body["error"]["param"] == "return_url"


async def test_a_fresh_live_merchant_cannot_send_shoppers_to_a_phishing_site(live):
    _, client, auth = live
    response = await client.post("/v1/payments", headers=auth, json={
        "amount": 500, "currency": "RUB", "order_id": "PH-1", "return_url": PHISH})
    assert_not_allowed(response.status, await response.json())
    assert await listed(client, "/v1/payments", auth) == []


@pytest.mark.parametrize("return_url", [
    PHISH,
    "http://shop.test:8001@phish.example/thanks",    # the allowed origin as credentials
    "https://shop.test:8001/thanks",                 # another scheme
    "http://shop.test:8002/thanks",                  # another port
    "http://evil.shop.test:8001/thanks",             # a subdomain is another origin
])
async def test_a_return_url_off_the_allowed_origins_is_refused(kopek, return_url):
    response = await kopek.client.post("/v1/payments", headers=kopek.auth(), json={
        "amount": 500, "currency": "RUB", "order_id": "PH-2", "return_url": return_url})
    assert_not_allowed(response.status, await response.json())
    assert await listed(kopek.client, "/v1/payments", kopek.auth()) == []


async def test_a_button_with_a_return_url_off_the_allowed_origins_is_refused(kopek):
    response = await kopek.client.post("/v1/buttons", headers=kopek.auth(), json={
        "amount": 500, "currency": "RUB", "description": "PDF", "return_url": PHISH})
    assert_not_allowed(response.status, await response.json())
    assert await listed(kopek.client, "/v1/buttons", kopek.auth()) == []


async def cancel(kopek, payment):
    response = await kopek.client.post(f"/v1/payments/{payment['id']}/cancel", headers=kopek.auth())
    assert response.status == 200


async def test_an_allowed_origin_works_and_the_redirect_goes_there(kopek):
    payment = await kopek.create_payment(order_id="OK-1", return_url="HTTP://Shop.Test:8001/thanks?o=1")
    await cancel(kopek, payment)
    response = await kopek.client.get(f"/pay/{payment['id']}/return", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"].startswith("http://Shop.Test:8001/thanks?o=1&kopek_payment_id=")


async def test_a_removed_origin_no_longer_redirects(kopek):
    payment = await kopek.create_payment(order_id="OK-2", return_url=f"{SHOP_ORIGIN}/thanks")
    await cancel(kopek, payment)
    assert await OriginStore(kopek.app[keys.STORE]).remove(kopek.merchant.merchant.id, SHOP_ORIGIN)
    response = await kopek.client.get(f"/pay/{payment['id']}/return", allow_redirects=False)
    assert response.status == 200 and "Location" not in response.headers
    page = await response.text()
    assert "Payment canceled" in page and "back-to-shop" not in page
    hosted = await (await kopek.client.get(f"/pay/{payment['id']}")).text()
    assert 'data-has-return="false"' in hosted
