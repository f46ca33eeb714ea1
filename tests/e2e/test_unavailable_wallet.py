"""A provider that keeps failing is paused (circuit breaker): the widget shows it as unavailable
and the shopper pays with another wallet. Here every provider call fails (KOPEK_SANDBOX_FAULTS),
and e-port's breaker is tripped by five failing attempts made through the API."""

from __future__ import annotations

import json
import urllib.request
import uuid

import pytest
from playwright.sync_api import expect

from kopek.providers.registry import PLUGINS
from processes import KopekProcess, ShopProcess, create_merchant, free_port, kopek_env

pytestmark = pytest.mark.e2e
expect.set_options(timeout=15_000)


@pytest.fixture(scope="module")
def failing_kopek(e2e_dir):
    server = KopekProcess(e2e_dir / "kopek-failing.db", free_port(), time_scale="0.01",
                          env=kopek_env({"KOPEK_SANDBOX_FAULTS": "error_rate=1.0", "KOPEK_PROVIDER_TIMEOUT_S": "1"}))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def failing_shop(failing_kopek, e2e_dir):
    port = free_port()
    merchant = create_merchant(e2e_dir / "kopek-failing.db", "Failing shop", f"http://localhost:{port}")
    shop = ShopProcess(port, failing_kopek.base_url, merchant["secret_key"], e2e_dir / "failing-shop.log")
    yield shop
    shop.stop()


def post(url: str, body: dict, headers: dict) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", **headers})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def trip_the_breaker(kopek: KopekProcess, secret_key: str) -> None:
    payment = post(f"{kopek.base_url}/v1/payments", {"amount": 500, "currency": "RUB", "order_id": "trip"},
                   {"Authorization": f"Bearer {secret_key}"})
    details = PLUGINS["eport"].example_details(PLUGINS["eport"].example_account("01"))
    for _ in range(5):
        answer = post(f"{kopek.base_url}/v1/checkout/{payment['id']}/attempts", {"wallet": "eport", "details": details},
                      {"Kopek-Client-Secret": payment["client_secret"], "Idempotency-Key": uuid.uuid4().hex})
        assert answer["payment"]["last_error"]["code"] == "provider_error"


def test_a_paused_wallet_is_shown_unavailable_and_cannot_be_chosen(page, failing_kopek, failing_shop):
    trip_the_breaker(failing_kopek, failing_shop.secret_key)
    page.goto(f"{failing_shop.origin}/checkout")
    frame = page.frame_locator("#pay iframe")
    expect(frame.get_by_role("heading", name="Pay with an e-wallet")).to_be_visible()
    expect(frame.locator('label[data-wallet="eport"]')).to_contain_text("Temporarily unavailable")
    expect(frame.get_by_role("radio", name="e-port Temporarily unavailable")).to_be_disabled()
    expect(frame.get_by_role("radio", name="WebMoney")).to_be_enabled()
