"""Plain, frozen records that cross the store's boundary. No SQL outside store/."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Merchant:
    id: str
    name: str
    created_at: str
    origins: tuple[str, ...] = ()
    check_url: str | None = None
    check_on_timeout: str = "allow"


@dataclass(frozen=True)
class ApiKey:
    id: str
    merchant_id: str
    kind: str          # "secret" | "publishable"
    livemode: bool
    lookup: str        # SHA-256 of a secret key, or the publishable key itself
    hint: str
    created_at: str
    expires_at: str | None = None   # set when the key was rolled: it works until then


@dataclass(frozen=True)
class Payment:
    id: str
    merchant_id: str
    livemode: bool
    status: str
    amount: int
    currency: str
    order_id: str
    description: str
    return_url: str | None
    metadata: dict[str, str]
    allowed_wallets: tuple[str, ...] | None
    wallet: str | None
    current_attempt_id: str | None
    next_action: dict[str, Any] | None
    last_error: dict[str, Any] | None
    attempts_count: int
    last_seq: int
    expires_at: str
    created_at: str
    updated_at: str
    fee: int | None = None   # minor units, set when the payment succeeds (ledger/fees.py)
    net: int | None = None   # amount - fee: what the shop is owed
    amount_refunded: int = 0   # reserved by pending and succeeded refunds (migration 0008)


@dataclass(frozen=True)
class Attempt:
    id: str
    payment_id: str
    wallet: str
    idempotency_key: str
    status: str
    provider_ref: str | None
    account_hint: str
    code_tries: int
    failure_code: str | None
    failure_message: str | None
    created_at: str
    updated_at: str
    next_check_at: str | None = None
    checks: int = 0
    resends: int = 0
    last_resend_at: str | None = None
    needs_review: str | None = None
    account_key: str | None = None   # a keyed hash of the wallet account (payments/guesses.py)


@dataclass(frozen=True)
class Event:
    id: str
    payment_id: str
    seq: int
    type: str
    status: str
    data: dict[str, Any]
    created_at: str


@dataclass(frozen=True)
class Change:
    """One guarded state change: the payment moves from `expected_status` and, in the same
    transaction, its attempt may change and an event (plus its outbox row) is appended."""

    payment_id: str
    expected_status: str
    event_type: str | None
    payment_fields: dict[str, Any] = field(default_factory=dict)
    attempt_id: str | None = None
    attempt_expected_status: str | None = None
    attempt_fields: dict[str, Any] = field(default_factory=dict)


class StoreError(Exception):
    pass


class StaleState(StoreError):
    """The guarded write found the row in another state than expected."""

    def __init__(self, current_status: str | None) -> None:
        super().__init__(f"state changed underneath (now {current_status})")
        self.current_status = current_status


class DatabaseBusy(StoreError):
    """Another process held the database's write lock for longer than the writer waits."""


class DuplicateOrder(StoreError):
    def __init__(self, existing_payment_id: str) -> None:
        super().__init__(f"order already has payment {existing_payment_id}")
        self.existing_payment_id = existing_payment_id
