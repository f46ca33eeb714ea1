"""The pure KreditPilot mapping: JSON-RPC envelopes, signatures and status tables. No network.

No public description of KreditPilot's protocol survives, so this one is Kopek's own design:
plausible for a prepaid-card processor, and deliberately unlike e-port's (JSON with an
HMAC-SHA256 header) and WebMoney's (XML with a concatenated-field hash). Assumptions:

- KreditPilot issues prepaid rouble cards: a 16-digit number and a 4-digit PIN, with a
  balance. The number and PIN together authorise a charge; no code is sent, nothing to approve.
- Transport: JSON-RPC 2.0 over HTTPS, every call a POST of UTF-8 JSON to one endpoint,
  `<base>/rpc`. Every JSON-RPC answer, error or not, comes with HTTP 200; any other status
  or a body that is not JSON-RPC means the provider is down (a ProviderError).
- Authentication: `Authorization: KP-HMAC key=<key id>, ts=<unix seconds>, sig=<hex>`, with
  sig = hex HMAC-SHA512(secret, ts + "." + raw body). The provider refuses (-32000) a request
  whose ts is more than 300 s away from its clock, so a captured request cannot be replayed
  later. Answers are not signed: TLS is trusted for them.
- Methods:
  `card.charge` {card, pin, amount, currency, order_ref, notify_url, description,
  kopek_payment_id} -> a charge. `amount` is an integer count of minor units. `order_ref`
  (Kopek's attempt id) is the idempotency key: the same order_ref returns the same charge,
  or the same error, and never charges twice; reusing it for another card or amount is
  refused (-32007). `kopek_payment_id` is an extension field for the sandbox's logs.
  `charge.status` {charge_id} -> a charge.
  `card.balance` {card, pin} -> {card_last4, balance, currency} (the sandbox page and tests).
  A charge is {charge_id, order_ref, state, amount, currency, error_code?}.
- States: `hold` (accepted; the amount is reserved, so the balance drops at once),
  `captured` (final success) and `rejected` (final failure; `error_code` says why, with the
  same codes as JSON-RPC errors).
- Errors are JSON-RPC codes (see `ErrorCode`). A refusal about the card (-32001..-32005) is an
  answer about the shopper's payment: the charge is recorded as rejected and
  `error.data.charge_id` names it. -32010 is an outage, treated like an HTTP 5xx. Every
  other code refuses the request itself (our bug, or wrong keys): a ProviderError.
- Notifications: a JSON POST of the charge to notify_url, signed by the header
  `KP-Signature: t=<unix seconds>,v1=<hex HMAC-SHA512(notify_secret, t + "." + raw body)>`.
  A notice whose t is more than 300 s from our clock is refused, so an old notice cannot be
  replayed. KreditPilot wants HTTP 200 with the body "OK"; anything else is sent again. A
  notice may repeat, or arrive late with a stale `hold` (read as PROCESSING).
- The PIN travels only inside card.charge and card.balance bodies; it is never logged, kept,
  shown by a repr or put in an error. Texts from the provider are passed on with every run
  of four or more digits masked, in case the provider ever echoes a PIN or card number.
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
from kopek.providers.contract import BadSignature, Outcome, ProviderError
from kopek.providers.mapping import Mapped, Refused

MAX_BODY_BYTES = 64 * 1024
REPLAY_WINDOW_S = 300
MAX_DESCRIPTION_CHARS = 255
MAX_AMOUNT = 10**12
JSONRPC = "2.0"
SIGNATURE_HEADER = "KP-Signature"

CARD_PATTERN = r"[0-9]{16}"
PIN_PATTERN = r"[0-9]{4}"
CHARGE_ID_PATTERN = re.compile(r"ch_[0-9a-f]{24}")
ORDER_REF_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
CURRENCY_PATTERN = re.compile(r"[A-Z]{3}")
KEY_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
_AUTHORIZATION = re.compile(rf"KP-HMAC key=({KEY_ID_PATTERN.pattern}), ts=([0-9]{{1,12}}), sig=([0-9a-fA-F]{{128}})")
_SIGNATURE = re.compile(r"t=([0-9]{1,12}),v1=([0-9a-fA-F]{128})")


class Method(str, enum.Enum):
    CHARGE = "card.charge"
    STATUS = "charge.status"
    BALANCE = "card.balance"


@dataclass(frozen=True)
class MerchantCredentials:
    key_id: str
    secret: str = field(repr=False)          # signs requests
    notify_secret: str = field(repr=False)   # signs notifications


# Known to both the connector (in sandbox mode) and the simulator.
SANDBOX_CREDENTIALS = MerchantCredentials(
    key_id="kp_sandbox_kopek",
    secret="kopek-sandbox-kreditpilot-secret",
    notify_secret="kopek-sandbox-kreditpilot-notify-secret",
)


# ---- signatures -------------------------------------------------------------------------

def sign(secret: str, ts: int, body: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), f"{ts}.".encode() + body, hashlib.sha512).hexdigest()


def within_window(ts: int, now: float) -> bool:
    return abs(now - ts) <= REPLAY_WINDOW_S


def authorization(creds: MerchantCredentials, ts: int, body: bytes) -> str:
    return f"KP-HMAC key={creds.key_id}, ts={ts}, sig={sign(creds.secret, ts, body)}"


def request_is_authentic(header: str, body: bytes, secrets: Mapping[str, str], now: float) -> bool:
    """The provider's check: a known key, a fresh ts, and a signature over the raw body."""
    match = _AUTHORIZATION.fullmatch(header)
    if match is None:
        return False
    key_id, ts, sig = match[1], int(match[2]), match[3]
    secret = secrets.get(key_id)
    if secret is None or not within_window(ts, now):
        return False
    return hmac.compare_digest(sign(secret, ts, body), sig.lower())


