"""The pure Yandex.Dengi mapping: request forms, JSON answers, the notification hash and the
status tables. No network.

Modelled on the Yandex.Money (Yandex.Dengi, now YooMoney) wallet API. What the real API does:

- Every call is a form-encoded POST with `Authorization: Bearer <OAuth token>`; answers are
  JSON. A missing or bad token is HTTP 401 with `WWW-Authenticate: Bearer error="invalid_token"`.
- `request-payment` prepares a payment: `pattern_id=p2p`, `to` (the payee's wallet),
  `amount` (what the payer is debited) or `amount_due`, `comment`, `message`, `label`,
  `codepro`. It answers `status` "success" with `request_id` and `contract_amount`, or
  "refused" with an `error` code (illegal_params, illegal_param_to, illegal_param_amount,
  illegal_param_label, payee_not_found, payment_refused, authorization_reject,
  limit_exceeded, account_blocked, ext_action_required, not_enough_funds, ...).
- `process-payment` carries it out, called with the SAME `request_id` until it finishes:
  "success" (with `payment_id`, `credit_amount`, `payer`, `payee`), "refused" (with `error`),
  "in_progress" (call again after `next_retry` milliseconds), or "ext_auth_required" (the
  payer must authorise on the provider's page, given as `acs_uri` + `acs_params`).
- The HTTP notification is a form POST with notification_type, operation_id, amount,
  currency (643), datetime, sender, codepro, label, ... and `sha1_hash` = the hex SHA-1 of
  "notification_type&operation_id&amount&currency&datetime&sender&codepro&notification_secret&label".
  The receiver answers HTTP 200.

Assumptions (where Kopek's model departs from, or guesses at, the real service):

- The real API acts for the wallet whose owner granted the token (the payer). Here the token
  is the merchant's, `to` is the merchant's wallet, and the shopper's wallet travels in the
  extension field `sender`; the shopper then approves on the provider's page (ext_auth).
- More extension fields on request-payment: `kopek_payment_id` (Kopek's payment id) and
  `kopek_callback_url` (the real service notifies the URL configured for the wallet).
- The shopper's wallet not existing is the extension error `sender_not_found`. A missing
  payee (`payee_not_found`) is the merchant's misconfiguration, so it is a ProviderError.
- `label` is Kopek's attempt id, and request-payment is idempotent on it: the same label
  with the same parameters returns the same `request_id`, so a start can be retried.
- The page at `acs_uri` is `<base>/ext_auth?request_id=...`; the connector builds the
  shopper's link from its own base URL, which is what the shopper's browser can reach.
- The payee pays no commission: the notification's `amount` is the whole amount, in roubles.
- The real service notifies only incoming money. Here a notification also reports failures
  and the intermediate state, through extension fields `request_id`, `status`
  (success / refused / in_progress) and `error`, appended to the hashed string:
  "...&notification_secret&label&request_id&status&error". Every field's format is checked
  strictly after the hash verifies, so no field can smuggle in an '&'.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Mapping
from urllib.parse import parse_qsl, urlencode

from kopek import strict_json
from kopek.money import Money
from kopek.providers import mapping
from kopek.providers.contract import BadSignature, Outcome, ProviderError
from kopek.providers.mapping import Mapped, Refused

MAX_BODY_BYTES = 64 * 1024
MAX_FORM_FIELDS = 50
MAX_COMMENT_CHARS = 200

# The shopper's `wallet` field: a 15-digit wallet number starting with 41001.
WALLET_PATTERN = r"41001[0-9]{10}"
WALLET_RE = re.compile(WALLET_PATTERN)
LABEL_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")
AMOUNT_RE = re.compile(r"(0|[1-9][0-9]{0,11})\.([0-9]{2})")

PATTERN_P2P = "p2p"
MONEY_SOURCE_WALLET = "wallet"
NOTIFICATION_TYPE = "p2p-incoming"
CURRENCY_CODES: Mapping[str, str] = MappingProxyType({"643": "RUB"})
CURRENCY_NUMBERS: Mapping[str, str] = MappingProxyType({v: k for k, v in CURRENCY_CODES.items()})
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Credentials:
    wallet: str                                   # the merchant's wallet: `to` of every payment
    token: str = field(repr=False)                # the OAuth bearer token
    notification_secret: str = field(repr=False)  # signs the HTTP notifications


# Known to both the connector (in sandbox mode) and the simulator.
SANDBOX_CREDENTIALS = Credentials(
    wallet="410010000000000",
    token="kopek-sandbox-yandex-dengi-token",
    notification_secret="kopek-sandbox-yandex-dengi-notification-secret",
)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# ---- amounts and forms ----------------------------------------------------------------------

def format_amount(amount_minor: int, currency: str) -> str:
    return Money(currency, amount_minor).decimal_string()


def parse_amount(text: str) -> int:
    """'5.00' -> 500. Strict: exactly two decimals, no sign, no exponent."""
    match = AMOUNT_RE.fullmatch(text)
    if not match:
        raise ValueError(f"not a Yandex.Dengi amount: {text[:20]!r}")
    return int(match[1]) * 100 + int(match[2])


def encode_form(fields: Mapping[str, str]) -> bytes:
    return urlencode(fields).encode("ascii")


def read_form(body: bytes) -> dict[str, str]:
    """Decode a form strictly: UTF-8, bounded, no repeated names. Raises ValueError."""
    if len(body) > MAX_BODY_BYTES:
        raise ValueError("form body too large")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body),
                          max_num_fields=MAX_FORM_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise ValueError("not a valid form body") from None
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise ValueError("the form repeats a field")
    return fields


def request_payment_form(creds: Credentials, *, label: str, amount_minor: int, currency: str, sender: str,
                         description: str, payment_id: str, callback_url: str) -> dict[str, str]:
    if not WALLET_RE.fullmatch(sender):
        raise ValueError("the wallet number is 15 digits starting with 41001")
    comment = description[:MAX_COMMENT_CHARS]
    return {
        "pattern_id": PATTERN_P2P,
        "to": creds.wallet,
        "amount": format_amount(amount_minor, currency),
        "comment": comment,
        "message": comment,
        "label": label,
        "codepro": "false",
        "sender": sender,
        "kopek_payment_id": payment_id,
        "kopek_callback_url": callback_url,
    }


def process_payment_form(request_id: str) -> dict[str, str]:
    return {"request_id": request_id, "money_source": MONEY_SOURCE_WALLET}


# ---- answers --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Answer:
    status: str
    error: str = ""
    request_id: str = ""
    contract_amount: Decimal | None = None
    acs_uri: str = ""
    acs_params: Mapping[str, str] = field(default_factory=dict)
    next_retry_ms: int | None = None
    payment_id: str = ""


def parse_answer(body: bytes) -> Answer:
    """A request-payment or process-payment JSON answer; anything malformed is a ProviderError."""
    if len(body) > MAX_BODY_BYTES:
        raise ProviderError(f"Yandex.Dengi answered more than {MAX_BODY_BYTES} bytes")
    try:
        data = strict_json.loads(body, parse_float=Decimal)
    except ValueError:
        raise ProviderError("Yandex.Dengi answered something that is not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("status"), str):
        raise ProviderError("Yandex.Dengi answered JSON without a status")
    return Answer(
        status=data["status"],
        error=_text(data, "error"),
        request_id=_text(data, "request_id"),
        contract_amount=_number(data, "contract_amount"),
        acs_uri=_text(data, "acs_uri"),
        acs_params=_params(data.get("acs_params", {})),
        next_retry_ms=_next_retry(data.get("next_retry")),
        payment_id=_text(data, "payment_id"),
    )


def _text(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name, "")
    if not isinstance(value, str):
        raise ProviderError(f"Yandex.Dengi answered a non-string {name}")
    return value


def _number(data: Mapping[str, Any], name: str) -> Decimal | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise ProviderError(f"Yandex.Dengi answered a non-numeric {name}")
    return Decimal(value)


def _params(value: Any) -> Mapping[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ProviderError("Yandex.Dengi answered malformed acs_params")
    return MappingProxyType(dict(value))


def _next_retry(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 3_600_000:
        raise ProviderError("Yandex.Dengi answered a malformed next_retry")
    return value


def answer_json(status: str, **fields: Any) -> dict[str, Any]:
    """An answer as the simulator sends it (empty fields left out)."""
    return {"status": status, **{k: v for k, v in fields.items() if v not in (None, "")}}


# ---- status tables --------------------------------------------------------------------------

class Status(str, enum.Enum):
    SUCCESS = "success"
    REFUSED = "refused"
    IN_PROGRESS = "in_progress"
    EXT_AUTH_REQUIRED = "ext_auth_required"


class Error(str, enum.Enum):
    ILLEGAL_PARAMS = "illegal_params"
    ILLEGAL_PARAM_TO = "illegal_param_to"
    ILLEGAL_PARAM_AMOUNT = "illegal_param_amount"
    ILLEGAL_PARAM_LABEL = "illegal_param_label"
    PAYEE_NOT_FOUND = "payee_not_found"
    CONTRACT_NOT_FOUND = "contract_not_found"            # process-payment: no such request_id
    SENDER_NOT_FOUND = "sender_not_found"                # extension: no such shopper's wallet
    PAYMENT_REFUSED = "payment_refused"
    AUTHORIZATION_REJECT = "authorization_reject"
    LIMIT_EXCEEDED = "limit_exceeded"
    ACCOUNT_BLOCKED = "account_blocked"
    EXT_ACTION_REQUIRED = "ext_action_required"
    NOT_ENOUGH_FUNDS = "not_enough_funds"
    MONEY_SOURCE_NOT_AVAILABLE = "money_source_not_available"


class Next(enum.Enum):
    PROCESS = "process"      # request-payment succeeded: go on with process-payment
    SEE_ERROR = "see_error"  # refused: the `error` field says why


REQUEST_PAYMENT_STATUSES: Mapping[str, Next] = MappingProxyType({
    Status.SUCCESS.value: Next.PROCESS,
    Status.REFUSED.value: Next.SEE_ERROR,
})

PROCESS_PAYMENT_STATUSES: Mapping[str, Mapped | Next] = MappingProxyType({
    Status.SUCCESS.value: Mapped(Outcome.SUCCEEDED),
    Status.REFUSED.value: Next.SEE_ERROR,
    Status.IN_PROGRESS.value: Mapped(Outcome.PROCESSING),
    Status.EXT_AUTH_REQUIRED.value: Mapped(Outcome.REQUIRES_APPROVAL),
})

NOTIFICATION_STATUSES: Mapping[str, Mapped | Next] = MappingProxyType({
    Status.SUCCESS.value: Mapped(Outcome.SUCCEEDED),
    Status.REFUSED.value: Next.SEE_ERROR,
    Status.IN_PROGRESS.value: Mapped(Outcome.PROCESSING),
})

ERRORS: Mapping[str, Mapped | Refused] = MappingProxyType({
    Error.ILLEGAL_PARAMS.value: Refused("malformed request"),
    Error.ILLEGAL_PARAM_TO.value: Refused("malformed payee wallet (to)"),
    Error.ILLEGAL_PARAM_AMOUNT.value: Refused("malformed amount"),
    Error.ILLEGAL_PARAM_LABEL.value: Refused("label malformed or already used with other parameters"),
    Error.PAYEE_NOT_FOUND.value: Refused("the merchant's wallet does not exist; check KOPEK_YANDEX_DENGI_WALLET"),
    Error.CONTRACT_NOT_FOUND.value: Refused("no such request_id"),
    Error.SENDER_NOT_FOUND.value: Mapped(Outcome.DECLINED, "wallet_not_found"),
    Error.PAYMENT_REFUSED.value: Mapped(Outcome.DECLINED, "declined"),
    Error.AUTHORIZATION_REJECT.value: Mapped(Outcome.DECLINED, "declined"),
    Error.LIMIT_EXCEEDED.value: Mapped(Outcome.DECLINED, "limit_exceeded"),
    Error.ACCOUNT_BLOCKED.value: Mapped(Outcome.DECLINED, "declined"),
    Error.EXT_ACTION_REQUIRED.value: Mapped(Outcome.DECLINED, "declined"),
    Error.NOT_ENOUGH_FUNDS.value: Mapped(Outcome.DECLINED, "insufficient_funds"),
    Error.MONEY_SOURCE_NOT_AVAILABLE.value: Mapped(Outcome.DECLINED, "declined"),
})


def resolve(table: Mapping[str, Mapped | Next], status: str, error: str, operation: str) -> Mapped | Next:
    entry = mapping.look_up(table, status, f"Yandex.Dengi {operation} answered unknown status {status[:40]!r}")
    if entry is Next.SEE_ERROR:
        return resolve_error(error, operation)
    return entry


def resolve_error(error: str, operation: str) -> Mapped:
    return mapping.resolve(
        ERRORS, error, unknown=f"Yandex.Dengi {operation} refused with unknown error {error[:40]!r}",
        refused=lambda reason: f"Yandex.Dengi {operation} refused the request: {error} ({reason})",
    )


# ---- the HTTP notification ------------------------------------------------------------------

SECRET = None  # where the notification secret goes in the hashed string
NOTIFICATION_SIGNED = ("notification_type", "operation_id", "amount", "currency", "datetime", "sender",
                       "codepro", SECRET, "label", "request_id", "status", "error")

_NOTIFICATION_FORMATS: Mapping[str, re.Pattern[str]] = MappingProxyType({
    "notification_type": re.compile(re.escape(NOTIFICATION_TYPE)),
    "operation_id": re.compile(r"[0-9]{1,30}"),
    "amount": AMOUNT_RE,
    "currency": re.compile("|".join(CURRENCY_CODES)),
    "datetime": re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?"
                           r"(?:Z|[+-][0-9]{2}:[0-9]{2})"),
    "sender": re.compile(r"[0-9]{11,20}"),
    "codepro": re.compile(r"true|false"),
    "label": LABEL_RE,
    "request_id": REQUEST_ID_RE,
    "status": re.compile(r"[a-z_]{1,40}"),
    "error": re.compile(r"[a-z_]{0,40}"),
})


@dataclass(frozen=True)
class Notification:
    request_id: str
    label: str
    amount_minor: int
    currency: str
    status: str
    error: str
    fields: Mapping[str, str]   # the verified fields, for logs and the dashboard


def notification_hash(fields: Mapping[str, str], secret: str) -> str:
    joined = "&".join(secret if name is SECRET else fields[name] for name in NOTIFICATION_SIGNED)
    return hashlib.sha1(joined.encode("utf-8")).hexdigest()


def notification_fields(secret: str, *, operation_id: str, amount: str, currency: str, datetime: str,
                        sender: str, label: str, request_id: str, status: str, error: str) -> dict[str, str]:
    """The signed form fields of a notification (the simulator's side)."""
    fields = {
        "notification_type": NOTIFICATION_TYPE,
        "operation_id": operation_id,
        "amount": amount,
        "currency": CURRENCY_NUMBERS[currency],
        "datetime": datetime,
        "sender": sender,
        "codepro": "false",
        "label": label,
        "request_id": request_id,
        "status": status,
        "error": error,
    }
    fields["sha1_hash"] = notification_hash(fields, secret)
    return fields


def verify_notification(body: bytes, secret: str) -> Notification:
    """Verify sha1_hash over the fields exactly as received, then check every field's format."""
    try:
        fields = read_form(body)
    except ValueError as exc:
        raise BadSignature(f"notification: {exc}") from None
    received = fields.get("sha1_hash", "")
    if not re.fullmatch(r"[0-9a-fA-F]{40}", received) or any(
            name is not SECRET and name not in fields for name in NOTIFICATION_SIGNED):
        raise BadSignature("notification lacks sha1_hash or a hashed field")
    if not hmac.compare_digest(notification_hash(fields, secret).encode(), received.lower().encode()):
        raise BadSignature("notification sha1_hash does not match")
    for name, pattern in _NOTIFICATION_FORMATS.items():
        if not pattern.fullmatch(fields[name]):
            raise BadSignature(f"notification field {name} is malformed")
    signed = {name: fields[name] for name in (*_NOTIFICATION_FORMATS, "sha1_hash")}
    return Notification(
        request_id=fields["request_id"], label=fields["label"], amount_minor=parse_amount(fields["amount"]),
        currency=CURRENCY_CODES[fields["currency"]], status=fields["status"], error=fields["error"],
        fields=MappingProxyType(signed),
    )
