"""The money objects as clients see them. Amounts stay integers of minor units here."""

from __future__ import annotations

from typing import Any

from kopek.ledger import accounts
from kopek.ledger.fees import FeePlan
from kopek.ledger.settlements import Report
from kopek.store.ledger import AccountTotal
from kopek.store.settlements import SettlementLine


def fee_plan_object(wallet: str, plan: FeePlan, is_default: bool) -> dict[str, Any]:
    return {"object": "fee_plan", "wallet": wallet, "basis_points": plan.basis_points, "fixed": plan.fixed,
            "minimum": plan.minimum, "maximum": plan.maximum, "default": is_default}


def balance_object(totals: list[AccountTotal], livemode: bool) -> dict[str, Any]:
    """Credit balances shown as positive amounts: what Kopek owes the merchant."""
    owed: dict[str, dict[str, int]] = {accounts.PENDING: {}, accounts.AVAILABLE: {}}
    for total in totals:
        bucket = total.account.rsplit(":", 1)[1]
        if bucket in owed:
            owed[bucket][total.currency] = -total.amount
    currencies = sorted({currency for by_currency in owed.values() for currency in by_currency})
    return {"object": "balance", "livemode": livemode,
            **{bucket: [{"currency": c, "amount": owed[bucket].get(c, 0)} for c in currencies]
               for bucket in (accounts.PENDING, accounts.AVAILABLE)}}


def settlement_object(report: Report) -> dict[str, Any]:
    settlement = report.settlement
    return {
        "id": settlement.id,
        "object": "settlement",
        "livemode": settlement.livemode,
        "date": settlement.period_date,
        "period_start": settlement.period_start,
        "period_end": settlement.period_end,
        "status": settlement.status,
        "created_at": settlement.created_at,
        "paid_at": settlement.paid_at,
        "totals": [{"wallet": t.wallet, "currency": t.currency, "count": t.count, "amount": t.amount,
                    "fee": t.fee, "net": t.net} for t in report.totals],
        "net_payable": [{"currency": c, "amount": a} for c, a in sorted(report.net_payable.items())],
    }


def line_object(line: SettlementLine) -> dict[str, Any]:
    return {"type": line.line_type, "id": line.ref_id, "order_id": line.order_id, "wallet": line.wallet,
            "currency": line.currency, "amount": line.amount, "fee": line.fee, "net": line.net,
            "occurred_at": line.occurred_at}