def signature_header(secret: str, ts: int, body: bytes) -> str:
    """A notification's KP-Signature value (the provider's side)."""
    return f"t={ts},v1={sign(secret, ts, body)}"


def verify_notification(body: bytes, header: str, secret: str, now: float) -> Charge:
    """Verify KP-Signature over the raw body and the replay window, then parse.
    Raises BadSignature for anything unverifiable or malformed."""
    match = _SIGNATURE.fullmatch(header)
    if match is None:
        raise BadSignature("KP-Signature header is missing or malformed")
    ts, v1 = int(match[1]), match[2].lower()
    if not hmac.compare_digest(sign(secret, ts, body), v1):
        raise BadSignature("KP-Signature does not verify")
    if not within_window(ts, now):
        raise BadSignature(f"notification timestamp is more than {REPLAY_WINDOW_S} s off (replayed?)")
    try:
        return parse_charge(loads(body))
    except ProviderError as exc:
        raise BadSignature(f"malformed notification: {exc}") from None


# ---- JSON and the JSON-RPC envelope -------------------------------------------------------

def dumps(doc: Any) -> bytes:
    return strict_json.dumps(doc)


def loads(body: bytes) -> Any:
    """Strict JSON: bounded, UTF-8, no repeated keys, no NaN; a ProviderError otherwise."""
    if len(body) > MAX_BODY_BYTES:
        raise ProviderError(f"KreditPilot JSON is larger than {MAX_BODY_BYTES} bytes")
    try:
        return strict_json.loads(body)
    except ValueError as exc:   # UnicodeDecodeError included
        raise ProviderError(f"KreditPilot sent malformed JSON: {type(exc).__name__}") from None


def rpc_request(method: Method, params: Mapping[str, Any], request_id: str) -> bytes:
    return dumps({"jsonrpc": JSONRPC, "id": request_id, "method": method.value, "params": dict(params)})


def rpc_result(request_id: Any, result: Mapping[str, Any]) -> bytes:
    return dumps({"jsonrpc": JSONRPC, "id": request_id, "result": dict(result)})


def rpc_error(request_id: Any, code: int, message: str, charge_id: str | None = None) -> bytes:
    error: dict[str, Any] = {"code": int(code), "message": message}
    if charge_id:
        error["data"] = {"charge_id": charge_id}
    return dumps({"jsonrpc": JSONRPC, "id": request_id, "error": error})


@dataclass(frozen=True)
class RpcError:
    code: int
    message: str
    charge_id: str | None = None


@dataclass(frozen=True)
class RpcReply:
    result: Mapping[str, Any] | None = None
    error: RpcError | None = None


def parse_reply(body: bytes, request_id: str) -> RpcReply:
    """A JSON-RPC answer to our request. An error may carry id null (the provider could not
    read ours); a result must carry our id."""
    doc = loads(body)
    if not isinstance(doc, dict) or doc.get("jsonrpc") != JSONRPC:
        raise ProviderError("KreditPilot answered something that is not JSON-RPC 2.0")
    if ("result" in doc) == ("error" in doc):
        raise ProviderError("KreditPilot answered neither or both of result and error")
    if "error" in doc:
        if doc.get("id") not in (request_id, None):
            raise ProviderError("KreditPilot answered another request's id")
        return RpcReply(error=_parse_error(doc["error"]))
    if doc.get("id") != request_id:
        raise ProviderError("KreditPilot answered another request's id")
    if not isinstance(doc["result"], dict):
        raise ProviderError("KreditPilot's result is not an object")
    return RpcReply(result=doc["result"])


