"""Fee plans per merchant and wallet: read, set, and the check that refuses a payment whose fee
would exceed its amount."""

from __future__ import annotations

from typing import Iterable

from kopek.errors import InvalidRequest, NotFound
from kopek.ledger.fees import DEFAULT_PLAN, FeePlan, planned_fee
from kopek.providers.contract import WalletInfo
from kopek.store.ledger import LedgerStore
from kopek.store.sqlite import SqliteStore


class FeePlans:
    def __init__(self, store: LedgerStore, wallets: dict[str, WalletInfo]) -> None:
        self.store = store
        self.wallets = wallets

    async def effective(self, merchant_id: str) -> list[tuple[str, FeePlan, bool]]:
        """(wallet, plan, is_default) for every wallet, in the registry's order."""
        own = await self.store.fee_plans(merchant_id)
        return [(wallet, own.get(wallet, DEFAULT_PLAN), wallet not in own) for wallet in self.wallets]

    async def set(self, merchant_id: str, wallet: str, plan: FeePlan) -> None:
        if wallet not in self.wallets:
            raise NotFound(f"no such wallet: {wallet}; see GET /v1/wallets", param="wallet")
        await self.store.set_fee_plan(merchant_id, wallet, plan)


async def refuse_if_fee_exceeds(store: SqliteStore, merchant_id: str, wallet_ids: Iterable[str],
                                amount: int) -> None:
    """At creation: the wallet is not chosen yet, so the dearest plan among those offered decides."""
    plans = await LedgerStore(store).fee_plans(merchant_id)
    worst = max((planned_fee(amount, plans.get(w, DEFAULT_PLAN)) for w in wallet_ids), default=0)
    if worst > amount:
        raise InvalidRequest(
            f"the fee for this amount would be {worst} minor units, more than the amount {amount}; "
            "raise the amount or change the fee plan (GET /v1/fee_plans)",
            param="amount", code="amount_below_fee", extra={"fee": worst})
