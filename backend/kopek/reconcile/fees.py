"""What each provider charges Kopek, as agreed in its contract: the statement's fees must match.

A payment costs `bps` basis points of its amount, rounded half up to the minor unit; a refund
costs nothing. (Sandbox rates; an operator with other contracts changes this table.)
"""

from __future__ import annotations

PROVIDER_FEE_BPS: dict[str, int] = {"webmoney": 80, "yandex_dengi": 100, "eport": 120, "kreditpilot": 150}


def provider_fee(provider: str, kind: str, amount: int) -> int:
    if kind != "payment":
        return 0
    return (amount * PROVIDER_FEE_BPS[provider] + 5_000) // 10_000
