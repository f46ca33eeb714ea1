"""kopek settle | ledger check | ledger settle-providers | merchant fees: the operator's money commands.

The mode (--mode / KOPEK_MODE) picks test or live settlements, as it picks keys elsewhere.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from kopek.errors import Conflict, KopekError
from kopek.ledger import invariants
from kopek.ledger.fees import FeePlan, FeePlanError
from kopek.ledger.service import Ledger
from kopek.ledger.settlements import Report, SettleRun, parse_day, yesterday
from kopek.ledger.views import fee_plan_object, settlement_object
from kopek.money import Money
from kopek.providers import registry
from kopek.settings import Settings
from kopek.store.sqlite import SqliteStore


def add_commands(commands: Any, merchant_actions: Any) -> None:
    settle = commands.add_parser("settle", help="settle a UTC day with every merchant, or record a payout")
    settle.add_argument("--date", metavar="YYYY-MM-DD", help="the UTC day to settle (default: yesterday)")
    settle.add_argument("--pay", metavar="STL", help="record that settlement STL was paid: books the payout")
    settle.add_argument("--json", action="store_true", help="print JSON")
    ledger = commands.add_parser("ledger", help="the double-entry ledger").add_subparsers(
        dest="ledger_action", required=True)
    check = ledger.add_parser("check", help="check every invariant; exits 1 when anything is off")
    check.add_argument("--json", action="store_true", help="print JSON")
    ledger.add_parser("settle-providers", help="book the wallet providers' settlements now (money becomes available)")
    fees = merchant_actions.add_parser("fees", help="show a merchant's fee plans, or set one wallet's")
    fees.add_argument("--merchant", required=True, metavar="MER")
    fees.add_argument("--wallet", metavar="ID", help="the wallet whose plan to set (with --bps, --fixed, --min)")
    fees.add_argument("--bps", type=int, help="basis points: 150 is 1.5 %%")
    fees.add_argument("--fixed", type=int, help="a fixed fee per payment, in minor units")
    fees.add_argument("--min", type=int, dest="minimum", help="the smallest fee, in minor units")
    fees.add_argument("--max", type=int, dest="maximum", help="the largest fee, in minor units (default: none)")
    fees.add_argument("--json", action="store_true", help="print JSON")


def handles(args: argparse.Namespace) -> bool:
    return args.command in ("settle", "ledger") or (args.command == "merchant" and args.action == "fees")


async def run(store: SqliteStore, settings: Settings, args: argparse.Namespace) -> int:
    ledger = Ledger(store, registry.WALLETS)
    try:
        if args.command == "merchant":
            return await _fees(store, ledger, args)
        if args.command == "ledger" and args.ledger_action == "check":
            return await _check(store, args.json)
        if args.command == "ledger":
            return await _settle_providers(ledger)
        if args.pay:
            return await _pay(ledger, args.pay, args.json)
        return await _settle(ledger, settings, args)
    except Conflict as exc:
        return _fail(exc.message, 1)
    except KopekError as exc:
        return _fail(exc.message)


async def _settle(ledger: Ledger, settings: Settings, args: argparse.Namespace) -> int:
    day = parse_day(args.date) if args.date else yesterday()
    run = await ledger.settlements.settle_day(day, livemode=not settings.sandbox)
    reports = [await ledger.settlements.report(s) for s in run.created]
    if args.json:
        print(json.dumps({"date": day.isoformat(), "created": [settlement_object(r) for r in reports],
                          "already_settled": [s.id for s in run.existing]}))
        return 0
    _print_run(run, reports)
    return 0


def _print_run(run: SettleRun, reports: list[Report]) -> None:
    print(f"Settled {run.day.isoformat()} (UTC): {len(reports)} new settlement(s), "
          f"{len(run.existing)} made earlier")
    for report in reports:
        lines = sum(t.count for t in report.totals)
        print(f"  {report.settlement.id}  {report.settlement.merchant_id}  {lines} line(s)  "
              f"net payable {_amounts(report.net_payable)}")


async def _pay(ledger: Ledger, settlement_id: str, as_json: bool) -> int:
    paid = await ledger.settlements.pay(settlement_id)
    report = await ledger.settlements.report(paid)
    if as_json:
        print(json.dumps(settlement_object(report)))
    else:
        print(f"Settlement {paid.id} ({paid.merchant_id}, {paid.period_date}) paid: "
              f"{_amounts(report.net_payable)} moved from available to paid out")
    return 0


async def _settle_providers(ledger: Ledger) -> int:
    made = await ledger.provider_settler.run_once()
    print(f"{len(made)} provider settlement(s) for {sum(s.payments_count for s in made)} payment(s)")
    for s in made:
        print(f"  {s.id}  {s.wallet}  {Money(s.currency, s.amount)}  {s.payments_count} payment(s)")
    return 0


async def _check(store: SqliteStore, as_json: bool) -> int:
    report = await invariants.check(store)
    if as_json:
        print(json.dumps({"ok": report.ok, "problems": report.problems, "figures": report.figures}))
    else:
        figures = {k: v for k, v in report.figures.items() if k != "by_currency"}
        print("Ledger: " + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in figures.items()))
        for name, values in report.figures["by_currency"].items():
            print(f"  {name}: " + ", ".join(f"{k} {v}" for k, v in values.items()))
        for problem in report.problems:
            print(f"PROBLEM: {problem}")
        print("OK: every kopeck is accounted for" if report.ok else f"{len(report.problems)} problem(s)")
    return 0 if report.ok else 1


async def _fees(store: SqliteStore, ledger: Ledger, args: argparse.Namespace) -> int:
    if await store.get_merchant(args.merchant) is None:
        return _fail(f"no such merchant: {args.merchant}")
    if args.wallet is not None:
        if None in (args.bps, args.fixed, args.minimum):
            return _fail("setting a plan needs --bps, --fixed and --min (and --max if it has one)")
        try:
            plan = FeePlan(args.bps, args.fixed, args.minimum, args.maximum)
        except FeePlanError as exc:
            return _fail(str(exc))
        await ledger.fee_plans.set(args.merchant, args.wallet, plan)
    plans = [fee_plan_object(*p) for p in await ledger.fee_plans.effective(args.merchant)]
    if args.json:
        print(json.dumps(plans))
        return 0
    for p in plans:
        print(f"{p['wallet']:14} {p['basis_points']} bps + {p['fixed']}, min {p['minimum']}, "
              f"max {p['maximum'] if p['maximum'] is not None else 'none'}{'  (default)' if p['default'] else ''}")
    return 0


def _amounts(amounts: dict[str, int]) -> str:
    return ", ".join(str(Money(currency, amount)) for currency, amount in sorted(amounts.items())) or "nothing"


def _fail(message: str, code: int = 2) -> int:
    print(f"kopek: {message}", file=sys.stderr)
    return code
