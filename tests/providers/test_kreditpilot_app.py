"""KreditPilot inside the real app: a shopper pays with a prepaid card and PIN through the
checkout API, the simulator notifies Kopek's callback endpoint, and the PIN is never stored."""

from __future__ import annotations

import uuid

import pytest

from kopek import keys
from kopek.providers import registry
from kopek.providers.kreditpilot import PLUGIN
from support import event_types, wait_for_status

WRONG_PIN = "9731"


@pytest.fixture(autouse=True)
def kreditpilot_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """Until the registry lists KreditPilot, put it there for these tests (a no-op once it does)."""
    monkeypatch.setitem(registry.PLUGINS, "kreditpilot", PLUGIN)
    monkeypatch.setitem(registry.WALLETS, "kreditpilot", PLUGIN.info)


async def pay(kopek, payment, ending: str, pin: str | None = None):
    details = PLUGIN.example_details(PLUGIN.example_account(ending))
    if pin is not None:
        details["pin"] = pin
    return await kopek.client.post(
        f"/v1/checkout/{payment['id']}/attempts", json={"wallet": "kreditpilot", "details": details},
        headers={**kopek.checkout_headers(payment), "Idempotency-Key": str(uuid.uuid4())})


async def test_pay_with_card_and_pin(kopek) -> None:
    payment = await kopek.create_payment(order_id="KP-1")
    started = await pay(kopek, payment, "01")
    assert started.status == 200, await started.text()
    assert (await started.json())["payment"]["status"] in ("processing", "succeeded")
    final = await wait_for_status(kopek, payment, "succeeded")
    assert (final["status"], final["wallet"]) == ("succeeded", "kreditpilot")
    assert "payment.succeeded" in await event_types(kopek, payment)
    results = [row["result"] for row in await kopek.app[keys.STORE].callbacks("kreditpilot")]
    assert results and results[0] == "applied", results   # the notification was verified and applied


@pytest.mark.parametrize("ending, pin, code", [
    ("05", None, "incorrect_pin"),
    ("01", WRONG_PIN, "incorrect_pin"),
    ("03", None, "insufficient_funds"),
    ("09", None, "wallet_not_found"),
])
async def test_a_refused_card_fails_the_attempt(kopek, ending: str, pin: str | None, code: str) -> None:
    payment = await kopek.create_payment(order_id=f"KP-{ending}-{pin}")
    response = await pay(kopek, payment, ending, pin)
    body = await response.json()
    assert response.status == 200, body
    assert (body["payment"]["status"], body["payment"]["last_error"]["code"]) == ("requires_wallet", code)


async def test_a_malformed_card_number_is_refused_before_the_provider(kopek) -> None:
    payment = await kopek.create_payment(order_id="KP-spaces")
    response = await kopek.client.post(
        f"/v1/checkout/{payment['id']}/attempts",
        json={"wallet": "kreditpilot", "details": {"card": "7000 0000 0000 0001", "pin": "1234"}},
        headers={**kopek.checkout_headers(payment), "Idempotency-Key": str(uuid.uuid4())})
    body = await response.json()
    assert response.status == 400 and "card" in str(body), body


async def test_the_pin_is_not_in_the_database(kopek) -> None:
    payment = await kopek.create_payment(order_id="KP-pin")
    await pay(kopek, payment, "01", WRONG_PIN)
    await pay(kopek, payment, "01")
    await wait_for_status(kopek, payment, "succeeded")
    raw = b"".join(path.read_bytes() for path in kopek.app[keys.SETTINGS].db_path.parent.glob("kopek.db*"))
    assert raw and b'"pin"' not in raw
    assert WRONG_PIN.encode() + b'"' not in raw and b'"1234"' not in raw
