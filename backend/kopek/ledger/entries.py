"""The balanced transactions Kopek books, built as plain values before any SQL runs.

Each business fact books one transaction, keyed by (kind, ref_type, ref_id) so booking twice
changes nothing. Positive amounts are debits, negative ones credits; zero legs are dropped.

    payment succeeded    debit  provider:<wallet>:<CUR>:clearing   amount
                         credit merchant:<mer>:<CUR>:pending       net
                         credit kopek:<CUR>:fee_revenue            fee
    provider settlement  debit  kopek:<CUR>:bank                   sum of amounts
                         credit provider:<wallet>:<CUR>:clearing   sum of amounts
                         and per merchant:
                         debit  merchant:<mer>:<CUR>:pending       sum of nets (less refunds
                         credit merchant:<mer>:<CUR>:available     already taken from pending)
    payout               debit  merchant:<mer>:<CUR>:available     net payable
                         credit merchant:<mer>:<CUR>:paid_out      net payable

Refunds (ledger/refund_booking.py): a succeeded refund moves the merchant's share and the fee
returned to kopek:<CUR>:refunds_in_transit; the provider's next settlement run nets it, moving
it from refunds in transit to the bank, so refunds in transit returns to zero.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable

from kopek.ledger import accounts

# Transaction kinds (and what ref_id names). Refunds add their own kind.
PAYMENT = "payment"                    # ref: payment pay_...
PROVIDER_SETTLEMENT = "provider_settlement"  # ref: provider_settlement pst_...
PAYOUT = "payout"                      # ref: settlement stl_...


class UnbalancedEntry(ValueError):
    pass


@dataclass(frozen=True)
class Posting:
    account: str
    currency: str
    amount: int   # minor units; + debit, - credit


@dataclass(frozen=True)
class Entry:
    """One ledger transaction to book."""

    kind: str
    ref_type: str
    ref_id: str
    merchant_id: str | None
    livemode: bool
    postings: tuple[Posting, ...]

    def __post_init__(self) -> None:
        check_balanced(self.postings)


def check_balanced(postings: Iterable[Posting]) -> None:
    """Two or more non-zero integer legs that sum to zero in every currency."""
    totals: dict[str, int] = defaultdict(int)
    count = 0
    for posting in postings:
        if isinstance(posting.amount, bool) or not isinstance(posting.amount, int) or posting.amount == 0:
            raise UnbalancedEntry(f"a posting must be a non-zero integer, not {posting.amount!r}")
        totals[posting.currency] += posting.amount
        count += 1
    if count < 2:
        raise UnbalancedEntry("a transaction needs two or more postings")
    off = {currency: total for currency, total in totals.items() if total != 0}
    if off:
        raise UnbalancedEntry(f"postings do not sum to zero: {off}")


def legs(currency: str, *pairs: tuple[str, int]) -> tuple[Posting, ...]:
    return tuple(Posting(account, currency, amount) for account, amount in pairs if amount != 0)


def payment_succeeded(*, payment_id: str, merchant_id: str, livemode: bool, wallet: str, currency: str,
                      amount: int, fee: int) -> Entry:
    return Entry(PAYMENT, "payment", payment_id, merchant_id, livemode, legs(
        currency,
        (accounts.provider_clearing(wallet, currency), amount),
        (accounts.merchant(merchant_id, currency, accounts.PENDING), -(amount - fee)),
        (accounts.fee_revenue(currency), -fee)))


@dataclass(frozen=True)
class SettledPayment:
    """One payment inside a provider's settlement."""

    payment_id: str
    merchant_id: str
    amount: int
    net: int


def provider_settlement(*, settlement_id: str, livemode: bool, wallet: str, currency: str,
                        payments: Iterable[SettledPayment]) -> Entry:
    total, nets = 0, defaultdict(int)
    for payment in payments:
        total += payment.amount
        nets[payment.merchant_id] += payment.net
    moves: list[tuple[str, int]] = [(accounts.bank(currency), total),
                                    (accounts.provider_clearing(wallet, currency), -total)]
    for merchant_id in sorted(nets):
        moves += [(accounts.merchant(merchant_id, currency, accounts.PENDING), nets[merchant_id]),
                  (accounts.merchant(merchant_id, currency, accounts.AVAILABLE), -nets[merchant_id])]
    return Entry(PROVIDER_SETTLEMENT, "provider_settlement", settlement_id, None, livemode, legs(currency, *moves))


def payout(*, settlement_id: str, merchant_id: str, livemode: bool, net_payable: dict[str, int]) -> Entry | None:
    """None when nothing is payable (a day whose payments all had fees equal to their amounts)."""
    postings = tuple(posting for currency in sorted(net_payable) for posting in legs(
        currency,
        (accounts.merchant(merchant_id, currency, accounts.AVAILABLE), net_payable[currency]),
        (accounts.merchant(merchant_id, currency, accounts.PAID_OUT), -net_payable[currency])))
    if not postings:
        return None
    return Entry(PAYOUT, "settlement", settlement_id, merchant_id, livemode, postings)
