"""A settlement as CSV: the one place (with display) where amounts become decimal strings.

One header row; one row per line (payment, or refund with negative amount, fee and net); a total row per
wallet and currency; a net payable row per currency. The `type` column tells them apart.
"""

from __future__ import annotations

import csv
import io
from typing import Iterable

from kopek.ledger.settlements import Report
from kopek.money import Money
from kopek.store.settlements import SettlementLine

HEADER = ("type", "id", "order_id", "wallet", "currency", "occurred_at", "amount", "fee", "net")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_rows(rows: Iterable[Iterable[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


def header_row() -> tuple[str, ...]:
    return HEADER


def line_row(line: SettlementLine) -> tuple[str, ...]:
    return (line.line_type, line.ref_id, spreadsheet_text(line.order_id or ""), line.wallet, line.currency,
            line.occurred_at,
            *(_decimal(amount, line.currency) for amount in (line.amount, line.fee, line.net)))


def total_rows(report: Report) -> list[tuple[str, ...]]:
    rows = [("wallet_total", "", "", t.wallet, t.currency, "", _decimal(t.amount, t.currency),
             _decimal(t.fee, t.currency), _decimal(t.net, t.currency)) for t in report.totals]
    rows += [("net_payable", report.settlement.id, "", "", currency, "", "", "", _decimal(amount, currency))
             for currency, amount in sorted(report.net_payable.items())]
    return rows


def filename(report: Report) -> str:
    return f"kopek-settlement-{report.settlement.period_date}-{report.settlement.id}.csv"


def _decimal(amount: int, currency: str) -> str:
    return Money(currency, amount).decimal_string()


def spreadsheet_text(value: str) -> str:
    """A shop's own text, kept from being read as a formula by a spreadsheet."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value
