"""Booking a succeeded refund, and what refunds add to the ledger's invariant check.

Policy: a refund is split between the merchant and Kopek in proportion to the payment's net
and fee, so a full refund returns the whole fee too and a merchant never gives back more than
it was credited for that payment. The split is cumulative (fee share of the refunds so far =
fee * refunded // amount), so partial refunds add up to exactly (net, fee).

    refund succeeded     debit  merchant:<mer>:<CUR>:pending|available  merchant share
                         debit  kopek:<CUR>:fee_revenue                 fee share
                         credit kopek:<CUR>:refunds_in_transit          amount

The merchant bucket is `available` once the provider has settled the payment, else `pending`.
A provider settlement that comes after a refund taken from `pending` moves only what is left of
the payment's net (net - merchant shares refunded from pending) to `available`.

    refund netted        debit  kopek:<CUR>:refunds_in_transit          amount
                         credit kopek:<CUR>:bank                        amount

The provider nets the refunds it carried out against what it pays Kopek: each provider
settlement run nets every succeeded refund whose payment that provider has settled, once
(refund_nettings' primary key and the (kind, ref) key of the transaction). So refunds in
transit holds exactly the succeeded refunds not yet netted, and returns to zero after the run.

A refund is refused (400 insufficient_available_balance) when the merchant's bucket it would
come from cannot cover its merchant share; a merchant's available is never driven to the debit
side, so a refund after a payout needs newer available money (store/refunds.py).
"""

from __future__ import annotations

from kopek.ledger import accounts
from kopek.ledger.entries import Entry, legs

REFUND = "refund"   # transaction kind; ref: refund re_...
REFUND_NETTED = "refund_netted"   # ref: refund re_...


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


def refund_netted(*, refund_id: str, merchant_id: str, livemode: bool, currency: str, amount: int) -> Entry:
    return Entry(REFUND_NETTED, "refund", refund_id, merchant_id, livemode, legs(
        currency, (accounts.refunds_in_transit(currency), amount), (accounts.bank(currency), -amount)))


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


async def from_refund_nettings(checks) -> list[tuple[bool, str, str, int]]:  # type: ignore[no-untyped-def]
    """Netted refunds clear refunds in transit against the bank."""
    from kopek.store.refund_netting import netted_totals
    rows = []
    for livemode, currency, amount in await netted_totals(checks.store):
        rows += [(livemode, accounts.refunds_in_transit(currency), currency, amount),
                 (livemode, accounts.bank(currency), currency, -amount)]
    return rows


async def from_pending_refunds_of_settled(checks) -> list[tuple[bool, str, str, int]]:  # type: ignore[no-untyped-def]
    """A provider settlement moves a payment's net less what refunds took from pending."""
    from kopek.store.refund_netting import pending_refunded_of_settled
    rows = []
    for livemode, merchant_id, currency, amount in await pending_refunded_of_settled(checks.store):
        rows += [(livemode, accounts.merchant(merchant_id, currency, accounts.PENDING), currency, -amount),
                 (livemode, accounts.merchant(merchant_id, currency, accounts.AVAILABLE), currency, amount)]
    return rows
