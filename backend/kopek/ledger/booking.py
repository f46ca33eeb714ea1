"""Booking a succeeded payment in the very transaction that makes it succeed.

`book_on_success` is a store change hook (SqliteStore.change_hooks): it runs after the payment
row says `succeeded` and before the `payment.succeeded` event is rendered, so the fee and net it
sets show in that event, its webhook and every later read. If booking fails, the payment does
not succeed either: the whole transaction rolls back.
"""

from __future__ import annotations

import logging

from kopek.ledger import entries
from kopek.ledger.fees import DEFAULT_PLAN, fee_for
from kopek.store.inline import InlineConnection
from kopek.store.ledger import LedgerStore, book, fee_plan_in, payment_facts, record_payment_fee
from kopek.store.records import StoreError

log = logging.getLogger(__name__)
SUCCEEDED_EVENT = "payment.succeeded"


async def book_on_success(db: InlineConnection, payment_id: str, event_type: str) -> None:
    if event_type == SUCCEEDED_EVENT:
        await book_payment(db, payment_id)


async def book_payment(db: InlineConnection, payment_id: str) -> None:
    """Charge the fee of the merchant's plan for the wallet used, and book the payment once."""
    facts = await payment_facts(db, payment_id)
    if facts.status != "succeeded" or facts.fee is not None:
        return
    if facts.wallet is None:
        raise StoreError(f"payment {payment_id} succeeded without a wallet; its fee cannot be computed")
    fee = fee_for(facts.amount, await fee_plan_in(db, facts.merchant_id, facts.wallet) or DEFAULT_PLAN)
    await record_payment_fee(db, payment_id, fee)
    await book(db, entries.payment_succeeded(
        payment_id=payment_id, merchant_id=facts.merchant_id, livemode=facts.livemode, wallet=facts.wallet,
        currency=facts.currency, amount=facts.amount, fee=fee))


async def book_missed(store: LedgerStore, batch: int = 500, max_batches: int = 1000) -> int:
    """Book succeeded payments that have no fee yet; returns how many. One that cannot be booked
    is logged and skipped (the invariant check will name it) rather than blocking start-up."""
    booked, after = 0, ""
    for _ in range(max_batches):
        ids = await store.succeeded_without_fee(batch, after)
        if not ids:
            break
        for payment_id in ids:
            try:
                await store.in_transaction(lambda db, pid=payment_id: book_payment(db, pid))
                booked += 1
            except StoreError:
                log.exception("could not book succeeded payment %s", payment_id)
        after = ids[-1]
    return booked
