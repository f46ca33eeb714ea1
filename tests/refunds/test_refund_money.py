"""Refunds and the money around them, over real HTTP against the e-port sandbox: refund lines in
the settlement report (JSON and CSV), refunds in transit netted by the provider's settlement,
and a refund the merchant's balance cannot cover."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from kopek import clock, keys
from kopek.ledger import invariants
from test_refunds_api import get_payment, paid, refund


def ledger(kopek):
    return kopek.app[keys.LEDGER]


async def account(kopek, name):
    row = await kopek.app[keys.STORE]._fetchone(
        "SELECT COALESCE(SUM(amount), 0) FROM ledger_postings WHERE account=?", (name,))
    return row[0]


async def books_ok(kopek):
    report = await invariants.check(kopek.app[keys.STORE])
    assert report.problems == []
    return report


async def settle_today(kopek):
    today = clock.now().date()
    run = await ledger(kopek).settlements.settle_day(today, livemode=False, today=today + timedelta(days=1))
    return run.created


async def test_the_settlement_lists_refunds_and_they_reduce_the_totals_and_the_net_payable(kopek):
    full, partial = await paid(kopek, amount=500), await paid(kopek, amount=10_000)
    assert (await refund(kopek, payment=full["id"]))[0] == 200
    status, part = await refund(kopek, payment=partial["id"], amount=2_500)
    assert status == 200 and part["status"] == "succeeded"
    shown = {p["id"]: await get_payment(kopek, p) for p in (full, partial)}
    part_fee = shown[partial["id"]]["fee"] * 2_500 // 10_000
    [settlement] = await settle_today(kopek)

    status = (await kopek.client.get(f"/v1/settlements/{settlement.id}", headers=kopek.auth())).status
    body = await (await kopek.client.get(f"/v1/settlements/{settlement.id}", headers=kopek.auth())).json()
    assert status == 200
    refunds = {line["id"]: line for line in body["lines"]["data"] if line["type"] == "refund"}
    full_fee = shown[full["id"]]["fee"]
    assert {(r["amount"], r["fee"], r["net"]) for r in refunds.values()} == {
        (-500, -full_fee, -(500 - full_fee)), (-2_500, -part_fee, -(2_500 - part_fee))}
    assert all(r["order_id"] for r in refunds.values()) and len(body["lines"]["data"]) == 4
    expected_net = shown[partial["id"]]["net"] - (2_500 - part_fee)   # the full refund nets out to 0
    assert body["totals"] == [{"wallet": "eport", "currency": "RUB", "count": 4, "amount": 7_500,
                               "fee": shown[partial["id"]]["fee"] - part_fee, "net": expected_net}]
    assert body["net_payable"] == [{"currency": "RUB", "amount": expected_net}]

    response = await kopek.client.get(f"/v1/settlements/{settlement.id}/report.csv", headers=kopek.auth())
    rows = list(csv.reader(io.StringIO(await response.text())))
    refund_rows = [row for row in rows if row[0] == "refund"]
    assert sorted(row[6] for row in refund_rows) == ["-25.00", "-5.00"]
    assert rows[-1][0] == "net_payable" and rows[-1][8] == f"{expected_net // 100}.{expected_net % 100:02d}"
    assert [row[0] for row in rows].count("payment") == 2

    await ledger(kopek).provider_settler.run_once()
    paid_out = await ledger(kopek).settlements.pay(settlement.id)
    assert paid_out.status == "paid"
    assert await account(kopek, f"merchant:{kopek.merchant.merchant.id}:RUB:paid_out") == -expected_net
    assert await account(kopek, f"merchant:{kopek.merchant.merchant.id}:RUB:available") == 0
    assert (await settle_today(kopek)) == []     # settling again adds nothing
    await books_ok(kopek)


async def test_refunds_in_transit_are_netted_once_by_the_providers_settlement(kopek):
    settled_first = await paid(kopek, amount=1_000)
    await ledger(kopek).provider_settler.run_once()
    late = await paid(kopek, amount=600)
    assert (await refund(kopek, payment=settled_first["id"], amount=400))[0] == 200   # from available
    assert (await refund(kopek, payment=late["id"]))[0] == 200                         # from pending
    assert await account(kopek, "kopek:RUB:refunds_in_transit") == -1_000
    await books_ok(kopek)

    await ledger(kopek).provider_settler.run_once()
    assert await account(kopek, "kopek:RUB:refunds_in_transit") == 0
    assert await account(kopek, "kopek:RUB:bank") == 1_600 - 1_000
    merchant = kopek.merchant.merchant.id
    assert await account(kopek, f"merchant:{merchant}:RUB:pending") == 0   # the late net left nothing
    assert await ledger(kopek).provider_settler.net_refunds() == 0         # a refund is netted once
    nettings = await kopek.app[keys.STORE]._fetchall("SELECT refund_id FROM refund_nettings")
    assert len(nettings) == 2
    report = await books_ok(kopek)
    assert report.figures["by_currency"]["test RUB"]["refunds_in_transit"] == 0


async def test_a_refund_the_paid_out_balance_cannot_cover_is_refused_and_moves_nothing(kopek):
    payment = await paid(kopek, amount=1_000)
    await ledger(kopek).provider_settler.run_once()
    [settlement] = await settle_today(kopek)
    await ledger(kopek).settlements.pay(settlement.id)
    before = await kopek.app[keys.STORE]._fetchall("SELECT account, SUM(amount) FROM ledger_postings GROUP BY account")

    status, body = await refund(kopek, payment=payment["id"], amount=100)
    assert status == 400, body
    assert body["error"]["code"] == "insufficient_available_balance" and body["error"]["available"] == 0
    assert (await get_payment(kopek, payment))["amount_refunded"] == 0
    listed = await (await kopek.client.get("/v1/refunds", params={"payment": payment["id"]},
                                           headers=kopek.auth())).json()
    assert listed["data"] == []
    after = await kopek.app[keys.STORE]._fetchall("SELECT account, SUM(amount) FROM ledger_postings GROUP BY account")
    assert [tuple(r) for r in after] == [tuple(r) for r in before]

    newer = await paid(kopek, amount=2_000)      # newer money arrives: now the refund fits
    await ledger(kopek).provider_settler.run_once()
    status, body = await refund(kopek, payment=payment["id"], amount=100)
    assert status == 200 and body["status"] == "succeeded"
    assert newer["id"] != payment["id"]
    await books_ok(kopek)
