"""Provider settlements: each wallet provider pays Kopek for the payments it took, and that money
becomes available to the merchants.

The sandbox has no real money to move, so Kopek books each provider's settlement itself on the
provider's schedule: every `provider_settlement_interval_s` (daily), multiplied by the sandbox
time scale so tests and demos see it happen. Each run settles, per mode, wallet and currency,
every succeeded payment not yet settled, in batches of at most BATCH payments, and then nets
the refunds those providers carried out (refunds in transit -> bank).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from kopek import clock
from kopek.store.ledger import LedgerStore, ProviderSettlement
from kopek.store.refund_netting import net_refunds

log = logging.getLogger(__name__)

BATCH = 1000
MAX_BATCHES_PER_RUN = 100      # 100,000 payments a run; the rest wait for the next one
LAST_RUN_SETTING = "ledger.provider_settlement_last_run"


class ProviderSettler:
    def __init__(self, store: LedgerStore) -> None:
        self.store = store

    async def run_once(self) -> list[ProviderSettlement]:
        made: list[ProviderSettlement] = []
        for livemode, wallet, currency in await self.store.unsettled_groups():
            while len(made) < MAX_BATCHES_PER_RUN:
                settlement = await self.store.settle_with_provider(livemode, wallet, currency, BATCH)
                if settlement is None:
                    break
                made.append(settlement)
        await self.net_refunds()
        await self.store.store.set_instance_setting(LAST_RUN_SETTING, clock.now_iso())
        return made

    async def net_refunds(self) -> int:
        """Each provider deducts the refunds it carried out from what it pays Kopek: net every
        succeeded refund of a payment it has settled, once (ledger/refund_booking.py)."""
        netted = 0
        for _ in range(MAX_BATCHES_PER_RUN):
            count = await net_refunds(self.store.store, BATCH)
            netted += count
            if count < BATCH:
                break
        return netted

    async def run_forever(self, interval_s: float) -> None:
        """On the schedule, counted from the last run (kept in the database), so restarts
        neither skip a settlement nor add one."""
        while True:
            await asyncio.sleep(await self._seconds_until_due(interval_s))
            try:
                made = await self.run_once()
            except Exception:  # one bad round must not stop the next
                log.exception("provider settlement failed")
                await asyncio.sleep(min(interval_s, 60.0))
                continue
            if made:
                log.info("booked %d provider settlement(s) for %d payment(s)", len(made),
                         sum(s.payments_count for s in made))

    async def _seconds_until_due(self, interval_s: float) -> float:
        last = await self.store.store.get_instance_setting(LAST_RUN_SETTING)
        if last is None:
            await self.store.store.set_instance_setting(LAST_RUN_SETTING, clock.now_iso())
            return interval_s
        due = clock.from_iso(last) + timedelta(seconds=interval_s)
        return max(0.0, (due - clock.now()).total_seconds())
