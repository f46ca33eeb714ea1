"""Making a refund: reserve the amount, ask the wallet, then finish it (ledger + event) at once.

The reservation is its own short transaction before the provider call (no network I/O inside a
transaction); the finish is another. If the wallet cannot be reached the refund stays pending
with its reservation held: the wallet may have refunded. Retrieving it (GET /v1/refunds/{id})
asks the wallet again with the same refund id, which is safe: connectors are idempotent by it.
"""

from __future__ import annotations

import logging
from typing import Any, Mapping

from kopek.errors import InvalidRequest, KopekError, NotFound
from kopek.payments.views import payment_snapshot
from kopek.providers.contract import ProviderError, RefundOutcome
from kopek.store.records import Payment
from kopek.store.refunds import NotRefundable, Refund, RefundStore
from kopek.store.sqlite import SqliteStore

log = logging.getLogger(__name__)


def refund_object(refund: Refund) -> dict[str, Any]:
    return {"id": refund.id, "object": "refund", "payment": refund.payment_id, "amount": refund.amount,
            "currency": refund.currency, "status": refund.status, "reason": refund.reason,
            "failure_code": refund.failure_code, "livemode": refund.livemode, "created_at": refund.created_at}


class RefundService:
    def __init__(self, store: SqliteStore, connectors: Mapping[str, Any], max_attempts: int) -> None:
        self.store = store
        self.refunds = RefundStore(store)
        self._connectors = connectors
        self._max_attempts = max_attempts

    def event_payload(self, refund: Refund, payment: Payment) -> dict[str, Any]:
        return {**refund_object(refund), "payment_object": payment_snapshot(payment, self._max_attempts)}

    async def create(self, payment: Payment, data: dict[str, Any]) -> Refund:
        if payment.status != "succeeded":
            raise InvalidRequest(f"payment {payment.id} has not succeeded ({payment.status}); nothing to refund",
                                 param="payment", code="payment_not_refundable")
        if data.get("currency") not in (None, payment.currency):
            raise InvalidRequest(f"the payment is in {payment.currency}", param="currency", code="currency_mismatch")
        amount = data.get("amount", payment.amount - payment.amount_refunded)
        if amount <= 0:
            raise InvalidRequest("the payment is already fully refunded", param="payment", code="amount_too_large")
        provider_ref = await self._provider_ref(payment)
        connector = self._connectors.get(payment.wallet or "")
        if connector is None:
            raise InvalidRequest(f"wallet {payment.wallet} cannot refund", code="refunds_unsupported")
        refund = await self._reserve(payment, amount, data.get("reason"))
        return await self._ask(refund, connector, provider_ref)

    async def refresh(self, refund: Refund) -> Refund:
        """A pending refund asks its wallet again (safe: idempotent by the refund id)."""
        if refund.status != "pending":
            return refund
        payment = await self.store.get_payment(refund.payment_id)
        connector = self._connectors.get(refund.wallet)
        if payment is None or connector is None:
            return refund
        return await self._ask(refund, connector, await self._provider_ref(payment))

    async def _ask(self, refund: Refund, connector: Any, provider_ref: str) -> Refund:
        try:
            result = await connector.refund(provider_ref, refund.id, refund.amount, refund.currency)
        except (ProviderError, KopekError) as exc:   # unreachable, or its breaker is open
            log.warning("refund %s stays pending: %s", refund.id, exc)
            return refund
        if result.outcome is RefundOutcome.PENDING:
            return refund
        return await self.refunds.finish(
            refund, succeeded=result.outcome is RefundOutcome.SUCCEEDED, render=self.event_payload,
            provider_refund_ref=result.provider_refund_ref,
            failure_code=None if result.outcome is RefundOutcome.SUCCEEDED else result.failure_code)

    async def get_for_merchant(self, merchant_id: str, livemode: bool, refund_id: str) -> Refund:
        refund = await self.refunds.get(refund_id)
        if refund is None or refund.merchant_id != merchant_id or refund.livemode != livemode:
            raise NotFound(f"no such refund: {refund_id}", param="id")
        return refund

    async def _reserve(self, payment: Payment, amount: int, reason: str | None) -> Refund:
        try:
            return await self.refunds.reserve(payment_id=payment.id, amount=amount, reason=reason)
        except NotRefundable as exc:
            if exc.code == "insufficient_available_balance":
                raise InvalidRequest(
                    "the merchant's balance cannot cover this refund: its share would exceed the "
                    f"{exc.refundable} minor units available (paid out already?)", param="amount",
                    code="insufficient_available_balance", extra={"available": exc.refundable}) from None
            if exc.code == "not_succeeded":
                raise InvalidRequest(f"payment {payment.id} has not succeeded", param="payment",
                                     code="payment_not_refundable") from None
            raise InvalidRequest(f"the amount is more than the {exc.refundable} minor units still refundable",
                                 param="amount", code="amount_too_large",
                                 extra={"refundable": exc.refundable}) from None

    async def _provider_ref(self, payment: Payment) -> str:
        attempt = await self.store.get_attempt(payment.current_attempt_id) if payment.current_attempt_id else None
        if attempt is None or attempt.provider_ref is None:
            raise InvalidRequest(f"payment {payment.id} has no wallet operation to refund",
                                 code="payment_not_refundable")
        return attempt.provider_ref
