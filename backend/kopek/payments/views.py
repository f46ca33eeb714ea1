"""The payment and event objects as clients see them."""

from __future__ import annotations

from typing import Any

from kopek.store.records import Event, Payment

# What the checkout frame (the shopper's side) may see of a payment snapshot.
CHECKOUT_KEYS = ("id", "status", "amount", "currency", "description", "expires_at", "wallet",
                 "next_action", "last_error", "attempts_left", "return_url")


def payment_snapshot(payment: Payment, max_attempts: int) -> dict[str, Any]:
    """The payment as stored in events and webhooks: everything but the client secret."""
    return {
        "id": payment.id,
        "object": "payment",
        "status": payment.status,
        "amount": payment.amount,
        "currency": payment.currency,
        "fee": payment.fee,    # null until the payment succeeds
        "net": payment.net,
        "amount_refunded": payment.amount_refunded,   # pending + succeeded refunds
        "order_id": payment.order_id,
        "description": payment.description,
        "wallet": payment.wallet,
        "next_action": payment.next_action,
        "last_error": payment.last_error,
        "attempts_left": max(0, max_attempts - payment.attempts_count),
        "return_url": payment.return_url,
        "expires_at": payment.expires_at,
        "created_at": payment.created_at,
        "livemode": payment.livemode,
        "metadata": payment.metadata,
    }


def payment_object(snapshot: dict[str, Any], client_secret: str, public_base_url: str) -> dict[str, Any]:
    return {**snapshot, "client_secret": client_secret,
            "checkout_url": hosted_checkout_url(public_base_url, snapshot["id"], client_secret)}


def hosted_checkout_url(public_base_url: str, payment_id: str, client_secret: str) -> str:
    """The hosted page; the secret rides in the #fragment, which browsers never send to a server."""
    return f"{public_base_url}/pay/{payment_id}#{client_secret}"


def checkout_view(snapshot: dict[str, Any]) -> dict[str, Any]:
    return {key: snapshot.get(key) for key in CHECKOUT_KEYS}


def event_object(event: Event, shopper_view: bool = False) -> dict[str, Any]:
    return {
        "id": event.id,
        "object": "event",
        "type": event.type,
        "seq": event.seq,
        "created_at": event.created_at,
        "payment": checkout_view(event.data) if shopper_view else event.data,
    }


def mask_account(account: str) -> str:
    """R100000000001 -> R100…0001: enough for the shopper to recognise, useless to others."""
    if len(account) <= 6:
        return "…" + account[-2:]
    return f"{account[:4]}…{account[-4:]}"
