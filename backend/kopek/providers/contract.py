"""What every wallet connector does, and the frozen results it returns.

A connector speaks its provider's own protocol over real HTTP (to the built-in
simulator in sandbox mode) and translates it into these neutral results. The
payments service only ever sees these types.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol


class ConfirmationStyle(str, enum.Enum):
    ENTER_CODE = "enter_code"            # the provider sends a code; the shopper types it
    APPROVE_IN_WALLET = "approve_in_wallet"  # the shopper approves on the provider's page
    NONE = "none"                        # the details themselves authorise (e.g. a PIN)


@dataclass(frozen=True)
class WalletField:
    """One input of a wallet's form. The widget renders forms from these alone."""

    name: str
    label_en: str
    label_ru: str
    input_type: str            # "text" | "tel" | "password" | "number"
    pattern: str               # a regex valid in both Python `re` and JavaScript, anchored by the user
    required: bool = True
    placeholder: str = ""
    hint_en: str = ""
    hint_ru: str = ""
    autocomplete: str = "off"
    secret: bool = False       # relayed to the provider, never stored or logged

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": {"en": self.label_en, "ru": self.label_ru},
            "hint": {"en": self.hint_en, "ru": self.hint_ru},
            "type": self.input_type,
            "pattern": self.pattern,
            "required": self.required,
            "placeholder": self.placeholder,
            "autocomplete": self.autocomplete,
        }


@dataclass(frozen=True)
class WalletLimits:
    currency: str
    min_amount: int   # minor units, inclusive
    max_amount: int   # minor units, inclusive

    def allows(self, amount: int, currency: str) -> bool:
        return currency == self.currency and self.min_amount <= amount <= self.max_amount


@dataclass(frozen=True)
class WalletInfo:
    id: str                    # "webmoney"
    name_en: str
    name_ru: str
    confirmation: ConfirmationStyle
    fields: tuple[WalletField, ...]
    limits: tuple[WalletLimits, ...]
    code_length: int | None = None   # for ENTER_CODE wallets
    # How long a provider usually takes; past it, the reconciler asks for the status.
    status_check_after_s: float = 30.0
    can_resend_code: bool = False

    def limits_for(self, currency: str) -> WalletLimits | None:
        return next((lim for lim in self.limits if lim.currency == currency), None)

    def accepts(self, amount: int, currency: str) -> bool:
        limits = self.limits_for(currency)
        return limits is not None and limits.allows(amount, currency)


class Outcome(str, enum.Enum):
    """A provider's answer, mapped from its own vocabulary through an exhaustive table."""

    REQUIRES_CODE = "requires_code"          # a code was sent; relay it with confirm()
    REQUIRES_APPROVAL = "requires_approval"  # the shopper must approve at next_action_url
    PROCESSING = "processing"                # accepted; the result comes by callback or fetch
    SUCCEEDED = "succeeded"
    DECLINED = "declined"                    # final failure of this attempt
    WRONG_CODE = "wrong_code"                # the code was wrong; the attempt goes on


# Final failure reasons a connector may report (failure_code), shown to the shopper.
FAILURE_CODES = frozenset({
    "declined", "insufficient_funds", "wallet_not_found", "limit_exceeded",
    "code_attempts_exceeded", "code_expired", "provider_error", "expired", "incorrect_pin",
    "provider_timeout",
})


@dataclass(frozen=True)
class AttemptRequest:
    attempt_id: str
    payment_id: str
    amount: int
    currency: str
    description: str
    details: Mapping[str, str] = field(repr=False)  # the form values, validated; may hold a PIN
    callback_url: str                   # where the provider must send its notification


@dataclass(frozen=True)
class ProviderResult:
    outcome: Outcome
    provider_ref: str | None            # the provider's id for this operation (None: nothing was created)
    failure_code: str | None = None     # one of FAILURE_CODES when outcome is DECLINED
    failure_message: str = ""
    next_action_url: str | None = None  # for REQUIRES_APPROVAL
    retry_after_s: float | None = None  # provider's hint for the next status fetch
    raw_status: str = ""                # the provider's own status, for logs and the dashboard


@dataclass(frozen=True)
class CallbackEvent:
    """A verified notification from a provider."""

    provider_ref: str
    attempt_id: str
    outcome: Outcome                    # SUCCEEDED, DECLINED, or PROCESSING (an intermediate notice)
    amount: int
    currency: str
    failure_code: str | None = None
    raw_status: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CallbackReply:
    """What the callback endpoint answers the provider (each provider expects its own)."""

    status: int
    body: bytes
    content_type: str = "text/plain"


class RefundOutcome(str, enum.Enum):
    SUCCEEDED = "succeeded"
    PENDING = "pending"      # accepted; ask again later (no wallet answers this in the sandbox yet)
    FAILED = "failed"


# Final refund failure reasons a connector may report.
REFUND_FAILURE_CODES = frozenset({
    "refund_declined", "not_refundable", "amount_exceeds_remaining", "provider_error",
})


@dataclass(frozen=True)
class RefundResult:
    outcome: RefundOutcome
    provider_refund_ref: str | None     # the provider's id for the refund (None: nothing was created)
    failure_code: str | None = None     # one of REFUND_FAILURE_CODES when outcome is FAILED


class ProviderError(Exception):
    """The provider could not be reached, timed out, or answered something unexpected."""


class BadSignature(Exception):
    """A callback whose signature does not verify; it never changes state."""


class UnknownProviderStatus(ProviderError):
    """The provider answered a status our mapping table does not know: fail loudly."""


class Connector(Protocol):
    info: WalletInfo

    async def start(self, request: AttemptRequest) -> ProviderResult: ...

    async def confirm(self, provider_ref: str, code: str) -> ProviderResult: ...

    async def fetch_status(self, provider_ref: str) -> ProviderResult: ...

    async def resend_code(self, provider_ref: str) -> None:
        """Send the confirmation code again (ENTER_CODE wallets with can_resend_code)."""
        ...

    def parse_callback(self, body: bytes, headers: Mapping[str, str]) -> CallbackEvent:
        """Verify the signature over the raw bytes and parse. Raises BadSignature."""
        ...

    def callback_reply(self, accepted: bool) -> CallbackReply: ...

    async def refund(self, provider_ref: str, refund_id: str, amount: int, currency: str) -> RefundResult:
        """Return `amount` of the succeeded operation `provider_ref` to the shopper. Idempotent
        by Kopek's `refund_id`: asking again answers the same refund."""
        ...
