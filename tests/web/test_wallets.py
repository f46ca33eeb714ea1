"""Shops choose their wallets; the checkout offers only what is enabled and up."""

from __future__ import annotations

import pytest

from kopek import keys


async def set_enabled(kopek, wallet, enabled):
    return await kopek.client.post(f"/v1/wallets/{wallet}", json={"enabled": enabled}, headers=kopek.auth())


async def test_disabling_a_wallet_hides_it_from_new_checkouts(kopek):
    response = await set_enabled(kopek, "webmoney", False)
    assert response.status == 200
    body = await response.json()
    assert body["id"] == "webmoney" and body["enabled"] is False
    listed = {w["id"]: w for w in (await (await kopek.client.get("/v1/wallets", headers=kopek.auth())).json())["data"]}
    assert listed["webmoney"]["enabled"] is False and listed["webmoney"]["available"] is True

    refused = await kopek.client.post("/v1/payments", headers=kopek.auth(), json={
        "amount": 500, "currency": "RUB", "order_id": "W-dis", "wallets": ["webmoney"]})
    assert refused.status == 400 and (await refused.json())["error"]["code"] == "wallet_disabled"

    await set_enabled(kopek, "webmoney", True)
    payment = await kopek.create_payment(order_id="W-en", wallets=["webmoney"])
    state = await (await kopek.client.get(f"/v1/checkout/{payment['id']}", headers=kopek.checkout_headers(payment))).json()
    assert [w["id"] for w in state["wallets"]] == ["webmoney"]
    assert state["wallets"][0]["available"] is True


async def test_a_wallet_disabled_after_creation_disappears_from_the_checkout(kopek):
    payment = await kopek.create_payment(order_id="W-late", wallets=["webmoney"])
    await set_enabled(kopek, "webmoney", False)
    state = await (await kopek.client.get(f"/v1/checkout/{payment['id']}", headers=kopek.checkout_headers(payment))).json()
    assert state["wallets"] == []


@pytest.mark.parametrize("body", [{}, {"enabled": "no"}, {"enabled": 0}, {"enabled": True, "x": 1}])
async def test_bad_wallet_updates_are_400(kopek, body):
    response = await kopek.client.post("/v1/wallets/webmoney", json=body, headers=kopek.auth())
    assert response.status == 400


async def test_unknown_wallet_is_404(kopek):
    response = await set_enabled(kopek, "paypal", False)
    assert response.status == 404


async def test_wallet_settings_are_per_merchant(kopek):
    from kopek.merchants import create_merchant

    await set_enabled(kopek, "webmoney", False)
    other = await create_merchant(kopek.app[keys.STORE], "Other", ["https://other.test"])
    listed = await (await kopek.client.get("/v1/wallets", headers=kopek.auth(other.secret_key))).json()
    assert {w["id"]: w["enabled"] for w in listed["data"]}["webmoney"] is True
