"""A method a route does not serve is a 405 envelope that says, in `Allow`, which methods it does."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.usefixtures("kopek")


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("DELETE", "/v1/payments", {"GET", "POST"}),
    ("PUT", "/v1/wallets", {"GET"}),
    ("PATCH", "/v1/payments/pay_x/cancel", {"POST"}),
    ("POST", "/v1/openapi.json", {"GET"}),
])
async def test_an_undeclared_method_is_a_405_with_allow(kopek, method: str, path: str, allowed: set[str]) -> None:
    response = await kopek.client.request(method, path, headers=kopek.auth())
    assert response.status == 405
    assert {m.strip() for m in response.headers["Allow"].split(",")} - {"HEAD"} == allowed
    body = await response.json()
    assert body["error"]["code"] == "method_not_allowed" and body["error"]["request_id"]
