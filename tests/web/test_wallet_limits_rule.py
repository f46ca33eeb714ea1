"""The document's "some offered wallet takes this amount" rule (providers.registry.wallet_limits_rule)
says yes exactly when the server creates the payment or button, at every edge of every wallet's limits."""

from __future__ import annotations

import itertools

import jsonschema
import pytest

from kopek.money import CURRENCY_EXPONENTS
from kopek.providers.registry import WALLETS
from kopek.web.openapi import build_spec

DOCUMENT = build_spec("http://127.0.0.1")["components"]["schemas"]
EDGES = sorted({edge for wallet in WALLETS.values() for limits in wallet.limits
                for edge in (limits.min_amount - 1, limits.min_amount, limits.max_amount, limits.max_amount + 1)
                if edge > 0})
CHOICES = [None, *([wallet] for wallet in WALLETS), ["kreditpilot", "eport"]]


def the_document_admits(schema_name: str, body: dict) -> bool:
    return jsonschema.Draft4Validator({"anyOf": DOCUMENT[schema_name]["anyOf"]}).is_valid(body)


@pytest.mark.parametrize("path,schema_name,base", [
    ("/v1/payments", "PaymentCreate", {"order_id": "limits"}),
    ("/v1/buttons", "ButtonCreate", {"description": "limits"}),
])
async def test_the_document_and_the_server_agree_on_wallet_limits(kopek, path, schema_name, base):
    disagreements = []
    for n, (amount, currency, wallets) in enumerate(itertools.product(EDGES, sorted(CURRENCY_EXPONENTS), CHOICES)):
        body = {**base, "amount": amount, "currency": currency, **({"wallets": wallets} if wallets else {})}
        if "order_id" in body:
            body["order_id"] = f"limits-{n}"
        response = await kopek.client.post(path, json=body, headers=kopek.auth())
        refused = response.status == 400 and (await response.json())["error"]["code"] == "amount_outside_wallet_limits"
        assert response.status == 201 or refused, await response.text()
        if the_document_admits(schema_name, body) != (response.status == 201):
            disagreements.append((body, response.status))
    assert disagreements == []
