"""The operator's money commands, run as real processes on a real SQLite file."""

from __future__ import annotations

import json
from datetime import timedelta

from kopek import clock
from ledger_helpers import freeze_day, harness, pay, run
from processes import create_merchant, run_cli


def test_merchant_fees_shows_and_sets_a_wallets_plan(tmp_path):
    db = tmp_path / "kopek.db"
    merchant = create_merchant(db, "Shop")["id"]
    shown = run_cli("merchant", "fees", "--merchant", merchant, db=db)
    assert shown.returncode == 0 and "webmoney       150 bps + 0, min 0, max none  (default)" in shown.stdout

    done = run_cli("merchant", "fees", "--merchant", merchant, "--wallet", "eport", "--bps", "200", "--fixed", "1",
                   "--min", "2", "--max", "50", "--json", db=db)
    assert done.returncode == 0, done.stderr
    eport = next(p for p in json.loads(done.stdout) if p["wallet"] == "eport")
    assert (eport["basis_points"], eport["fixed"], eport["minimum"], eport["maximum"], eport["default"]) == (
        200, 1, 2, 50, False)


def test_merchant_fees_refuses_bad_plans_clearly(tmp_path):
    db = tmp_path / "kopek.db"
    merchant = create_merchant(db, "Shop")["id"]
    plan = ["--bps", "150", "--fixed", "0", "--min", "1"]
    cases = [
        (["--merchant", merchant, "--wallet", "eport", "--bps", "-1", "--fixed", "0", "--min", "0"], "basis_points"),
        (["--merchant", merchant, "--wallet", "eport", "--bps", "10001", "--fixed", "0", "--min", "0"], "100 %"),
        (["--merchant", merchant, "--wallet", "eport", "--bps", "1.5", "--fixed", "0", "--min", "0"], "invalid int"),
        (["--merchant", merchant, "--wallet", "eport", "--bps", "1", "--fixed", "0", "--min", "5", "--max", "4"],
         "maximum"),
        (["--merchant", merchant, "--wallet", "eport", "--bps", "1", "--min", "0"], "--fixed"),
        (["--merchant", merchant, "--wallet", "paypal", *plan], "no such wallet"),
        (["--merchant", "mer_nope", "--wallet", "eport", *plan], "no such merchant"),
    ]
    for args, message in cases:
        done = run_cli("merchant", "fees", *args, db=db)
        assert done.returncode == 2 and message in done.stderr, (args, done.stderr)
    listed = json.loads(run_cli("merchant", "fees", "--merchant", merchant, "--json", db=db).stdout)
    assert all(p["default"] for p in listed)


def test_settle_refuses_today_the_future_and_what_is_not_a_date(tmp_path):
    db = tmp_path / "kopek.db"
    today = clock.now().date()
    for day, message in [(today.isoformat(), "is not over yet"), ((today + timedelta(days=3)).isoformat(),
                                                                 "is not over yet"),
                         ("2026-13-01", "not a date"), ("yesterday", "not a date"), ("2026-W47-3", "not a date")]:
        done = run_cli("settle", "--date", day, db=db)
        assert done.returncode == 2 and message in done.stderr, (day, done.stderr)
    assert run_cli("settle", "--pay", "stl_nope", db=db).returncode == 2


async def yesterdays_payments(db, monkeypatch) -> str:
    freeze_day(monkeypatch, clock.now().date() - timedelta(days=1))
    async with harness(db) as h:
        merchant = await h.merchant()
        await pay(h.service, merchant, 10_000, "webmoney", "Y-1")
        await pay(h.service, merchant, 500, "kreditpilot", "Y-2")
        await pay(h.service, merchant, 700, "eport", "Y-3", succeed=False)
    monkeypatch.undo()
    return merchant


def test_settle_makes_yesterdays_settlement_once_and_pays_it_after_the_providers(tmp_path, monkeypatch):
    db = tmp_path / "kopek.db"
    merchant = run(yesterdays_payments(db, monkeypatch))

    first = run_cli("settle", db=db)
    assert first.returncode == 0, first.stderr
    assert "1 new settlement(s), 0 made earlier" in first.stdout and merchant in first.stdout
    assert "net payable 103.42 RUB" in first.stdout          # 98.50 + 4.92
    settlement_id = next(word for word in first.stdout.split() if word.startswith("stl_"))
    again = run_cli("settle", "--json", db=db)
    assert json.loads(again.stdout)["created"] == [] and json.loads(again.stdout)["already_settled"] == [settlement_id]

    early = run_cli("settle", "--pay", settlement_id, db=db)
    assert early.returncode == 1 and "not yet settled by their wallet providers" in early.stderr
    providers = run_cli("ledger", "settle-providers", db=db)
    assert providers.returncode == 0 and "2 provider settlement(s) for 2 payment(s)" in providers.stdout
    paid = run_cli("settle", "--pay", settlement_id, "--json", db=db)
    assert paid.returncode == 0, paid.stderr
    assert json.loads(paid.stdout)["status"] == "paid"
    twice = run_cli("settle", "--pay", settlement_id, db=db)
    assert twice.returncode == 1 and "was paid at" in twice.stderr

    checked = run_cli("ledger", "check", db=db)
    assert checked.returncode == 0 and "OK: every kopeck is accounted for" in checked.stdout
    figures = json.loads(run_cli("ledger", "check", "--json", db=db).stdout)
    assert figures["ok"] is True
    assert figures["figures"]["by_currency"]["test RUB"]["paid_out"] == 10_342


def test_ledger_check_exits_non_zero_with_a_report_when_the_books_are_off(tmp_path, monkeypatch):
    db = tmp_path / "kopek.db"
    run(yesterdays_payments(db, monkeypatch))
    run(_tamper(db))
    done = run_cli("ledger", "check", db=db)
    assert done.returncode == 1
    assert "succeeded without a ledger transaction" in done.stdout and "problem(s)" in done.stdout


async def _tamper(db) -> None:
    async with harness(db) as h:
        async with h.store._transaction() as conn:
            await conn.execute("UPDATE payments SET status='succeeded' WHERE status='failed'")
