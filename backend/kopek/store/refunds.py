"""Refunds in SQL (migration 0008): reserving, finishing (with the ledger booking and the
refund's event, in one transaction) and reading.

A refund reserves its amount on `payments.amount_refunded` with a guarded UPDATE before the
provider is called; the column's CHECK (amount_refunded <= amount) makes the database refuse
what does not fit, so concurrent refunds can never together exceed the payment. A failed refund
gives its reservation back.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any, Callable

from kopek import clock
from kopek.ids import new_id
from kopek.ledger import accounts
from kopek.ledger.refund_booking import refund_succeeded, split
from kopek.store.inline import InlineConnection
from kopek.store.ledger import book
from kopek.store.refund_netting import available_to_refund
from kopek.store.sqlite import SqliteStore, _payment

MAX_REFUNDS_LISTED = 100


@dataclass(frozen=True)
class Refund:
    id: str
    payment_id: str
    merchant_id: str
    livemode: bool
    wallet: str
    amount: int
    currency: str
    status: str
    reason: str | None
    failure_code: str | None
    provider_refund_ref: str | None
    merchant_share: int | None
    fee_share: int | None
    merchant_bucket: str | None
    created_at: str
    updated_at: str


class NotRefundable(Exception):
    """Why a reservation was refused: 'not_succeeded', 'exceeds_refundable' (with what is left)
    or 'insufficient_available_balance' (with what the merchant's balance still covers)."""

    def __init__(self, code: str, refundable: int) -> None:
        super().__init__(code)
        self.code, self.refundable = code, refundable


def _refund(row: sqlite3.Row) -> Refund:
    return Refund(**{**dict(row), "livemode": bool(row["livemode"])})


# Renders a refund event's payload from the refund and its payment's row.
RenderEvent = Callable[[Refund, Any], dict[str, Any]]


class RefundStore:
    def __init__(self, store: SqliteStore) -> None:
        self.store = store

    async def reserve(self, *, payment_id: str, amount: int, reason: str | None) -> Refund:
        now = clock.now_iso()
        async with self.store._transaction() as db:
            try:
                cursor = await db.execute(
                    "UPDATE payments SET amount_refunded = amount_refunded + ? "
                    "WHERE id = ? AND status = 'succeeded' AND amount_refunded + ? <= amount",
                    (amount, payment_id, amount))
            except sqlite3.IntegrityError:
                cursor = None
            row = list(await db.execute_fetchall("SELECT * FROM payments WHERE id=?", (payment_id,)))[0]
            if cursor is None or cursor.rowcount != 1:
                code = "not_succeeded" if row["status"] != "succeeded" else "exceeds_refundable"
                raise NotRefundable(code, row["amount"] - row["amount_refunded"])
            refund = Refund(new_id("re"), payment_id, row["merchant_id"], bool(row["livemode"]), row["wallet"],
                            amount, row["currency"], "pending", reason, None, None, None, None, None, now, now)
            await _refuse_unless_covered(db, refund)
            values = {**refund.__dict__, "livemode": int(refund.livemode)}
            await db.execute(f"INSERT INTO refunds ({', '.join(values)}) VALUES ({', '.join('?' for _ in values)})",
                             tuple(values.values()))
        return refund

    async def finish(self, refund: Refund, *, succeeded: bool, provider_refund_ref: str | None,
                     failure_code: str | None, render: RenderEvent) -> Refund:
        """pending -> succeeded (booked in the ledger) or failed (reservation released), and the
        refund.* event with its outbox row, all in one transaction."""
        async with self.store._transaction() as db:
            fields: dict[str, Any] = {"status": "succeeded" if succeeded else "failed",
                                      "provider_refund_ref": provider_refund_ref, "failure_code": failure_code,
                                      "updated_at": clock.now_iso()}
            if succeeded:
                fields.update(await _split(db, refund))
            sets = ", ".join(f"{column} = ?" for column in fields)
            cursor = await db.execute(f"UPDATE refunds SET {sets} WHERE id = ? AND status = 'pending'",
                                      (*fields.values(), refund.id))
            finished = _refund(list(await db.execute_fetchall("SELECT * FROM refunds WHERE id=?", (refund.id,)))[0])
            if cursor.rowcount != 1:   # finished already (a concurrent refresh): nothing more to do
                return finished
            if succeeded:
                await _book(db, finished)
            else:
                await db.execute("UPDATE payments SET amount_refunded = amount_refunded - ? WHERE id = ?",
                                 (refund.amount, refund.payment_id))
            await _append_refund_event(db, finished, f"refund.{finished.status}", render)
        return finished

    async def pending(self, limit: int) -> list[Refund]:
        rows = await self.store._fetchall("SELECT * FROM refunds WHERE status='pending' ORDER BY created_at LIMIT ?",
                                          (limit,))
        return [_refund(row) for row in rows]

    async def get(self, refund_id: str) -> Refund | None:
        row = await self.store._fetchone("SELECT * FROM refunds WHERE id=?", (refund_id,))
        return None if row is None else _refund(row)

    async def for_payment(self, payment_id: str) -> list[Refund]:
        rows = await self.store._fetchall(
            "SELECT * FROM refunds WHERE payment_id=? ORDER BY created_at, id LIMIT ?",
            (payment_id, MAX_REFUNDS_LISTED))
        return [_refund(row) for row in rows]


async def _split(db: InlineConnection, refund: Refund) -> dict[str, Any]:
    """How a succeeded refund splits between the merchant and Kopek's fee, and which bucket it
    comes from (ledger/refund_booking.py)."""
    payment = list(await db.execute_fetchall("SELECT amount, fee FROM payments WHERE id=?", (refund.payment_id,)))[0]
    before = list(await db.execute_fetchall(
        "SELECT COALESCE(SUM(amount), 0) FROM refunds WHERE payment_id=? AND status='succeeded'",
        (refund.payment_id,)))[0][0]
    settled = list(await db.execute_fetchall(
        "SELECT 1 FROM provider_settlement_items WHERE payment_id=?", (refund.payment_id,)))
    merchant_share, fee_share = split(payment_amount=payment["amount"], fee=payment["fee"] or 0,
                                      refunded_before=before, amount=refund.amount)
    return {"merchant_share": merchant_share, "fee_share": fee_share,
            "merchant_bucket": accounts.AVAILABLE if settled else accounts.PENDING}


async def _refuse_unless_covered(db: InlineConnection, refund: Refund) -> None:
    """A refund must not drive the merchant's bucket to the debit side (after a payout, say):
    its share has to fit in what the bucket holds beyond the refunds still pending."""
    share = await _split(db, refund)
    left = await available_to_refund(db, merchant_id=refund.merchant_id, livemode=refund.livemode,
                                     currency=refund.currency, bucket=share["merchant_bucket"])
    if share["merchant_share"] > left:
        raise NotRefundable("insufficient_available_balance", max(left, 0))


async def _book(db: InlineConnection, refund: Refund) -> None:
    assert refund.merchant_share is not None and refund.fee_share is not None and refund.merchant_bucket
    await book(db, refund_succeeded(refund_id=refund.id, merchant_id=refund.merchant_id, livemode=refund.livemode,
                                    currency=refund.currency, bucket=refund.merchant_bucket,
                                    merchant_share=refund.merchant_share, fee_share=refund.fee_share))


async def _append_refund_event(db: InlineConnection, refund: Refund, event_type: str,
                               render: RenderEvent) -> None:
    """Refund events join their payment's event stream (the next seq), so webhooks and the
    events feed carry them in order with the payment's own."""
    await db.execute("UPDATE payments SET last_seq = last_seq + 1 WHERE id=?", (refund.payment_id,))
    payment = _payment(list(await db.execute_fetchall("SELECT * FROM payments WHERE id=?", (refund.payment_id,)))[0])
    event_id, now = new_id("evt"), clock.now_iso()
    payload = json.dumps(render(refund, payment), separators=(",", ":"), sort_keys=True)
    await db.execute(
        "INSERT INTO payment_events (id, payment_id, seq, type, status, data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (event_id, payment.id, payment.last_seq, event_type, payment.status, payload, now))
    await db.execute(
        "INSERT INTO outbox (event_id, merchant_id, livemode, type, payload, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        (event_id, payment.merchant_id, int(payment.livemode), event_type, payload, now))


async def succeeded_refund_totals(store: SqliteStore) -> list[tuple[bool, str, str, str, int, int]]:
    """(livemode, merchant, currency, bucket, merchant share, fee share) over succeeded refunds."""
    rows = await store._fetchall(
        "SELECT livemode, merchant_id, currency, merchant_bucket, SUM(merchant_share), SUM(fee_share) "
        "FROM refunds WHERE status='succeeded' GROUP BY livemode, merchant_id, currency, merchant_bucket")
    return [(bool(row[0]), row[1], row[2], row[3], row[4], row[5]) for row in rows]


async def merchant_refunded(store: SqliteStore) -> dict[tuple[bool, str, str], int]:
    """Per (livemode, merchant, currency): the merchant shares of succeeded refunds."""
    rows = await store._fetchall(
        "SELECT livemode, merchant_id, currency, SUM(merchant_share) FROM refunds WHERE status='succeeded' "
        "GROUP BY livemode, merchant_id, currency")
    return {(bool(row[0]), row[1], row[2]): row[3] for row in rows}
