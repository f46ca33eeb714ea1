"""`kopek reconcile`: a real process reads a statement file and matches it with the database a
running Kopek wrote (payments and a refund made over HTTP against the e-port sandbox)."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest

from kopek import clock, keys
from kopek.providers.registry import PLUGINS
from kopek.reconcile.fees import provider_fee
from kopek.reconcile.statements import MalformedStatement, parse
from processes import kopek_env, run_cli
from support import wait_for_status


async def paid(kopek, amount):
    payment = await kopek.create_payment(amount=amount, order_id=f"o-{uuid.uuid4()}")
    details = PLUGINS["eport"].example_details(PLUGINS["eport"].example_account("01"))
    response = await kopek.client.post(
        f"/v1/checkout/{payment['id']}/attempts", json={"wallet": "eport", "details": details},
        headers={**kopek.checkout_headers(payment), "Idempotency-Key": str(uuid.uuid4())})
    assert response.status == 200, await response.text()
    assert (await wait_for_status(kopek, payment, "succeeded"))["status"] == "succeeded"
    row = await kopek.app[keys.STORE]._fetchone(
        "SELECT a.provider_ref FROM payments p JOIN attempts a ON a.id = p.current_attempt_id WHERE p.id=?",
        (payment["id"],))
    return row[0]


async def day_of_operations(kopek):
    """Two payments and a refund of the first: the statement e-port would send."""
    first, second = await paid(kopek, 1000), await paid(kopek, 700)
    response = await kopek.client.post("/v1/refunds", json={"payment": await _payment_of(kopek, first),
                                                            "amount": 300}, headers=kopek.auth())
    refund = await response.json()
    row = await kopek.app[keys.STORE]._fetchone("SELECT provider_refund_ref FROM refunds WHERE id=?", (refund["id"],))
    return [{"ref": first, "type": "payment", "amount": 1000, "fee": provider_fee("eport", "payment", 1000)},
            {"ref": second, "type": "payment", "amount": 700, "fee": provider_fee("eport", "payment", 700)},
            {"ref": row[0], "type": "refund", "amount": 300, "fee": 0}]


async def _payment_of(kopek, provider_ref):
    row = await kopek.app[keys.STORE]._fetchone(
        "SELECT payment_id FROM attempts WHERE provider_ref=?", (provider_ref,))
    return row[0]


async def reconcile(kopek, tmp_path, operations, *extra):
    statement = tmp_path / f"eport-{uuid.uuid4()}.json"
    statement.write_text(json.dumps({"date": clock.now().date().isoformat(), "operations": operations}))
    return await asyncio.to_thread(
        run_cli, "reconcile", "--provider", "eport", "--date", clock.now().date().isoformat(), "--file",
        str(statement), *extra, db=kopek.app[keys.SETTINGS].db_path)


async def test_a_matching_statement_exits_zero(kopek, tmp_path) -> None:
    operations = await day_of_operations(kopek)
    done = await reconcile(kopek, tmp_path, operations, "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["matched"] == 3


async def test_each_kind_of_discrepancy_is_reported(kopek, tmp_path) -> None:
    operations = await day_of_operations(kopek)
    missing, wrong_amount, wrong_fee = operations
    statement = [{**wrong_amount, "amount": 701}, {**wrong_fee, "fee": 5},
                 {"ref": "dbt_not_ours", "type": "payment", "amount": 50, "fee": 1}]
    done = await reconcile(kopek, tmp_path, statement, "--json")
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert [m["ref"] for m in report["missing"]] == [missing["ref"]]
    assert [e["ref"] for e in report["extra"]] == ["dbt_not_ours"]
    assert [(d["ref"], d["kopek"], d["statement"]) for d in report["amount_differs"]] == [
        (wrong_amount["ref"], 700, 701)]
    assert [(d["ref"], d["expected"], d["statement"]) for d in report["fee_differs"]] == [(wrong_fee["ref"], 0, 5)]
    text = await reconcile(kopek, tmp_path, statement)
    assert text.returncode == 1 and "DISCREPANCIES FOUND" in text.stdout and "dbt_not_ours" in text.stdout


async def test_malformed_statement_file_exits_2(kopek, tmp_path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    done = await asyncio.to_thread(run_cli, "reconcile", "--provider", "eport", "--date", "2026-01-01",
                                   "--file", str(bad), db=kopek.app[keys.SETTINGS].db_path)
    assert done.returncode == 2 and "not valid JSON" in done.stderr
    done = await asyncio.to_thread(run_cli, "reconcile", "--provider", "eport", "--date", "2026-13-01",
                                   "--file", str(bad), db=kopek.app[keys.SETTINGS].db_path)
    assert done.returncode == 2 and "not a date" in done.stderr
    done = await asyncio.to_thread(run_cli, "reconcile", "--provider", "eport", "--date", "2026-01-01",
                                   "--file", str(tmp_path / "absent"), db=kopek.app[keys.SETTINGS].db_path)
    assert done.returncode == 2


GOOD = {
    "webmoney": b'<statement date="2026-01-01"><operation type="payment" ref="R000000000001:1" amount="5.00" '
                b'fee="0.04"/><operation type="refund" ref="77" amount="1.00" fee="0.00"/></statement>',
    "yandex_dengi": b"operation_id,type,amount,fee\n123,payment,5.00,0.05\n124,refund,1.00,0.00\n",
    "eport": b'{"date":"2026-01-01","operations":[{"ref":"dbt_1","type":"payment","amount":500,"fee":6},'
             b'{"ref":"rfd_1","type":"refund","amount":100,"fee":0}]}',
    "kreditpilot": b"ref;type;amount_kop;fee_kop\nch_1;payment;500;8\nrf_1;refund;100;0\n",
}


@pytest.mark.parametrize("provider", sorted(GOOD))
def test_every_format_parses(provider) -> None:
    lines = parse(provider, GOOD[provider])
    assert [(line.type, line.amount) for line in lines] == [("payment", 500), ("refund", 100)]


@pytest.mark.parametrize("provider, body, message", [
    ("webmoney", b"<statement><operation", "well-formed"),
    ("webmoney", b'<statement><operation type="payment" ref="1" amount="5" fee="0.00"/></statement>', "5.00"),
    ("webmoney", b'<!DOCTYPE x><statement/>', "DOCTYPE"),
    ("yandex_dengi", b"id,type,amount,fee\n", "header"),
    ("yandex_dengi", b"operation_id,type,amount,fee\n1,payment,5.00\n", "fields"),
    ("yandex_dengi", b"operation_id,type,amount,fee\n1,chargeback,5.00,0.00\n", "type"),
    ("eport", b'{"operations":{}}', "operations list"),
    ("eport", b'{"operations":[{"ref":"a","type":"payment","amount":-1,"fee":0}]}', "positive"),
    ("eport", b'{"operations":[{"ref":"a","type":"payment","amount":5.5,"fee":0}]}', "whole number"),
    ("kreditpilot", b"ref;type;amount_kop;fee_kop\nch_1;payment;500;8\nch_1;payment;500;8\n", "twice"),
    ("kreditpilot", b"\xff\xfe", "UTF-8"),
    ("paypal", b"", "no statement format"),
])
def test_malformed_statements_are_named(provider, body, message) -> None:
    with pytest.raises(MalformedStatement, match=message):
        parse(provider, body)


@pytest.mark.parametrize("wallet", ["eport"])
async def test_the_simulators_statement_is_fetched_and_matches(kopek, wallet) -> None:
    operations = await day_of_operations(kopek)
    url = f"{kopek.base_url}/sandbox/providers/{wallet}"
    statement = await kopek.client.get(f"/sandbox/providers/{wallet}/statements/{clock.now().date().isoformat()}")
    assert statement.status == 200
    assert {line.ref for line in parse(wallet, await statement.read())} == {op["ref"] for op in operations}
    env = kopek_env({f"KOPEK_PROVIDER_URL_{wallet.upper()}": url})
    done = await asyncio.to_thread(run_cli, "reconcile", "--provider", wallet, "--date",
                                   clock.now().date().isoformat(), "--json", db=kopek.app[keys.SETTINGS].db_path,
                                   env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["matched"] == 3


async def test_an_unreachable_statement_exits_2(kopek, tmp_path) -> None:
    env = kopek_env({"KOPEK_PROVIDER_URL_EPORT": f"{kopek.base_url}/nowhere"})
    done = await asyncio.to_thread(run_cli, "reconcile", "--provider", "eport", "--date", "2026-01-01",
                                   db=kopek.app[keys.SETTINGS].db_path, env=env)
    assert done.returncode == 2 and "HTTP 404" in done.stderr


@pytest.mark.parametrize("wallet", ["webmoney", "yandex_dengi", "kreditpilot", "eport"])
async def test_every_simulator_publishes_a_statement_in_its_format(kopek, wallet) -> None:
    response = await kopek.client.get(f"/sandbox/providers/{wallet}/statements/2026-01-01")
    assert response.status == 200
    assert parse(wallet, await response.read()) == []
    assert (await kopek.client.get(f"/sandbox/providers/{wallet}/statements/yesterday")).status == 400
