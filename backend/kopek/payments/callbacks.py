"""Provider notifications: verify over the raw bytes, then apply at most once.

A callback that fails verification, names an unknown attempt, or disagrees with the
attempt's amount never changes state. A duplicate or stale one finds the attempt already
past it and is acknowledged without effect, so providers stop resending it.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Mapping

from kopek.errors import KopekError, NotFound, RateLimited
from kopek.limits import Limits, Rate
from kopek.payments.attempts import AttemptFlow
from kopek.payments.reconciler import Reconciler
from kopek.providers.contract import BadSignature, CallbackEvent, CallbackReply, ProviderError, ProviderResult

log = logging.getLogger(__name__)
REJECTED_CALLBACKS = Rate("rejected_callbacks", limit=1, window_s=10)


class CallbackRejected(KopekError):
    code = "callback_rejected"


class CallbackOutOfOrder(KopekError):
    status = 409


class BadCallbackSignature(KopekError):
    status = 401
    type = "authentication_error"
    code = "bad_signature"


class CallbackReceiver:
    def __init__(self, flow: AttemptFlow, reconciler: Reconciler, limits: Limits) -> None:
        self.flow = flow
        self.limits = limits
        self.reconciler = reconciler
        self.store = flow.store

    async def receive(self, wallet: str, body: bytes, headers: Mapping[str, str]) -> CallbackReply:
        connector = self.flow.connectors.get(wallet)
        if connector is None:
            raise NotFound(f"no such wallet: {wallet}")
        digest = hashlib.sha256(body).hexdigest()
        try:
            event = connector.parse_callback(body, headers)
        except BadSignature as exc:
            if await self._first_rejection_in_a_while(wallet):
                await self._record(wallet, digest, None, False, "bad_signature")
                log.warning("%s callback with a bad signature ignored; asking the provider instead", wallet)
                await self.reconciler.check_soon(wallet)
            raise BadCallbackSignature("signature does not verify") from exc
        except (ProviderError, ValueError) as exc:
            if await self._first_rejection_in_a_while(wallet):
                await self._record(wallet, digest, None, False, "malformed")
            raise CallbackRejected(f"malformed callback: {exc}") from exc
        try:
            result = await self._apply(wallet, event)
        except KopekError as exc:
            await self._record(wallet, digest, event.provider_ref, True, exc.code)
            raise
        await self._record(wallet, digest, event.provider_ref, True, result)
        return connector.callback_reply(accepted=True)

    async def _first_rejection_in_a_while(self, wallet: str) -> bool:
        """Forged callbacks must not buy writes or provider calls: only the first rejected one per
        wallet in a while is logged and makes Kopek ask the provider; the rest change nothing."""
        try:
            await self.limits.take(REJECTED_CALLBACKS, wallet)
        except RateLimited:
            return False
        return True

    async def _apply(self, wallet: str, event: CallbackEvent) -> str:
        attempt = await self.store.get_attempt(event.attempt_id)
        if attempt is None or attempt.wallet != wallet:
            raise NotFound("callback for an unknown attempt", code="unknown_attempt")
        async with self.flow.service.locks.hold(attempt.payment_id):
            payment = await self.store.get_payment(attempt.payment_id)
            attempt = await self.store.get_attempt(attempt.id)
            assert payment is not None and attempt is not None
            if attempt.status == "starting":
                # Not acknowledged: the provider sends it again once the start is recorded.
                raise CallbackOutOfOrder("the attempt is still starting; send this again later",
                                         code="callback_out_of_order")
            if attempt.provider_ref not in (None, event.provider_ref):
                raise NotFound("callback for an unknown provider operation", code="unknown_attempt")
            if (event.amount, event.currency) != (payment.amount, payment.currency):
                log.error("%s callback for %s says %s %s, not %s %s: flagged for review", wallet, attempt.id,
                          event.amount, event.currency, payment.amount, payment.currency)
                await self.store.update_attempt(attempt.id, attempt.status, {"needs_review": "amount_mismatch"})
                raise CallbackRejected("amount or currency differs from the attempt's", code="amount_mismatch")
            updated = await self.flow.apply_result(payment, attempt, ProviderResult(
                event.outcome, event.provider_ref, failure_code=event.failure_code, raw_status=event.raw_status))
            return "applied" if updated.last_seq != payment.last_seq else "no_change"

    async def _record(self, wallet: str, digest: str, ref: str | None, verified: bool, result: str) -> None:
        await self.store.record_callback(wallet=wallet, body_sha256=digest, provider_ref=ref,
                                         verified=verified, result=result)
