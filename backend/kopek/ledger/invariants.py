"""The ledger's invariant check: `kopek ledger check` and the tests run it.

1. Every transaction is sealed, has two or more postings and sums to zero per currency (the
   database refuses anything else; this proves it held).
2. Every succeeded payment has a fee, a net and exactly its one ledger transaction; nothing
   else is booked as a payment; provider settlements and settlement lines agree with payments.
3. Every account's balance equals what the business records say it must be: each contribution
   below turns payments, provider settlements and paid settlements into expected balances,
   and the ledger must match them to the kopeck. Refunds add theirs: a succeeded refund debits
   the merchant's bucket and fee revenue and credits refunds in transit; a netted refund clears
   refunds in transit against the bank; a provider settlement moves a payment's net less what
   refunds took from pending. So refunds in transit holds exactly the succeeded refunds not yet
   netted, and is zero once every refunded payment's provider has settled.
4. No account sits on the wrong side (a merchant's available never owes Kopek: a refund that
   would make it so is refused with insufficient_available_balance; a provider's clearing is
   never negative; refunds in transit is never a debit), and per merchant and currency
   pending + available + paid out equals the net of its succeeded payments less the merchant
   shares of its succeeded refunds. Every netted refund succeeded and its payment was settled.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Iterable

from kopek.ledger import accounts
from kopek.ledger.refund_booking import from_pending_refunds_of_settled, from_refund_nettings, from_refunds
from kopek.store.ledger_checks import GroupTotal, LedgerCheckStore
from kopek.store.refund_netting import netting_problems
from kopek.store.refunds import merchant_refunded
from kopek.store.sqlite import SqliteStore

Key = tuple[bool, str, str]              # (livemode, account, currency)
Expected = Iterable[tuple[bool, str, str, int]]
Contribution = Callable[[LedgerCheckStore], Awaitable[Expected]]


@dataclass
class CheckReport:
    problems: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


async def from_payments(checks: LedgerCheckStore) -> Expected:
    rows = []
    for g in await checks.succeeded_totals():
        rows += [(g.livemode, accounts.provider_clearing(g.wallet, g.currency), g.currency, g.amount),
                 (g.livemode, accounts.merchant(g.merchant_id, g.currency, accounts.PENDING), g.currency, -g.net),
                 (g.livemode, accounts.fee_revenue(g.currency), g.currency, -g.fee)]
    return rows


async def from_provider_settlements(checks: LedgerCheckStore) -> Expected:
    rows = []
    for g in await checks.succeeded_totals(provider_settled=True):
        rows += [(g.livemode, accounts.bank(g.currency), g.currency, g.amount),
                 (g.livemode, accounts.provider_clearing(g.wallet, g.currency), g.currency, -g.amount),
                 (g.livemode, accounts.merchant(g.merchant_id, g.currency, accounts.PENDING), g.currency, g.net),
                 (g.livemode, accounts.merchant(g.merchant_id, g.currency, accounts.AVAILABLE), g.currency, -g.net)]
    return rows


async def from_payouts(checks: LedgerCheckStore) -> Expected:
    rows = []
    for livemode, merchant_id, currency, net in await checks.paid_out_totals():
        rows += [(livemode, accounts.merchant(merchant_id, currency, accounts.AVAILABLE), currency, net),
                 (livemode, accounts.merchant(merchant_id, currency, accounts.PAID_OUT), currency, -net)]
    return rows


CONTRIBUTIONS: list[Contribution] = [from_payments, from_provider_settlements, from_payouts, from_refunds,
                                     from_refund_nettings, from_pending_refunds_of_settled]

# Accounts whose balance may only be a debit (>= 0) or only a credit (<= 0).
_DEBIT_ONLY = ("clearing", "bank")
_CREDIT_ONLY = (accounts.PENDING, accounts.AVAILABLE, accounts.PAID_OUT, "fee_revenue", "refunds_in_transit")


async def check(store: SqliteStore) -> CheckReport:
    checks = LedgerCheckStore(store)
    report = CheckReport()
    report.problems += [f"transaction {tx} does not balance in {currency}: off by {off}"
                        for tx, currency, off in await checks.unbalanced_transactions()]
    report.problems += [f"transaction {tx} has fewer than two postings" for tx in await checks.thin_transactions()]
    report.problems += [f"transaction {tx} is not sealed: its postings do not count"
                        for tx in await checks.unsealed_transactions()]
    report.problems += await checks.payment_booking_problems()
    report.problems += await netting_problems(store)
    actual = {(t.livemode, t.account, t.currency): t.amount for t in await checks.account_totals()}
    expected = await expected_balances(checks)
    report.problems += _differences(expected, actual)
    report.problems += _wrong_sides(actual)
    report.problems += await _merchant_totals(checks, actual)
    report.figures = {**await checks.ledger_counts(), "by_currency": _figures(actual, await checks.succeeded_totals())}
    return report


async def expected_balances(checks: LedgerCheckStore) -> dict[Key, int]:
    expected: dict[Key, int] = defaultdict(int)
    for contribution in CONTRIBUTIONS:
        for livemode, account, currency, amount in await contribution(checks):
            expected[(livemode, account, currency)] += amount
    return dict(expected)


def _differences(expected: dict[Key, int], actual: dict[Key, int]) -> list[str]:
    return [f"{_mode(key[0])} account {key[1]} holds {actual.get(key, 0)} but the records say {expected.get(key, 0)}"
            for key in sorted(set(expected) | set(actual)) if expected.get(key, 0) != actual.get(key, 0)]


def _wrong_sides(actual: dict[Key, int]) -> list[str]:
    problems = []
    for (livemode, account, _), amount in sorted(actual.items()):
        kind = account.rsplit(":", 1)[1]
        if (kind in _DEBIT_ONLY and amount < 0) or (kind in _CREDIT_ONLY and amount > 0):
            problems.append(f"{_mode(livemode)} account {account} is on the wrong side: {amount}")
    return problems


async def _merchant_totals(checks: LedgerCheckStore, actual: dict[Key, int]) -> list[str]:
    """pending + available + paid out == the net of the merchant's succeeded payments."""
    nets: dict[tuple[bool, str, str], int] = defaultdict(int)
    for g in await checks.succeeded_totals():
        nets[(g.livemode, g.merchant_id, g.currency)] += g.net
    for key, refunded in (await merchant_refunded(checks.store)).items():   # less the merchant's share of refunds
        nets[key] -= refunded
    problems = []
    for (livemode, merchant_id, currency), net in sorted(nets.items()):
        held = -sum(actual.get((livemode, accounts.merchant(merchant_id, currency, b), currency), 0)
                    for b in accounts.MERCHANT_BUCKETS)
        if held != net:
            problems.append(f"{_mode(livemode)} merchant {merchant_id} {currency}: pending + available + paid out "
                            f"= {held}, but its succeeded payments net {net} after refunds")
    return problems


def _figures(actual: dict[Key, int], payments: list[GroupTotal]) -> dict[str, dict[str, int]]:
    """Per mode and currency: the succeeded payments' sums, and what each kind of account holds
    (credits shown positive)."""
    figures: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for g in payments:
        for name, value in (("payments", g.count), ("gross", g.amount), ("fees", g.fee), ("net", g.net)):
            figures[f"{_mode(g.livemode)} {g.currency}"][name] += value
    for (livemode, account, currency), amount in actual.items():
        kind = account.rsplit(":", 1)[1]
        figures[f"{_mode(livemode)} {currency}"][kind] += -amount if kind in _CREDIT_ONLY else amount
    return {name: dict(values) for name, values in sorted(figures.items())}


def _mode(livemode: bool) -> str:
    return "live" if livemode else "test"
