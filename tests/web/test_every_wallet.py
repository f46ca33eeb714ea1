"""What every wallet shares at Kopek's edge: per-field validation, callbacks, the breaker."""

from __future__ import annotations

import asyncio
import uuid

import aiohttp
import pytest

from kopek import keys
from kopek.providers.registry import PLUGINS
from kopek.providers.sandbox.faults import FaultSettings
from shopper import Shopper
from support import make_settings, wait_for_status

BAD_VALUES = {
    "account": ["", "12", "R1234", "x" * 60, "R10000000000１"],
    "wallet": ["41001", "4100100000000001", "41002000000000001", "abc"],
    "card": ["7000 0000 0000 0001", "700000000000001", "7000-0000-0000-0001", "70000000000000011"],
    "pin": ["123", "12345", "12a4", " "],
}


def bad_cases():
    for wallet_id, plugin in PLUGINS.items():
        good = plugin.example_details(plugin.example_account("01"))
        for field in plugin.info.fields:
            for value in BAD_VALUES[field.name]:
                yield pytest.param(wallet_id, {**good, field.name: value}, field.name,
                                   id=f"{wallet_id}-{field.name}-{value[:12]!r}")


@pytest.mark.parametrize(("wallet", "details", "field"), list(bad_cases()))
async def test_a_malformed_field_is_refused_per_field_and_nothing_reaches_the_provider(kopek, wallet, details, field):
    payment = await kopek.create_payment()
    response = await kopek.client.post(
        f"/v1/checkout/{payment['id']}/attempts", json={"wallet": wallet, "details": details},
        headers={**kopek.checkout_headers(payment), "Idempotency-Key": uuid.uuid4().hex})
    assert response.status == 400
    error = (await response.json())["error"]
    assert list(error["fields"]) == [field], error
    assert (await kopek.app[keys.STORE].get_payment(payment["id"])).attempts_count == 0


@pytest.mark.parametrize("wallet", [w for w in PLUGINS if w != "webmoney"])
async def test_a_callback_in_another_wallets_scheme_is_refused(kopek, wallet):
    webmoney_style = b"LMI_PAYEE_PURSE=R000000000001&LMI_PAYMENT_AMOUNT=5.00&LMI_PAYMENT_NO=att_x&LMI_HASH=AB"
    response = await kopek.client.post(f"/v1/providers/{wallet}/callback", data=webmoney_style,
                                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status == 401
    assert (await response.json())["error"]["code"] == "bad_signature"


@pytest.mark.parametrize("wallet", list(PLUGINS))
async def test_each_wallet_pays_through_the_api(kopek, wallet):
    """The same checkout endpoints carry every confirmation style (the browser tests show the widget)."""
    plugin = PLUGINS[wallet]
    payment = await kopek.create_payment(order_id=f"each-{wallet}")
    async with aiohttp.ClientSession() as http:
        trip = await Shopper(http, kopek.base_url, f"{kopek.base_url}/sandbox/phone.json", deadline_s=20).pay(
            payment, wallet, plugin.example_details(plugin.example_account("01")))
    assert (trip.final, trip.errors) == ("succeeded", [])


class TestBreaker:
    @pytest.fixture
    def kopek_settings(self, tmp_path, unused_tcp_port):
        return make_settings(tmp_path, unused_tcp_port, breaker_failures=2, breaker_open_s=0.5)

    async def test_a_failing_provider_is_paused_then_comes_back(self, kopek):
        faults = kopek.app[keys.SANDBOX_FAULTS]
        faults.settings = FaultSettings(error_rate=1.0)
        details = PLUGINS["eport"].example_details(PLUGINS["eport"].example_account("01"))
        payment = await kopek.create_payment(order_id="BR-1")

        async def try_eport():
            return await kopek.client.post(
                f"/v1/checkout/{payment['id']}/attempts", json={"wallet": "eport", "details": details},
                headers={**kopek.checkout_headers(payment), "Idempotency-Key": uuid.uuid4().hex})

        for _ in range(2):
            answer = await (await try_eport()).json()
            assert answer["payment"]["last_error"]["code"] == "provider_error"
        state = await (await kopek.client.get(f"/v1/checkout/{payment['id']}", headers=kopek.checkout_headers(payment))).json()
        assert {w["id"]: w["available"] for w in state["wallets"]} == {
            "webmoney": True, "yandex_dengi": True, "eport": False, "kreditpilot": True}
        paused = await try_eport()
        assert paused.status == 503 and (await paused.json())["error"]["code"] == "wallet_unavailable"

        faults.settings = FaultSettings()
        await asyncio.sleep(0.6)
        recovered = await (await try_eport()).json()
        assert recovered["payment"]["status"] in ("processing", "succeeded")
        assert (await wait_for_status(kopek, payment, "succeeded"))["status"] == "succeeded"