def _parse_error(error: Any) -> RpcError:
    if not isinstance(error, dict) or type(error.get("code")) is not int:
        raise ProviderError("KreditPilot's error has no integer code")
    message = error.get("message")
    data = error.get("data")
    charge_id = data.get("charge_id") if isinstance(data, dict) else None
    if charge_id is not None and not (isinstance(charge_id, str) and CHARGE_ID_PATTERN.fullmatch(charge_id)):
        raise ProviderError("KreditPilot's error names a malformed charge_id")
    return RpcError(error["code"], safe_text(message if isinstance(message, str) else ""), charge_id)


@dataclass(frozen=True)
class RpcCall:
    """A request as the provider reads it (the simulator's side)."""

    request_id: Any
    method: str
    params: Mapping[str, Any] = field(repr=False)   # card.charge's params hold the PIN


class RpcFault(Exception):
    """The provider's JSON-RPC error answer (the simulator's side)."""

    def __init__(self, code: int, message: str, request_id: Any = None, charge_id: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.request_id, self.charge_id = int(code), message, request_id, charge_id


def read_call(body: bytes) -> RpcCall:
    try:
        doc = loads(body)
    except ProviderError:
        raise RpcFault(ErrorCode.PARSE_ERROR, "parse error") from None
    if not isinstance(doc, dict):
        raise RpcFault(ErrorCode.INVALID_REQUEST, "invalid request")
    request_id = doc.get("id")
    if not (isinstance(request_id, str) and 0 < len(request_id) <= 64):
        raise RpcFault(ErrorCode.INVALID_REQUEST, "id must be a string of 1 to 64 characters")
    method, params = doc.get("method"), doc.get("params")
    if doc.get("jsonrpc") != JSONRPC or not isinstance(method, str) or not isinstance(params, dict):
        raise RpcFault(ErrorCode.INVALID_REQUEST, "invalid request", request_id)
    return RpcCall(request_id, method, params)


def safe_text(text: str, limit: int = 200) -> str:
    """Provider text for logs and shoppers: digit runs that could be a PIN or card are masked."""
    return re.sub(r"[0-9]{4,}", "****", text[:limit])


# ---- requests (the connector's side) -----------------------------------------------------

@dataclass(frozen=True)
class ChargeRequest:
    card: str
    pin: str = field(repr=False)
    amount: int
    currency: str
    order_ref: str
    notify_url: str
    description: str
    kopek_payment_id: str

    def __post_init__(self) -> None:
        # Messages name the rule, never the value.
        if not re.fullmatch(CARD_PATTERN, self.card):
            raise ValueError("card must be 16 digits")
        if not re.fullmatch(PIN_PATTERN, self.pin):
            raise ValueError("pin must be 4 digits")
        if not ORDER_REF_PATTERN.fullmatch(self.order_ref):
            raise ValueError("order_ref must be 1 to 64 letters, digits, '_' or '-'")

    def params(self) -> dict[str, Any]:
        return {
            "card": self.card, "pin": self.pin, "amount": self.amount, "currency": self.currency,
            "order_ref": self.order_ref, "notify_url": self.notify_url,
            "description": self.description[:MAX_DESCRIPTION_CHARS], "kopek_payment_id": self.kopek_payment_id,
        }


def check_charge_id(charge_id: str) -> str:
    if not CHARGE_ID_PATTERN.fullmatch(charge_id):
        raise ProviderError("not a KreditPilot charge id")
    return charge_id


# ---- charges ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Charge:
    charge_id: str
    order_ref: str
    state: str
    amount: int
    currency: str
    error_code: int | None = None

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"charge_id": self.charge_id, "order_ref": self.order_ref, "state": self.state,
                               "amount": self.amount, "currency": self.currency}
        if self.error_code is not None:
            doc["error_code"] = self.error_code
        return doc


def parse_charge(doc: Any) -> Charge:
    if not isinstance(doc, dict):
        raise ProviderError("a KreditPilot charge must be a JSON object")
    state, amount, error_code = doc.get("state"), doc.get("amount"), doc.get("error_code")
    if not isinstance(state, str) or not 0 < len(state) <= 40:
        raise ProviderError("a KreditPilot charge needs a state")
    if type(amount) is not int or not 0 < amount <= MAX_AMOUNT:
        raise ProviderError("a KreditPilot charge needs a positive integer amount")
    if error_code is not None and type(error_code) is not int:
        raise ProviderError("a KreditPilot charge's error_code must be an integer")
    return Charge(
        charge_id=_matching(doc, "charge_id", CHARGE_ID_PATTERN),
        order_ref=_matching(doc, "order_ref", ORDER_REF_PATTERN),
        state=state, amount=amount, currency=_matching(doc, "currency", CURRENCY_PATTERN), error_code=error_code,
    )


