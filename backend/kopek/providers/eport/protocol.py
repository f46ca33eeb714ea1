"""The pure e-port mapping: JSON bodies, signatures and result-code tables. No network.

No public description of e-port's merchant protocol survives, so this one is Kopek's own
design of a plausible account + PIN debit in the JSON-over-HTTP style. Its assumptions:

- The shopper has an e-port account (10 digits) guarded by a 4-digit PIN. The PIN
  authorises the debit by itself: no code is sent and no approval page opens.
- Every request is a JSON object POSTed as `application/json` (UTF-8) with two headers:
  `X-Eport-Merchant: <merchant id>` and `X-Eport-Signature: <hex HMAC-SHA256 of the raw
  body under the merchant secret>`. e-port checks the signature over the exact bytes it
  received, never over re-serialised JSON.
- `POST /api/v1/debits` takes `account`, `pin`, `amount` (an integer of minor units:
  e-port counts kopecks and cents), `currency`, `merchant_reference` (Kopek's attempt
  id), `description`, `notify_url` and an `extensions` object (Kopek's payment id as
  `kopek_payment_id`). e-port checks the account, the PIN and the balance at once and
  records a debit for every request, even a refused one, under its merchant_reference:
  a repeated request answers the same debit with its current result and never debits
  twice. Reusing a merchant_reference for another account, amount or currency is a
  conflict (94).
- `POST /api/v1/debits/status` takes `{"debit_id": ...}` and answers the debit's current
  result (used when a notification is lost).
- Every answer is `{"result": <int>, "message": <text>, "operation": {...}}`; the
  operation holds `debit_id`, `merchant_reference`, `amount`, `currency` and `state`.
  The codes borrow ISO 8583 response-code numbers where one fits (14, 51, 55, 57, 61, 91,
  96); the others are e-port's own (see `Result`). Answers about the debit come with HTTP
  200; refusals of the request itself with a 4xx (`HTTP_STATUSES`); "system busy" (91)
  with 503 and "system error" (96) with 500, which the shared HTTP client retries.
- When a debit reaches a final state, e-port POSTs a notification to its `notify_url`:
  a JSON object with `debit_id`, `merchant_reference`, `state` (processing | completed |
  failed), `amount`, `currency`, `failure_result` (the result code when failed, else
  null) and `sent_at` (UTC, "YYYY-MM-DDTHH:MM:SSZ"), with `X-Eport-Merchant` and
  `X-Eport-Signature` computed as for requests but under a separate notify secret.
  Failures decided at once (wrong PIN, unknown account, insufficient funds, a decline)
  are notified too. A `processing` notice may arrive late, after the final one. e-port
  counts a delivery as done only on HTTP 200 `{"ok":true}`, and otherwise retries it.
- `sent_at` is checked for form, not age: replaying a genuine notice cannot change a
  payment that has already reached its final state.
- The PIN travels only inside the debit request body. It never appears in a repr, a log
  line, an exception message or anything stored, on either side.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

from kopek import strict_json
from kopek.providers import mapping
from kopek.providers.contract import BadSignature, Outcome, ProviderError, UnknownProviderStatus, WalletLimits
from kopek.providers.mapping import Mapped, Refused

MAX_BODY_BYTES = 64 * 1024
MAX_DESCRIPTION_CHARS = 255
MAX_MESSAGE_CHARS = 200
MAX_AMOUNT = 10**12

DEBITS_PATH = "/api/v1/debits"
STATUS_PATH = "/api/v1/debits/status"
CONTENT_TYPE = "application/json"
MERCHANT_HEADER = "X-Eport-Merchant"
SIGNATURE_HEADER = "X-Eport-Signature"

# Patterns for the shopper's form (valid in Python and JavaScript; the user anchors them).
ACCOUNT_PATTERN = r"[0-9]{10}"
PIN_PATTERN = r"[0-9]{4}"
REFERENCE_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
DEBIT_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
CURRENCY_PATTERN = re.compile(r"[A-Z]{3}")
STATE_PATTERN = re.compile(r"[a-z_]{1,32}")
SENT_AT_PATTERN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")

LIMITS: tuple[WalletLimits, ...] = (
    WalletLimits("RUB", 1, 500_000),
    WalletLimits("USD", 1, 10_000),
)
CURRENCIES = frozenset(limits.currency for limits in LIMITS)


@dataclass(frozen=True)
class MerchantCredentials:
    merchant_id: str
    secret: str = field(repr=False)          # signs Kopek's requests
    notify_secret: str = field(repr=False)   # signs e-port's notifications


# Known to both the connector (in sandbox mode) and the simulator.
SANDBOX_CREDENTIALS = MerchantCredentials(
    merchant_id="kopek-sandbox",
    secret="kopek-sandbox-eport-secret",
    notify_secret="kopek-sandbox-eport-notify-secret",
)


# ---- result codes and their tables ------------------------------------------------------

class Result(enum.IntEnum):
    ACCEPTED = 0             # a new debit was created and is processing
    PROCESSING = 10
    ACCOUNT_NOT_FOUND = 14
    COMPLETED = 20
    DEBIT_NOT_FOUND = 25     # status query for an unknown debit_id
    FORMAT_ERROR = 30
    INSUFFICIENT_FUNDS = 51
    INCORRECT_PIN = 55
    DECLINED = 57
    LIMIT_EXCEEDED = 61
    SECURITY_VIOLATION = 63  # bad signature or unknown merchant
    SYSTEM_BUSY = 91         # retryable, answered with HTTP 503
    REFERENCE_CONFLICT = 94  # merchant_reference reused for another debit
    SYSTEM_ERROR = 96        # answered with HTTP 500


class DebitState(str, enum.Enum):
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"


# The HTTP status e-port answers each result with.
HTTP_STATUSES: Mapping[int, int] = MappingProxyType({
    Result.ACCEPTED: 200, Result.PROCESSING: 200, Result.COMPLETED: 200,
    Result.ACCOUNT_NOT_FOUND: 200, Result.INSUFFICIENT_FUNDS: 200, Result.INCORRECT_PIN: 200,
    Result.DECLINED: 200, Result.LIMIT_EXCEEDED: 200,
    Result.FORMAT_ERROR: 400, Result.SECURITY_VIOLATION: 401, Result.DEBIT_NOT_FOUND: 404,
    Result.REFERENCE_CONFLICT: 409, Result.SYSTEM_ERROR: 500, Result.SYSTEM_BUSY: 503,
})


FAILURES: Mapping[int, Mapped] = MappingProxyType({
    Result.ACCOUNT_NOT_FOUND: Mapped(Outcome.DECLINED, "wallet_not_found"),
    Result.INSUFFICIENT_FUNDS: Mapped(Outcome.DECLINED, "insufficient_funds"),
    Result.INCORRECT_PIN: Mapped(Outcome.DECLINED, "incorrect_pin"),
    Result.DECLINED: Mapped(Outcome.DECLINED, "declined"),
    Result.LIMIT_EXCEEDED: Mapped(Outcome.DECLINED, "limit_exceeded"),
})

_DEBIT_RESULTS: Mapping[int, Mapped] = {
    Result.PROCESSING: Mapped(Outcome.PROCESSING),
    Result.COMPLETED: Mapped(Outcome.SUCCEEDED),
    **FAILURES,
}

_REFUSALS: Mapping[int, Refused] = {
    Result.FORMAT_ERROR: Refused("malformed request"),
    Result.SECURITY_VIOLATION: Refused("signature or merchant rejected"),
    Result.SYSTEM_BUSY: Refused("system busy"),
    Result.SYSTEM_ERROR: Refused("system error"),
}

START_RESULTS: Mapping[int, Mapped | Refused] = MappingProxyType({
    Result.ACCEPTED: Mapped(Outcome.PROCESSING),
    **_DEBIT_RESULTS,
    **_REFUSALS,
    Result.REFERENCE_CONFLICT: Refused("merchant_reference already used for another debit"),
})

STATUS_RESULTS: Mapping[int, Mapped | Refused] = MappingProxyType({
    **_DEBIT_RESULTS,
    **_REFUSALS,
    Result.DEBIT_NOT_FOUND: Refused("no such debit"),
})

# A notice's state; a failed one says why in failure_result (looked up in FAILURES).
NOTICE_STATES: Mapping[str, Mapped | Mapping[int, Mapped]] = MappingProxyType({
    DebitState.PROCESSING.value: Mapped(Outcome.PROCESSING),
    DebitState.COMPLETED.value: Mapped(Outcome.SUCCEEDED),
    DebitState.FAILED.value: FAILURES,
})


def state_of(result: Result) -> DebitState:
    """The debit state a debit's result code puts it in."""
    if result in (Result.ACCEPTED, Result.PROCESSING):
        return DebitState.PROCESSING
    if result is Result.COMPLETED:
        return DebitState.COMPLETED
    if result in FAILURES:
        return DebitState.FAILED
    raise ValueError(f"result {int(result)} is not a debit's result")


