"""Booking a succeeded refund, and what refunds add to the ledger's invariant check.

Policy: a refund is split between the merchant and Kopek in proportion to the payment's net
and fee, so a full refund returns the whole fee too and a merchant never gives back more than
it was credited for that payment. The split is cumulative (fee share of the refunds so far =
fee * refunded // amount), so partial refunds add up to exactly (net, fee).

    refund succeeded     debit  merchant:<mer>:<CUR>:pending|available  merchant share
                         debit  kopek:<CUR>:fee_revenue                 fee share
                         credit kopek:<CUR>:refunds_in_transit          amount

The merchant bucket is `available` once the provider has settled the payment, else `pending`.
"""

from __future__ import annotations

from kopek.ledger import accounts
from kopek.ledger.entries import Entry, legs

REFUND = "refund"   # transaction kind; ref: refund re_...


def split(*, payment_amount: int, fee: int, refunded_before: int, amount: int) -> tuple[int, int]:
    """(merchant share, fee share) of a refund of `amount` after `refunded_before` was refunded."""
    fee_share = fee * (refunded_before + amount) // payment_amount - fee * refunded_before // payment_amount
    return amount - fee_share, fee_share


def refund_succeeded(*, refund_id: str, merchant_id: str, livemode: bool, currency: str, bucket: str,
                     merchant_share: int, fee_share: int) -> Entry:
    return Entry(REFUND, "refund", refund_id, merchant_id, livemode, legs(
        currency,
        (accounts.merchant(merchant_id, currency, bucket), merchant_share),
        (accounts.fee_revenue(currency), fee_share),
        (accounts.refunds_in_transit(currency), -(merchant_share + fee_share))))


async def from_refunds(checks) -> list[tuple[bool, str, str, int]]:  # type: ignore[no-untyped-def]
    """The invariant check's contribution: what succeeded refunds must have booked."""
    from kopek.store.refunds import succeeded_refund_totals
    rows = []
    for livemode, merchant_id, currency, bucket, merchant_share, fee_share in await succeeded_refund_totals(
            checks.store):
        rows += [(livemode, accounts.merchant(merchant_id, currency, bucket), currency, merchant_share),
                 (livemode, accounts.fee_revenue(currency), currency, fee_share),
                 (livemode, accounts.refunds_in_transit(currency), currency, -(merchant_share + fee_share))]
    return rows
