"""The payment state machine: this table is the only place that allows a change."""

from __future__ import annotations

from kopek.errors import InvalidState

REQUIRES_WALLET = "requires_wallet"
REQUIRES_CONFIRMATION = "requires_confirmation"
PROCESSING = "processing"
SUCCEEDED = "succeeded"
FAILED = "failed"
CANCELED = "canceled"
EXPIRED = "expired"

TRANSITIONS: dict[str, frozenset[str]] = {
    REQUIRES_WALLET: frozenset({REQUIRES_CONFIRMATION, PROCESSING, CANCELED, EXPIRED,
                                # a synchronous decline records an event and stays put
                                REQUIRES_WALLET, FAILED}),
    REQUIRES_CONFIRMATION: frozenset({PROCESSING, REQUIRES_WALLET, CANCELED, EXPIRED, FAILED}),
    PROCESSING: frozenset({SUCCEEDED, REQUIRES_WALLET, FAILED}),
    SUCCEEDED: frozenset(),
    FAILED: frozenset(),
    CANCELED: frozenset(),
    EXPIRED: frozenset(),
}

STATUSES = tuple(TRANSITIONS)
TERMINAL = frozenset(status for status, targets in TRANSITIONS.items() if not targets)

# The event each arrival state records (a return to requires_wallet is a failed attempt).
EVENT_TYPES: dict[str, str] = {
    REQUIRES_WALLET: "payment.attempt_failed",
    REQUIRES_CONFIRMATION: "payment.requires_confirmation",
    PROCESSING: "payment.processing",
    SUCCEEDED: "payment.succeeded",
    FAILED: "payment.failed",
    CANCELED: "payment.canceled",
    EXPIRED: "payment.expired",
}


def can_move(current: str, target: str) -> bool:
    return target in TRANSITIONS[current]


def check_move(current: str, target: str, action: str) -> None:
    """Raise 409 invalid_state, naming the current status, unless the table allows it."""
    if not can_move(current, target):
        raise InvalidState(current, action)
