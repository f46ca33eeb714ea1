"""Steps the console's tests share: reading the console page, and paying as a shopper would."""

from __future__ import annotations

import uuid
from typing import Any

from dashboard.conftest import Page, Visitor

from kopek import keys


def payment_id(page: Page) -> str:
    return page.find(r'id="order-payment-id">([^<]+)<')


def client_secret(page: Page) -> str:
    return page.find(r'data-client-secret="([^"]+)"')


async def open_console(visitor: Visitor, **params: Any) -> Page:
    page = await visitor.get("/sandbox", **params)
    assert page.status == 200, page.text
    return page


async def start_attempt(kopek: Any, page: Page, wallet: str, details: dict[str, str]) -> dict[str, Any]:
    """The widget's first step for the console's payment: the shopper's wallet and details."""
    response = await kopek.client.post(
        f"/v1/checkout/{payment_id(page)}/attempts", json={"wallet": wallet, "details": details},
        headers={"Kopek-Client-Secret": client_secret(page), "Idempotency-Key": str(uuid.uuid4())})
    assert response.status in (200, 201), await response.text()
    return (await response.json())["payment"]


async def stored_payment(kopek: Any, pay_id: str) -> Any:
    payment = await kopek.app[keys.STORE].get_payment(pay_id)
    assert payment is not None
    return payment


def api(secret_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret_key}"}


async def start_payment(visitor: Visitor, **fields: str) -> Page:
    """Press "Start a test payment" on the console last seen (it posts the form, then shows the payment)."""
    if visitor.last is None or visitor.last.url.path != "/sandbox":
        await open_console(visitor)
    page = await visitor.post("/sandbox/payments", fields)
    assert page.status == 200 and page.url.path == "/sandbox", page.text
    return page
