"""The refunds every wallet simulator keeps, whatever protocol carries them.

Rules, the same for every wallet:
- only a succeeded operation can be refunded (`not_refundable` otherwise);
- refunds of one operation never add up to more than it took (`amount_exceeds_remaining`);
- an amount ending in 99 kopecks (cents) is declined (`refund_declined`): the magic way to
  see a refund fail in the sandbox;
- a refund is idempotent by the merchant's refund id: asking again answers the same refund,
  and reusing that id for another operation or amount is a conflict.
At most MAX_REFUNDS are remembered; the oldest are forgotten first.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

MAX_REFUNDS = 10_000
DECLINED_ENDING = 99

SUCCEEDED, DECLINED, NOT_REFUNDABLE, EXCEEDS = (
    "succeeded", "refund_declined", "not_refundable", "amount_exceeds_remaining")


class RefundConflict(Exception):
    """The refund id was used before for another operation or amount."""


@dataclass(frozen=True)
class SimRefund:
    refund_ref: str
    refund_id: str
    operation_ref: str
    amount: int
    result: str     # SUCCEEDED or a failure reason

    @property
    def succeeded(self) -> bool:
        return self.result == SUCCEEDED


class RefundBook:
    def __init__(self, prefix: str) -> None:
        self._prefix = prefix
        self._by_id: dict[str, SimRefund] = {}

    def refund(self, *, operation_ref: str, operation_succeeded: bool, operation_amount: int,
               refund_id: str, amount: int) -> SimRefund:
        known = self._by_id.get(refund_id)
        if known is not None:
            if (known.operation_ref, known.amount) != (operation_ref, amount):
                raise RefundConflict(refund_id)
            return known
        result = self._decide(operation_ref, operation_succeeded, operation_amount, amount)
        made = SimRefund(f"{self._prefix}{secrets.token_hex(10)}", refund_id, operation_ref, amount, result)
        self._by_id[refund_id] = made
        while len(self._by_id) > MAX_REFUNDS:
            del self._by_id[next(iter(self._by_id))]
        return made

    def knows(self, refund_id: str) -> bool:
        return refund_id in self._by_id

    def refunded(self, operation_ref: str) -> int:
        return sum(r.amount for r in self._by_id.values() if r.operation_ref == operation_ref and r.succeeded)

    def all(self) -> list[SimRefund]:
        return list(self._by_id.values())

    def _decide(self, operation_ref: str, operation_succeeded: bool, operation_amount: int, amount: int) -> str:
        if not operation_succeeded:
            return NOT_REFUNDABLE
        if amount > operation_amount - self.refunded(operation_ref):
            return EXCEEDS
        if amount % 100 == DECLINED_ENDING:
            return DECLINED
        return SUCCEEDED
