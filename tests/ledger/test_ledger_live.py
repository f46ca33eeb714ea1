"""On a live server what Kopek charges is the operator's to set: a shop reads its fee plans but
cannot change them, and its balance is its live one."""

from __future__ import annotations

import pytest

from kopek.providers.registry import PLUGINS
from support import LIVE_ENV, make_settings


@pytest.fixture
def kopek_settings(tmp_path, unused_tcp_port, monkeypatch):
    for name, value in LIVE_ENV.items():
        monkeypatch.setenv(name, value)
    # Nothing listens there: these tests never reach a provider.
    return make_settings(tmp_path, unused_tcp_port, mode="live",
                         provider_urls={wallet: "http://127.0.0.1:9/provider" for wallet in PLUGINS})


async def test_a_shop_reads_but_cannot_set_its_fee_plans_on_a_live_server(kopek):
    live = kopek.auth(kopek.merchant.live_secret_key)
    response = await kopek.client.post("/v1/fee_plans/webmoney", headers=live,
                                       json={"basis_points": 0, "fixed": 0, "minimum": 0})
    error = (await response.json())["error"]
    assert response.status == 403 and error["code"] == "fee_plans_operator_only"
    plans = await (await kopek.client.get("/v1/fee_plans", headers=live)).json()
    assert all(p["default"] and p["basis_points"] == 150 for p in plans["data"])

    balance = await (await kopek.client.get("/v1/balance", headers=live)).json()
    assert balance == {"object": "balance", "livemode": True, "pending": [], "available": []}
    response = await kopek.client.get("/v1/balance", headers=kopek.auth())   # a test key on a live server
    assert response.status == 401 and (await response.json())["error"]["code"] == "key_mode_mismatch"
