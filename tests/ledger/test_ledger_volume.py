"""Ten thousand one-kopeck sandbox payments settle to exactly the expected totals.

The payments are created through PaymentService.create (the same code as POST /v1/payments,
without ten thousand HTTP round trips) and moved to succeeded through PaymentService.apply, the
way the wallet flow does, so the ledger's hook books each one in its own state change. The wallet
simulators are left out: the contract and reliability tests drive them.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time
from pathlib import Path

import pytest

from kopek import keys
from kopek.ledger import invariants
from ledger_helpers import create_data, finish, today, tomorrow

PAYMENTS = 10_000
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


async def one_kopeck(kopek, number: int, wallet: str) -> None:
    service = kopek.app[keys.PAYMENTS]
    payment = await service.create(merchant_id=kopek.merchant.merchant.id, livemode=False,
                                   data=create_data(1, f"k-{number}"))
    await finish(service, payment, wallet)


@pytest.mark.timeout(120)
async def test_ten_thousand_one_kopeck_payments_settle_to_exactly_the_expected_totals(kopek):
    started = time.monotonic()
    # webmoney keeps the default plan (1.5 % of a kopeck rounds to 0); e-port charges at least a kopeck.
    response = await kopek.client.post("/v1/fee_plans/eport", headers=kopek.auth(),
                                       json={"basis_points": 150, "fixed": 0, "minimum": 1})
    assert response.status == 200
    for first in range(0, PAYMENTS, 100):
        await asyncio.gather(*(one_kopeck(kopek, n, "webmoney" if n % 2 else "eport")
                               for n in range(first, first + 100)))
    booked_s = time.monotonic() - started

    ledger = kopek.app[keys.LEDGER]
    balance = await (await kopek.client.get("/v1/balance", headers=kopek.auth())).json()
    assert balance["pending"] == [{"currency": "RUB", "amount": 5_000}]   # only webmoney's kopecks reach the shop
    made = await ledger.provider_settler.run_once()
    assert sorted((s.wallet, s.amount) for s in made) == [("eport", 1_000)] * 5 + [("webmoney", 1_000)] * 5
    run = await ledger.settlements.settle_day(today(), livemode=False, today=tomorrow())
    [settlement] = run.created
    report = await ledger.settlements.report(settlement)
    assert [(t.wallet, t.count, t.amount, t.fee, t.net) for t in report.totals] == [
        ("eport", 5_000, 5_000, 5_000, 0), ("webmoney", 5_000, 5_000, 0, 5_000)]
    assert report.net_payable == {"RUB": 5_000}
    await ledger.settlements.pay(settlement.id)

    response = await kopek.client.get(f"/v1/settlements/{settlement.id}/report.csv", headers=kopek.auth())
    rows = list(csv.reader(io.StringIO(await response.text())))
    assert sum(row[0] == "payment" for row in rows) == PAYMENTS
    assert [row[6:] for row in rows if row[0] == "wallet_total"] == [["50.00", "50.00", "0.00"],
                                                                     ["50.00", "0.00", "50.00"]]
    assert [row[8] for row in rows if row[0] == "net_payable"] == ["50.00"]

    check = await invariants.check(kopek.app[keys.STORE])
    assert check.problems == []
    assert check.figures["by_currency"]["test RUB"] == {
        "payments": PAYMENTS, "gross": 10_000, "fees": 5_000, "net": 5_000, "clearing": 0, "pending": 0,
        "fee_revenue": 5_000, "bank": 10_000, "available": 0, "paid_out": 5_000}
    write_figures(check.figures, booked_s, time.monotonic() - started)


def write_figures(figures: dict, booked_s: float, total_s: float) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "ledger_volume.json").write_text(json.dumps(
        {"payments": PAYMENTS, "seconds_to_create_and_book": round(booked_s, 1),
         "seconds_total": round(total_s, 1), "ledger_check": figures}, indent=2))
