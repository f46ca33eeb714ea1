"""Ledger account names. Each carries its currency, so a posting can never cross currencies.

Debit-normal (Kopek's assets): provider clearing (what a wallet owes Kopek for payments it took)
and the bank (what providers have paid Kopek). Credit-normal: a merchant's pending, available and
paid out (what Kopek owes, or has paid, the merchant), Kopek's fee revenue, refunds in transit.
"""

from __future__ import annotations

PENDING, AVAILABLE, PAID_OUT = "pending", "available", "paid_out"
MERCHANT_BUCKETS = (PENDING, AVAILABLE, PAID_OUT)


def merchant(merchant_id: str, currency: str, bucket: str) -> str:
    if bucket not in MERCHANT_BUCKETS:
        raise ValueError(f"unknown merchant account bucket {bucket!r}")
    return f"merchant:{merchant_id}:{currency}:{bucket}"


def merchant_prefix(merchant_id: str) -> str:
    """Every account of one merchant starts with this."""
    return f"merchant:{merchant_id}:"


def provider_clearing(wallet: str, currency: str) -> str:
    return f"provider:{wallet}:{currency}:clearing"


def bank(currency: str) -> str:
    return f"kopek:{currency}:bank"


def fee_revenue(currency: str) -> str:
    return f"kopek:{currency}:fee_revenue"


def refunds_in_transit(currency: str) -> str:
    """For refunds: what Kopek has promised back to shoppers and a wallet has not yet confirmed."""
    return f"kopek:{currency}:refunds_in_transit"
