"""The reconciler asks providers about attempts that sit past their expected time (psync),
with backoff, so a lost or forged notification never leaves a payment stuck. It also ends
attempts cut off by a restart and gives up on providers that never finish.
"""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import timedelta

from kopek import clock
from kopek.errors import WalletUnavailable
from kopek.payments.attempts import OPEN_ATTEMPT, AttemptFlow
from kopek.providers.contract import Outcome, ProviderError
from kopek.store.records import Attempt
from kopek.waiting import wait_for_event

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 300.0
BATCH = 50


class Reconciler:
    def __init__(self, flow: AttemptFlow) -> None:
        self.flow = flow
        self.store = flow.store
        self.settings = flow.settings
        self._wake = asyncio.Event()

    async def run_forever(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:  # one bad round must not stop the next
                log.exception("reconciler round failed")
            await wait_for_event(self._wake, self.settings.reconcile_interval_s)
            self._wake.clear()

    async def run_once(self) -> int:
        recovered = await self.recover_interrupted()
        due = await self.store.attempts_due_for_check(clock.now_iso(), BATCH)
        for attempt in due:
            await self.check(attempt)
        return recovered + len(due)

    async def check_soon(self, wallet: str) -> None:
        """A notification failed verification: ask the provider about that wallet's open attempts now."""
        await self.store.check_open_attempts_now(wallet)
        self._wake.set()

    async def check(self, attempt: Attempt) -> None:
        service = self.flow.service
        async with service.locks.hold(attempt.payment_id):
            attempt = await self.store.get_attempt(attempt.id) or attempt
            payment = await self.store.get_payment(attempt.payment_id)
            if payment is None or attempt.status not in OPEN_ATTEMPT or not attempt.provider_ref:
                return
            connector = self.flow.connectors[attempt.wallet]
            try:
                result = await connector.fetch_status(attempt.provider_ref)
            except (ProviderError, WalletUnavailable) as exc:
                log.info("status of %s unavailable (%s); asking again later", attempt.id, exc)
                await self._reschedule(attempt, None)
                return
            if result.outcome is Outcome.PROCESSING and self._processing_too_long(attempt):
                log.warning("%s kept %s processing past %s s; giving up", attempt.wallet, attempt.id,
                            self.settings.max_processing_s)
                await self.flow.fail_attempt(payment, attempt, "provider_timeout")
                return
            updated = await self.flow.apply_result(payment, attempt, result)
            if updated.last_seq == payment.last_seq:
                await self._reschedule(attempt, result.retry_after_s)

    def _processing_too_long(self, attempt: Attempt) -> bool:
        started = clock.from_iso(attempt.created_at)
        return clock.now() - started > timedelta(seconds=self.settings.max_processing_s)

    async def _reschedule(self, attempt: Attempt, hint_s: float | None) -> None:
        base_s = hint_s or self.flow.check_after_s(attempt.wallet)
        delay_s = min(base_s * 2 ** min(attempt.checks, 8), MAX_BACKOFF_S) * random.uniform(0.9, 1.1)
        await self.store.update_attempt(attempt.id, attempt.status, {
            "checks": attempt.checks + 1, "next_check_at": clock.iso_in(delay_s)})

    async def recover_interrupted(self) -> int:
        """Attempts left 'starting' by a crash: their outcome is unknown, so they end as
        'interrupted' and the shopper may try again; a later success still counts (apply_result)."""
        # Longer than a start can take with its retries, so no live call is cut off.
        cutoff = clock.to_iso(clock.now() - timedelta(seconds=self.settings.provider_timeout_s * 4 + 5))
        recovered = 0
        for attempt in await self.store.attempts_starting_before(cutoff, BATCH):
            async with self.flow.service.locks.hold(attempt.payment_id):
                payment = await self.store.get_payment(attempt.payment_id)
                fresh = await self.store.get_attempt(attempt.id)
                if payment is None or fresh is None or fresh.status != "starting":
                    continue
                await self.flow.fail_attempt(payment, fresh, "interrupted")
                recovered += 1
        return recovered
