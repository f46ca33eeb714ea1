"""e-port inside the real app: a shopper pays with an account and PIN through the checkout API,
the simulator notifies Kopek's callback endpoint, and the PIN is never stored."""

from __future__ import annotations

import uuid

import pytest

from kopek import keys
from kopek.providers import registry
from kopek.providers.eport import PLUGIN
from support import event_types, wait_for_status

PIN = "1234"  # the sandbox PIN


@pytest.fixture(autouse=True)
def eport_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """Until the registry lists e-port, put it there for these tests (a no-op once it does)."""
    monkeypatch.setitem(registry.PLUGINS, "eport", PLUGIN)
    monkeypatch.setitem(registry.WALLETS, "eport", PLUGIN.info)


async def pay(kopek, payment, ending: str):
    details = PLUGIN.example_details(PLUGIN.example_account(ending)) | {"pin": PIN}
    return await kopek.client.post(
        f"/v1/checkout/{payment['id']}/attempts", json={"wallet": "eport", "details": details},
        headers={**kopek.checkout_headers(payment), "Idempotency-Key": str(uuid.uuid4())})


async def test_pay_with_account_and_pin(kopek) -> None:
    payment = await kopek.create_payment(order_id="EP-1")
    started = await pay(kopek, payment, "01")
    assert started.status == 200, await started.text()
    assert (await started.json())["payment"]["status"] in ("processing", "succeeded")
    final = await wait_for_status(kopek, payment, "succeeded")
    assert (final["status"], final["wallet"]) == ("succeeded", "eport")
    assert "payment.succeeded" in await event_types(kopek, payment)
    results = [row["result"] for row in await kopek.app[keys.STORE].callbacks("eport")]
    assert results and results[0] == "applied", results   # the notification was verified and applied


async def test_incorrect_pin_fails_the_attempt(kopek) -> None:
    payment = await kopek.create_payment(order_id="EP-2")
    response = await pay(kopek, payment, "05")
    body = await response.json()
    assert response.status == 200, body
    assert (body["payment"]["status"], body["payment"]["last_error"]["code"]) == ("requires_wallet", "incorrect_pin")


async def test_the_pin_is_not_in_the_database(kopek) -> None:
    payment = await kopek.create_payment(order_id="EP-3")
    await pay(kopek, payment, "01")
    await wait_for_status(kopek, payment, "succeeded")
    raw = b"".join(path.read_bytes() for path in kopek.app[keys.SETTINGS].db_path.parent.glob("kopek.db*"))
    assert raw and b'"pin"' not in raw and PIN.encode() + b'"' not in raw