def http_status(result: int) -> int:
    return HTTP_STATUSES[result]


# ---- signatures and headers ---------------------------------------------------------------

def sign(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def signature_matches(body: bytes, secret: str, received: str | None) -> bool:
    if not received:
        return False
    expected = sign(body, secret).encode("ascii")
    return hmac.compare_digest(expected, received.strip().lower().encode("utf-8", "replace"))


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header looked up case-insensitively; None when missing or repeated."""
    wanted = name.lower()
    found = [value for key, value in headers.items() if key.lower() == wanted]
    return found[0] if len(found) == 1 else None


def authentic(body: bytes, headers: Mapping[str, str], merchant_id: str, secret: str) -> bool:
    """Is this body signed by `secret` for `merchant_id`? Checked over the raw bytes."""
    merchant = header(headers, MERCHANT_HEADER)
    ours = merchant is not None and hmac.compare_digest(merchant.encode("utf-8", "replace"),
                                                        merchant_id.encode("utf-8"))
    return signature_matches(body, secret, header(headers, SIGNATURE_HEADER)) and ours


def signed_headers(body: bytes, merchant_id: str, secret: str) -> dict[str, str]:
    return {MERCHANT_HEADER: merchant_id, SIGNATURE_HEADER: sign(body, secret)}


# ---- JSON ----------------------------------------------------------------------------------

def dump(payload: Mapping[str, Any]) -> bytes:
    return strict_json.dumps(payload)


def load_object(body: bytes, what: str, error: type[Exception]) -> dict[str, Any]:
    """A JSON object, strictly: no duplicate keys, no NaN. The message never quotes the body."""
    if len(body) > MAX_BODY_BYTES:
        raise error(f"{what} is larger than {MAX_BODY_BYTES} bytes")
    try:
        value = strict_json.loads(body)
    except ValueError as exc:   # UnicodeDecodeError included
        raise error(f"{what} is not valid JSON ({type(exc).__name__})") from None
    if not isinstance(value, dict):
        raise error(f"{what} is not a JSON object")
    return value


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_amount(value: Any) -> bool:
    return is_int(value) and 0 < value <= MAX_AMOUNT


def _text(value: Any, pattern: re.Pattern[str]) -> bool:
    return isinstance(value, str) and pattern.fullmatch(value) is not None


# ---- requests (built by the connector, read by the simulator) -------------------------------

@dataclass(frozen=True)
class SignedRequest:
    path: str
    body: bytes = field(repr=False)     # the debit's body holds the PIN
    headers: Mapping[str, str]


@dataclass(frozen=True)
class DebitRequest:
    account: str
    pin: str = field(repr=False)
    amount: int
    currency: str
    merchant_reference: str
    description: str
    notify_url: str
    payment_id: str

    def __post_init__(self) -> None:
        # Messages name the field, never its value.
        if not re.fullmatch(ACCOUNT_PATTERN, self.account):
            raise ValueError("the e-port account must be 10 digits")
        if not re.fullmatch(PIN_PATTERN, self.pin):
            raise ValueError("the e-port PIN must be exactly 4 digits")
        if not is_amount(self.amount):
            raise ValueError("the amount must be a positive integer of minor units")
        if not _text(self.currency, CURRENCY_PATTERN):
            raise ValueError("the currency must be an ISO 4217 code")
        if not _text(self.merchant_reference, REFERENCE_PATTERN):
            raise ValueError("the merchant_reference must be 1-64 letters, digits, '_' or '-'")
        if self.notify_url and not self.notify_url.startswith(("http://", "https://")):
            raise ValueError("the notify_url must be an http(s) URL")

    def payload(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "pin": self.pin,
            "amount": self.amount,
            "currency": self.currency,
            "merchant_reference": self.merchant_reference,
            "description": self.description[:MAX_DESCRIPTION_CHARS],
            "notify_url": self.notify_url,
            "extensions": {"kopek_payment_id": self.payment_id},
        }


def debit_request(creds: MerchantCredentials, debit: DebitRequest) -> SignedRequest:
    return _signed(creds, DEBITS_PATH, debit.payload())


def status_request(creds: MerchantCredentials, debit_id: str) -> SignedRequest:
    if not _text(debit_id, DEBIT_ID_PATTERN):
        raise ValueError("an e-port debit id is 1-64 letters, digits, '_' or '-'")
    return _signed(creds, STATUS_PATH, {"debit_id": debit_id})


def _signed(creds: MerchantCredentials, path: str, payload: Mapping[str, Any]) -> SignedRequest:
    body = dump(payload)
    return SignedRequest(path, body, signed_headers(body, creds.merchant_id, creds.secret))


# ---- answers --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Operation:
    debit_id: str
    merchant_reference: str
    amount: int
    currency: str
    state: str

    def to_json(self) -> dict[str, Any]:
        return {"debit_id": self.debit_id, "merchant_reference": self.merchant_reference,
                "amount": self.amount, "currency": self.currency, "state": self.state}


@dataclass(frozen=True)
class Answer:
    result: int
    message: str = ""
    operation: Operation | None = None


def answer_json(result: Result, message: str = "", operation: Operation | None = None) -> bytes:
    """An answer body (the simulator's side)."""
    payload: dict[str, Any] = {"result": int(result), "message": message}
    if operation is not None:
        payload["operation"] = operation.to_json()
    return dump(payload)


def parse_answer(body: bytes) -> Answer:
    data = load_object(body, "the e-port answer", ProviderError)
    result, message, operation = data.get("result"), data.get("message", ""), data.get("operation")
    if not is_int(result):
        raise ProviderError("the e-port answer has no integer result")
    if not isinstance(message, str):
        raise ProviderError("the e-port answer's message is not text")
    return Answer(result, message[:MAX_MESSAGE_CHARS], None if operation is None else _operation(operation))


def _operation(data: Any) -> Operation:
    valid = (isinstance(data, dict) and _text(data.get("debit_id"), DEBIT_ID_PATTERN)
             and _text(data.get("merchant_reference"), REFERENCE_PATTERN) and is_amount(data.get("amount"))
             and _text(data.get("currency"), CURRENCY_PATTERN) and _text(data.get("state"), STATE_PATTERN))
    if not valid:
        raise ProviderError("the e-port answer's operation is malformed")
    return Operation(data["debit_id"], data["merchant_reference"], data["amount"], data["currency"], data["state"])


def resolve(table: Mapping[int, Mapped | Refused], answer: Answer, what: str) -> Mapped:
    return mapping.resolve(
        table, answer.result, unknown=f"e-port {what} answered unknown result {answer.result}",
        refused=lambda reason: f"e-port {what} refused the request: result {answer.result} ({reason})",
    )


# ---- notifications ------------------------------------------------------------------------

@dataclass(frozen=True)
class Notice:
    debit_id: str
    merchant_reference: str
    state: str
    amount: int
    currency: str
    failure_result: int | None
    sent_at: str

    def to_json(self) -> dict[str, Any]:
        return {"debit_id": self.debit_id, "merchant_reference": self.merchant_reference,
                "state": self.state, "amount": self.amount, "currency": self.currency,
                "failure_result": self.failure_result, "sent_at": self.sent_at}


def notice_body(notice: Notice) -> bytes:
    return dump(notice.to_json())


def verify_notice(body: bytes, headers: Mapping[str, str], creds: MerchantCredentials) -> Notice:
    """Verify over the raw bytes, then parse strictly; anything doubtful is a BadSignature."""
    if len(body) > MAX_BODY_BYTES:
        raise BadSignature("the e-port notice is too large")
    if not authentic(body, headers, creds.merchant_id, creds.notify_secret):
        raise BadSignature("the e-port notice's signature or merchant does not verify")
    data = load_object(body, "the e-port notice", BadSignature)
    valid = (_text(data.get("debit_id"), DEBIT_ID_PATTERN)
             and _text(data.get("merchant_reference"), REFERENCE_PATTERN)
             and _text(data.get("state"), STATE_PATTERN) and is_amount(data.get("amount"))
             and data.get("currency") in CURRENCIES
             and (data.get("failure_result") is None or is_int(data.get("failure_result")))
             and _text(data.get("sent_at"), SENT_AT_PATTERN))
    if not valid:
        raise BadSignature("the e-port notice is malformed")
    return Notice(data["debit_id"], data["merchant_reference"], data["state"], data["amount"],
                  data["currency"], data["failure_result"], data["sent_at"])


def resolve_notice(notice: Notice) -> Mapped:
    entry = mapping.look_up(NOTICE_STATES, notice.state, f"e-port notice has unknown state {notice.state[:40]!r}")
    if isinstance(entry, Mapped):
        if notice.failure_result is not None:
            raise BadSignature(f"an e-port {notice.state} notice carries a failure_result")
        return entry
    failure = entry.get(notice.failure_result) if notice.failure_result is not None else None
    if failure is None:
        raise UnknownProviderStatus(f"e-port failed notice has unknown failure_result {notice.failure_result}")
    return failure