def _matching(doc: Mapping[str, Any], name: str, pattern: re.Pattern[str]) -> str:
    value = doc.get(name)
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ProviderError(f"a KreditPilot charge's {name} is missing or malformed")
    return value


# ---- status tables ------------------------------------------------------------------------

class ChargeState(str, enum.Enum):
    HOLD = "hold"
    CAPTURED = "captured"
    REJECTED = "rejected"


class ErrorCode(enum.IntEnum):
    PARSE_ERROR = -32700
    INVALID_REQUEST = -32600
    METHOD_NOT_FOUND = -32601
    INVALID_PARAMS = -32602
    INTERNAL_ERROR = -32603
    AUTHENTICATION_FAILED = -32000     # unknown key, stale ts or a bad signature
    CARD_NOT_FOUND = -32001
    WRONG_PIN = -32002
    INSUFFICIENT_BALANCE = -32003
    CARD_DECLINED = -32004             # blocked, expired, or refused by the issuer's rules
    LIMIT_EXCEEDED = -32005            # the amount is outside the card's per-charge limits
    CHARGE_NOT_FOUND = -32006
    ORDER_REF_CONFLICT = -32007        # order_ref reused for another card or amount
    TEMPORARILY_UNAVAILABLE = -32010


@dataclass(frozen=True)
class Unavailable:
    """An outage: a ProviderError that is worth retrying later, like an HTTP 5xx."""


@dataclass(frozen=True)
class ByErrorCode:
    """A final failure whose reason is the charge's error_code, read through ERRORS."""


ERRORS: Mapping[int, Mapped | Refused | Unavailable] = MappingProxyType({
    ErrorCode.CARD_NOT_FOUND: Mapped(Outcome.DECLINED, "wallet_not_found"),
    ErrorCode.WRONG_PIN: Mapped(Outcome.DECLINED, "incorrect_pin"),
    ErrorCode.INSUFFICIENT_BALANCE: Mapped(Outcome.DECLINED, "insufficient_funds"),
    ErrorCode.CARD_DECLINED: Mapped(Outcome.DECLINED, "declined"),
    ErrorCode.LIMIT_EXCEEDED: Mapped(Outcome.DECLINED, "limit_exceeded"),
    ErrorCode.TEMPORARILY_UNAVAILABLE: Unavailable(),
    ErrorCode.PARSE_ERROR: Refused("parse error"),
    ErrorCode.INVALID_REQUEST: Refused("invalid request"),
    ErrorCode.METHOD_NOT_FOUND: Refused("method not found"),
    ErrorCode.INVALID_PARAMS: Refused("invalid params"),
    ErrorCode.INTERNAL_ERROR: Refused("internal error"),
    ErrorCode.AUTHENTICATION_FAILED: Refused("authentication failed"),
    ErrorCode.CHARGE_NOT_FOUND: Refused("charge not found"),
    ErrorCode.ORDER_REF_CONFLICT: Refused("order_ref already used for another charge"),
})

CHARGE_STATES: Mapping[str, Mapped | ByErrorCode] = MappingProxyType({
    ChargeState.HOLD.value: Mapped(Outcome.PROCESSING),
    ChargeState.CAPTURED.value: Mapped(Outcome.SUCCEEDED),
    ChargeState.REJECTED.value: ByErrorCode(),
})


def resolve_error(code: int, operation: str) -> Mapped:
    """A JSON-RPC error code as the shopper's outcome; refusals and outages raise ProviderError."""
    entry = mapping.resolve(
        ERRORS, code, unknown=f"KreditPilot {operation} answered unknown error code {code}",
        refused=lambda reason: f"KreditPilot {operation} refused the request: error {code} ({reason})",
    )
    if isinstance(entry, Unavailable):
        raise ProviderError(f"KreditPilot {operation} is temporarily unavailable (error {code})")
    return entry


def resolve_charge(charge: Charge, operation: str) -> Mapped:
    entry = mapping.look_up(CHARGE_STATES, charge.state,
                            f"KreditPilot {operation} reported unknown state {charge.state!r}")
    if isinstance(entry, Mapped):
        if charge.error_code is not None:
            raise ProviderError(f"KreditPilot {operation}: a {charge.state} charge carries an error_code")
        return entry
    if charge.error_code is None:
        raise ProviderError(f"KreditPilot {operation}: a rejected charge without an error_code")
    return resolve_error(charge.error_code, operation)
