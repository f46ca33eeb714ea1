"""Jinja filters for dashboard pages: money in major units, timestamps in UTC."""

from __future__ import annotations

from kopek import clock
from kopek.money import CURRENCY_EXPONENTS, Money


def money(amount: int | None, currency: str) -> str:
    if amount is None:
        return "—"
    if currency not in CURRENCY_EXPONENTS:
        return f"{amount} {currency}"
    return str(Money(currency, int(amount)))


def when(iso: str | None) -> str:
    """'2026-11-26T23:07:01.123456Z' -> '2026-11-26 23:07:01 UTC'."""
    if not iso:
        return "—"
    try:
        return clock.from_iso(iso).strftime("%Y-%m-%d %H:%M:%S UTC")
    except ValueError:
        return iso


FILTERS = {"money": money, "when": when}
