"""The money side of Kopek in one object (app[keys.LEDGER]): fee plans, balances, provider
settlements and settlements with merchants."""

from __future__ import annotations

from typing import Any

from kopek.ledger.plans import FeePlans
from kopek.ledger.providers import ProviderSettler
from kopek.ledger.settlements import Settlements
from kopek.ledger.views import balance_object
from kopek.providers.contract import WalletInfo
from kopek.store.ledger import LedgerStore
from kopek.store.settlements import SettlementStore
from kopek.store.sqlite import SqliteStore


class Ledger:
    def __init__(self, store: SqliteStore, wallets: dict[str, WalletInfo]) -> None:
        self.store = LedgerStore(store)
        self.fee_plans = FeePlans(self.store, wallets)
        self.provider_settler = ProviderSettler(self.store)
        self.settlements = Settlements(SettlementStore(store))

    async def balance(self, merchant_id: str, livemode: bool) -> dict[str, Any]:
        return balance_object(await self.store.merchant_accounts(merchant_id, livemode), livemode)
