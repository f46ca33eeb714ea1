"""Provider notifications: verify over the raw bytes, then apply at most once.

A callback that fails verification, names an unknown attempt, or disagrees with the
attempt's amount never changes state. A duplicate finds the attempt already final and
is acknowledged without effect, so providers stop resending it.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Mapping

from kopek.errors import KopekError, NotFound
from kopek.payments import states
from kopek.payments.attempts import AttemptFlow
from kopek.providers.contract import BadSignature, CallbackEvent, CallbackReply, Outcome, ProviderError

log = logging.getLogger(__name__)


class CallbackRejected(KopekError):
    code = "callback_rejected"


class CallbackOutOfOrder(KopekError):
    status = 409


class BadCallbackSignature(KopekError):
    status = 401
    type = "authentication_error"
    code = "bad_signature"


class CallbackReceiver:
    def __init__(self, flow: AttemptFlow) -> None:
        self.flow = flow
        self.service = flow.service
        self.store = flow.service.store

    async def receive(self, wallet: str, body: bytes, headers: Mapping[str, str]) -> CallbackReply:
        connector = self.flow.connectors.get(wallet)
        if connector is None:
            raise NotFound(f"no such wallet: {wallet}")
        digest = hashlib.sha256(body).hexdigest()
        try:
            event = connector.parse_callback(body, headers)
        except BadSignature as exc:
            await self._record(wallet, digest, None, False, "bad_signature")
            log.warning("%s callback with a bad signature ignored", wallet)
            raise BadCallbackSignature("signature does not verify") from exc
        except (ProviderError, ValueError) as exc:
            await self._record(wallet, digest, None, False, "malformed")
            raise CallbackRejected(f"malformed callback: {exc}") from exc
        try:
            result = await self._apply(wallet, event)
        except KopekError as exc:
            await self._record(wallet, digest, event.provider_ref, True, exc.code)
            raise
        await self._record(wallet, digest, event.provider_ref, True, result)
        return connector.callback_reply(accepted=True)

    async def _apply(self, wallet: str, event: CallbackEvent) -> str:
        attempt = await self.store.find_attempt_by_ref(wallet, event.provider_ref)
        if attempt is None or attempt.id != event.attempt_id:
            raise NotFound("callback for an unknown attempt", code="unknown_attempt")
        async with self.service.locks.hold(attempt.payment_id):
            payment = await self.store.get_payment(attempt.payment_id)
            attempt = await self.store.get_attempt(attempt.id)
            assert payment is not None and attempt is not None
            if (event.amount, event.currency) != (payment.amount, payment.currency):
                log.error("%s callback for %s disagrees on amount: %s %s", wallet, attempt.id,
                          event.amount, event.currency)
                raise CallbackRejected("amount or currency differs from the attempt's",
                                       code="amount_mismatch")
            if attempt.status in ("succeeded", "failed") or payment.status in states.TERMINAL:
                return "duplicate"
            if attempt.status != "processing" or payment.status != states.PROCESSING:
                # Not acknowledged, so the provider sends it again once the payment has caught up.
                log.warning("%s callback for %s arrived in state %s/%s; asking the provider to resend",
                            wallet, attempt.id, payment.status, attempt.status)
                raise CallbackOutOfOrder(f"the attempt is {attempt.status}; send this again later",
                                         code="callback_out_of_order")
            if event.outcome is Outcome.SUCCEEDED:
                await self.service.apply(payment, states.SUCCEEDED, "complete", attempt_id=attempt.id,
                                         attempt_expected_status="processing",
                                         attempt_fields={"status": "succeeded"})
                return "succeeded"
            await self.flow.fail_attempt(payment, attempt.id, "processing", event.failure_code or "declined")
            return "failed"

    async def _record(self, wallet: str, digest: str, ref: str | None, verified: bool, result: str) -> None:
        await self.store.record_callback(wallet=wallet, body_sha256=digest, provider_ref=ref,
                                             verified=verified, result=result)
