"""The pure WebMoney mapping: request XML, response XML, signatures and status tables. No network.

Modelled on WebMoney's X20 interface ("payment without leaving the shop's site"), with the
X18-style status query and the Merchant "Result URL" notification. What X20 really does:

- `XMLTransRequest.asp` takes `<merchant.request>` with `wmid`, `lmi_payee_purse`,
  `lmi_payment_no`, `lmi_payment_amount`, `lmi_payment_desc`, `lmi_clientnumber`,
  `lmi_clientnumber_type` (0 phone, digits only; 1 WMID; 2 e-mail), `lmi_sms_type`
  (1 SMS, 2 USSD, 3 auto, 4 WM invoice), `lang`, and a signature. With the SHA-256 method
  the signature is `sha256` = SHA-256 of wmid + lmi_payee_purse + lmi_payment_no +
  lmi_clientnumber + lmi_clientnumber_type + secret_key. The answer is
  `<merchant.response>` with `retval` (0 = ok), `retdesc`, `userdesc` and
  `<operation wminvoiceid="...">` with `realsmstype`.
- `XMLTransConfirm.asp` takes wmid, lmi_payee_purse, `lmi_wminvoiceid` and
  `lmi_clientnumber_code` (the code the shopper received), signed over
  wmid + lmi_payee_purse + lmi_wminvoiceid + lmi_clientnumber_code + secret_key.
- `XMLTransResend.asp` is this model's extension (X20 has no resend): wmid,
  lmi_payee_purse and `lmi_wminvoiceid`, signed like confirm without the code (wmid +
  lmi_payee_purse + lmi_wminvoiceid + secret_key). It texts the same code again, at most
  `MAX_RESENDS` times per invoice.
- `XMLTransGet.asp` (X18) looks a payment up: wmid, lmi_payee_purse, lmi_payment_no,
  `lmi_payment_no_type` (1 = the number is a wminvoiceid), signed over
  wmid + lmi_payee_purse + lmi_payment_no + secret_key.
- The Result URL notification is a form POST of LMI_* fields. LMI_HASH is the upper-case
  hex SHA-256 of LMI_PAYEE_PURSE + LMI_PAYMENT_AMOUNT + LMI_PAYMENT_NO + LMI_MODE +
  LMI_SYS_INVS_NO + LMI_SYS_TRANS_NO + LMI_SYS_TRANS_DATE + secret key + LMI_PAYER_PURSE +
  LMI_PAYER_WM. WebMoney expects the plain answer "YES".

Assumptions (where Kopek's model departs from, or guesses at, the real service):

- Only `retval` 0 is known for certain. The other codes in `Retval` are this model's
  own choice: negative codes mean the provider refused the request itself (our bug or
  its outage, a `ProviderError`), positive codes are answers about the shopper's payment.
- Bodies are UTF-8, not windows-1251. `lmi_payment_no` is Kopek's attempt id (a string,
  where the real service wants an integer). `lmi_clientnumber_type` 4 means a purse (as
  in X21). `lmi_sms_type` is always 1 (SMS).
- XMLTransRequest is idempotent by lmi_payee_purse + lmi_payment_no: repeating it with the
  same fields answers the same invoice and texts no new code; the same number with other
  fields is refused (retval -5).
- Two extension elements ride along on XMLTransRequest: `kopek_payment_id` (so the
  sandbox phone can file the code under the payment) and `kopek_result_url` (the real
  service uses a Result URL preconfigured per purse; the sandbox takes it per request).
- XMLTransGet answers with an extension `<state>` inside `<operation>` (see
  `InvoiceState`), so a status fetch can report pending and failed payments too.
- The real Merchant notifies only successful payments. Here the notification carries an
  extension field LMI_PAYMENT_STATE (paid / declined / insufficient_funds), hashed after
  LMI_PAYER_WM, so failures arrive by callback as well. A late or replayed notice may
  carry the intermediate state `processing`, which maps to Outcome.PROCESSING.
- XMLTransResend's concatenation equals XMLTransGet's for the same invoice id (X20's
  field-concatenation scheme has no operation tag); the worst a replay could do is one
  of the few bounded resends.
- Concatenated-field hashing cannot tell where one field ends and the next begins, so
  after the hash verifies every field's format is checked strictly; a malformed field
  is treated as a bad signature.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping
from urllib.parse import parse_qsl

from kopek.money import Money
from kopek.providers import mapping
from kopek.providers.contract import BadSignature, Outcome, ProviderError
from kopek.providers.mapping import Mapped, Refused

MAX_BODY_BYTES = 64 * 1024
MAX_DESCRIPTION_CHARS = 255
MAX_NOTIFICATION_FIELDS = 50

# The pattern of the shopper's `account` field: a WMID, a purse, or a Russian phone.
ACCOUNT_PATTERN = r"(?:[0-9]{12}|[RZEP][0-9]{12}|\+7[0-9]{10})"
PAYMENT_NO_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
PURSE_PATTERN = re.compile(r"[RZEP][0-9]{12}")
WMID_PATTERN = re.compile(r"[0-9]{12}")
DIGITS_PATTERN = re.compile(r"[0-9]{1,20}")
AMOUNT_PATTERN = re.compile(r"(0|[1-9][0-9]{0,11})\.([0-9]{2})")
TRANS_DATE_PATTERN = re.compile(r"[0-9]{8} [0-9]{2}:[0-9]{2}:[0-9]{2}")

# A purse's letter names its currency (WMR purses became WMP in 2018; both are roubles).
PURSE_CURRENCIES: Mapping[str, str] = MappingProxyType({"R": "RUB", "P": "RUB", "Z": "USD", "E": "EUR"})

MAX_RESENDS = 3
SMS_TYPE_SMS = "1"
PAYMENT_NO_TYPE_INVOICE = "1"
MODE_TEST = "1"
MODE_LIVE = "0"


@dataclass(frozen=True)
class MerchantCredentials:
    wmid: str
    purses: Mapping[str, str]                  # currency -> the merchant's payee purse
    secret_key: str = field(repr=False)        # signs XMLTransRequest/Confirm/Get
    notify_secret: str = field(repr=False)     # the secret inside the notification's LMI_HASH

    def purse_for(self, currency: str) -> str | None:
        return self.purses.get(currency)

    def currency_of(self, purse: str) -> str | None:
        return next((cur for cur, own in self.purses.items() if own == purse), None)


# Known to both the connector (in sandbox mode) and the simulator.
SANDBOX_CREDENTIALS = MerchantCredentials(
    wmid="000000000001",
    purses=MappingProxyType({"RUB": "R000000000001", "USD": "Z000000000001", "EUR": "E000000000001"}),
    secret_key="kopek-sandbox-webmoney-secret-key",
    notify_secret="kopek-sandbox-webmoney-notify-secret",
)


# ---- accounts and amounts ---------------------------------------------------------------

class ClientNumberType(enum.IntEnum):
    PHONE = 0
    WMID = 1
    EMAIL = 2
    PURSE = 4


def client_number(account: str) -> tuple[str, ClientNumberType]:
    """The shopper's account as X20's lmi_clientnumber and lmi_clientnumber_type."""
    if not re.fullmatch(ACCOUNT_PATTERN, account):
        raise ValueError("account must be a 12-digit WMID, a purse (R/Z/E/P + 12 digits) or +7 and 10 digits")
    if account.startswith("+"):
        return account[1:], ClientNumberType.PHONE
    if account[0].isdigit():
        return account, ClientNumberType.WMID
    return account, ClientNumberType.PURSE


def format_amount(amount_minor: int, currency: str) -> str:
    return Money(currency, amount_minor).decimal_string()


def parse_amount(text: str) -> int:
    """'5.00' -> 500. Strict: exactly two decimals, no sign, no exponent."""
    match = AMOUNT_PATTERN.fullmatch(text)
    if not match:
        raise ValueError(f"not a WebMoney amount: {text!r}")
    return int(match[1]) * 100 + int(match[2])


# ---- signatures -------------------------------------------------------------------------

SECRET = None  # where the secret key goes in a signed concatenation

TRANS_REQUEST_SIGNED = ("wmid", "lmi_payee_purse", "lmi_payment_no", "lmi_clientnumber",
                        "lmi_clientnumber_type", SECRET)
TRANS_CONFIRM_SIGNED = ("wmid", "lmi_payee_purse", "lmi_wminvoiceid", "lmi_clientnumber_code", SECRET)
TRANS_GET_SIGNED = ("wmid", "lmi_payee_purse", "lmi_payment_no", SECRET)
TRANS_RESEND_SIGNED = ("wmid", "lmi_payee_purse", "lmi_wminvoiceid", SECRET)
NOTIFICATION_SIGNED = ("LMI_PAYEE_PURSE", "LMI_PAYMENT_AMOUNT", "LMI_PAYMENT_NO", "LMI_MODE",
                       "LMI_SYS_INVS_NO", "LMI_SYS_TRANS_NO", "LMI_SYS_TRANS_DATE", SECRET,
                       "LMI_PAYER_PURSE", "LMI_PAYER_WM", "LMI_PAYMENT_STATE")


def compute_hash(fields: Mapping[str, str], order: tuple[str | None, ...], secret: str) -> str:
    joined = "".join(secret if name is SECRET else fields[name] for name in order)
    return hashlib.sha256(joined.encode("utf-8")).hexdigest().upper()


def hash_matches(fields: Mapping[str, str], order: tuple[str | None, ...], secret: str, received: str) -> bool:
    """Compare over the fields exactly as received; a missing field never matches."""
    if any(name is not SECRET and name not in fields for name in order):
        return False
    expected = compute_hash(fields, order, secret)
    return hmac.compare_digest(expected.encode(), received.upper().encode("utf-8"))


# ---- XML --------------------------------------------------------------------------------

def to_xml(root_tag: str, fields: Mapping[str, str]) -> bytes:
    root = ET.Element(root_tag)
    for name, value in fields.items():
        ET.SubElement(root, name).text = value
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def parse_xml(body: bytes, root_tag: str) -> ET.Element:
    """Parse a small, DTD-free document whose root is `root_tag`; anything else is a ProviderError."""
    if len(body) > MAX_BODY_BYTES:
        raise ProviderError(f"WebMoney XML is larger than {MAX_BODY_BYTES} bytes")
    lowered = body.lower()
    if b"<!doctype" in lowered or b"<!entity" in lowered:
        raise ProviderError("WebMoney XML must not contain a DOCTYPE or entity declarations")
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise ProviderError(f"WebMoney sent malformed XML: {exc}") from None
    if root.tag != root_tag:
        raise ProviderError(f"WebMoney XML root is <{root.tag}>, expected <{root_tag}>")
    return root


def read_request(body: bytes) -> dict[str, str]:
    """A <merchant.request>'s flat fields (the simulator's side)."""
    root = parse_xml(body, "merchant.request")
    return {child.tag: (child.text or "").strip() for child in root}


# ---- building requests (the connector's side) --------------------------------------------

def trans_request_xml(
    creds: MerchantCredentials, *, purse: str, payment_no: str, amount_minor: int, currency: str,
    description: str, account: str, payment_id: str, result_url: str,
) -> bytes:
    number, number_type = client_number(account)
    fields = {
        "wmid": creds.wmid,
        "lmi_payee_purse": purse,
        "lmi_payment_no": payment_no,
        "lmi_payment_amount": format_amount(amount_minor, currency),
        "lmi_payment_desc": description[:MAX_DESCRIPTION_CHARS],
        "lmi_clientnumber": number,
        "lmi_clientnumber_type": str(int(number_type)),
        "lmi_sms_type": SMS_TYPE_SMS,
        "lang": "en-US",
        "kopek_payment_id": payment_id,
        "kopek_result_url": result_url,
    }
    fields["sha256"] = compute_hash(fields, TRANS_REQUEST_SIGNED, creds.secret_key)
    return to_xml("merchant.request", fields)


def trans_confirm_xml(creds: MerchantCredentials, *, purse: str, invoice_id: str, code: str) -> bytes:
    fields = {
        "wmid": creds.wmid,
        "lmi_payee_purse": purse,
        "lmi_wminvoiceid": invoice_id,
        "lmi_clientnumber_code": code,
        "lang": "en-US",
    }
    fields["sha256"] = compute_hash(fields, TRANS_CONFIRM_SIGNED, creds.secret_key)
    return to_xml("merchant.request", fields)


def trans_resend_xml(creds: MerchantCredentials, *, purse: str, invoice_id: str) -> bytes:
    fields = {"wmid": creds.wmid, "lmi_payee_purse": purse, "lmi_wminvoiceid": invoice_id}
    fields["sha256"] = compute_hash(fields, TRANS_RESEND_SIGNED, creds.secret_key)
    return to_xml("merchant.request", fields)


def trans_get_xml(creds: MerchantCredentials, *, purse: str, invoice_id: str) -> bytes:
    fields = {
        "wmid": creds.wmid,
        "lmi_payee_purse": purse,
        "lmi_payment_no": invoice_id,
        "lmi_payment_no_type": PAYMENT_NO_TYPE_INVOICE,
    }
    fields["sha256"] = compute_hash(fields, TRANS_GET_SIGNED, creds.secret_key)
    return to_xml("merchant.request", fields)


# ---- responses ----------------------------------------------------------------------------

@dataclass(frozen=True)
class X20Response:
    retval: int
    retdesc: str = ""
    userdesc: str = ""
    invoice_id: str = ""      # <operation wminvoiceid="...">
    trans_id: str = ""        # <operation wmtransid="...">
    state: str = ""           # <operation><state> (XMLTransGet only)
    amount: str = ""          # <operation><amount>


def response_xml(
    retval: int, *, retdesc: str = "", userdesc: str = "", invoice_id: str = "",
    trans_id: str = "", details: Mapping[str, str] | None = None,
) -> bytes:
    """A <merchant.response> (the simulator's side)."""
    root = ET.Element("merchant.response")
    for name, value in (("retval", str(retval)), ("retdesc", retdesc), ("userdesc", userdesc)):
        ET.SubElement(root, name).text = value
    if invoice_id:
        operation = ET.SubElement(root, "operation", wminvoiceid=invoice_id)
        if trans_id:
            operation.set("wmtransid", trans_id)
        for name, value in (details or {}).items():
            ET.SubElement(operation, name).text = value
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def parse_response(body: bytes) -> X20Response:
    root = parse_xml(body, "merchant.response")
    retval_text = root.findtext("retval", "").strip()
    if not re.fullmatch(r"-?[0-9]{1,6}", retval_text):
        raise ProviderError(f"WebMoney answered without a valid retval: {retval_text[:20]!r}")
    operation = root.find("operation")
    if operation is None:
        operation = ET.Element("operation")
    return X20Response(
        retval=int(retval_text),
        retdesc=root.findtext("retdesc", "").strip(),
        userdesc=root.findtext("userdesc", "").strip(),
        invoice_id=operation.get("wminvoiceid", "").strip(),
        trans_id=operation.get("wmtransid", "").strip(),
        state=operation.findtext("state", "").strip(),
        amount=operation.findtext("amount", "").strip(),
    )


# ---- status tables ------------------------------------------------------------------------

class Retval(enum.IntEnum):
    OK = 0
    BAD_REQUEST = -1            # a field is missing or malformed
    BAD_SIGNATURE = -2
    INVOICE_NOT_FOUND = -3
    BAD_AMOUNT = -4
    DUPLICATE_PAYMENT_NO = -5
    CLIENT_NOT_FOUND = 2        # no WebMoney user behind that WMID, purse or phone
    WRONG_CODE = 4
    ATTEMPTS_EXHAUSTED = 5
    PAYMENT_DECLINED = 6
    INSUFFICIENT_FUNDS = 7
    NOT_AWAITING_CODE = 9       # the invoice is already confirmed or finished
    RESENDS_EXHAUSTED = 10      # XMLTransResend: the code was already resent MAX_RESENDS times


class InvoiceState(str, enum.Enum):
    AWAITING_CODE = "awaiting_code"
    PROCESSING = "processing"
    PAID = "paid"
    DECLINED = "declined"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    ATTEMPTS_EXCEEDED = "attempts_exceeded"


TRANS_REQUEST_RETVALS: Mapping[int, Mapped | Refused] = MappingProxyType({
    Retval.OK: Mapped(Outcome.REQUIRES_CODE),
    Retval.CLIENT_NOT_FOUND: Mapped(Outcome.DECLINED, "wallet_not_found"),
    Retval.BAD_AMOUNT: Mapped(Outcome.DECLINED, "limit_exceeded"),
    Retval.BAD_REQUEST: Refused("malformed request"),
    Retval.BAD_SIGNATURE: Refused("request signature rejected"),
    Retval.DUPLICATE_PAYMENT_NO: Refused("lmi_payment_no already used"),
})

TRANS_CONFIRM_RETVALS: Mapping[int, Mapped | Refused] = MappingProxyType({
    Retval.OK: Mapped(Outcome.PROCESSING),
    Retval.WRONG_CODE: Mapped(Outcome.WRONG_CODE),
    Retval.ATTEMPTS_EXHAUSTED: Mapped(Outcome.DECLINED, "code_attempts_exceeded"),
    Retval.PAYMENT_DECLINED: Mapped(Outcome.DECLINED, "declined"),
    Retval.INSUFFICIENT_FUNDS: Mapped(Outcome.DECLINED, "insufficient_funds"),
    Retval.BAD_REQUEST: Refused("malformed request"),
    Retval.BAD_SIGNATURE: Refused("request signature rejected"),
    Retval.INVOICE_NOT_FOUND: Refused("invoice not found"),
    Retval.NOT_AWAITING_CODE: Refused("invoice is not awaiting a code"),
})

TRANS_RESEND_RETVALS: Mapping[int, Mapped | Refused] = MappingProxyType({
    Retval.OK: Mapped(Outcome.REQUIRES_CODE),
    Retval.RESENDS_EXHAUSTED: Refused("the code was already resent as often as allowed"),
    Retval.BAD_REQUEST: Refused("malformed request"),
    Retval.BAD_SIGNATURE: Refused("request signature rejected"),
    Retval.INVOICE_NOT_FOUND: Refused("invoice not found"),
    Retval.NOT_AWAITING_CODE: Refused("invoice is not awaiting a code"),
})

# XMLTransGet: OK means "read <state>" (INVOICE_STATES); every other retval is a refusal.
TRANS_GET_RETVALS: Mapping[int, Mapped | Refused] = MappingProxyType({
    Retval.BAD_REQUEST: Refused("malformed request"),
    Retval.BAD_SIGNATURE: Refused("request signature rejected"),
    Retval.INVOICE_NOT_FOUND: Refused("invoice not found"),
})

INVOICE_STATES: Mapping[str, Mapped] = MappingProxyType({
    InvoiceState.AWAITING_CODE.value: Mapped(Outcome.REQUIRES_CODE),
    InvoiceState.PROCESSING.value: Mapped(Outcome.PROCESSING),
    InvoiceState.PAID.value: Mapped(Outcome.SUCCEEDED),
    InvoiceState.DECLINED.value: Mapped(Outcome.DECLINED, "declined"),
    InvoiceState.INSUFFICIENT_FUNDS.value: Mapped(Outcome.DECLINED, "insufficient_funds"),
    InvoiceState.ATTEMPTS_EXCEEDED.value: Mapped(Outcome.DECLINED, "code_attempts_exceeded"),
})

# A notification reports a final state, or (late, out of order) the intermediate one.
NOTIFICATION_STATES: Mapping[str, Mapped] = MappingProxyType({
    InvoiceState.PROCESSING.value: Mapped(Outcome.PROCESSING),
    InvoiceState.PAID.value: Mapped(Outcome.SUCCEEDED),
    InvoiceState.DECLINED.value: Mapped(Outcome.DECLINED, "declined"),
    InvoiceState.INSUFFICIENT_FUNDS.value: Mapped(Outcome.DECLINED, "insufficient_funds"),
})


def resolve_retval(table: Mapping[int, Mapped | Refused], response: X20Response, operation: str) -> Mapped:
    return mapping.resolve(
        table, response.retval, unknown=f"WebMoney {operation} answered unknown retval {response.retval}",
        refused=lambda reason: (f"WebMoney {operation} refused the request: retval {response.retval} "
                                f"({reason}) {response.retdesc}").rstrip(),
    )


def resolve_state(table: Mapping[str, Mapped], state: str, operation: str) -> Mapped:
    return mapping.look_up(table, state, f"WebMoney {operation} reported unknown state {state[:40]!r}")


def resolve_status(response: X20Response) -> Mapped:
    if response.retval == Retval.OK:
        return resolve_state(INVOICE_STATES, response.state, "XMLTransGet")
    return resolve_retval(TRANS_GET_RETVALS, response, "XMLTransGet")


# ---- the Result URL notification -------------------------------------------------------

@dataclass(frozen=True)
class Notification:
    purse: str
    amount_minor: int
    payment_no: str
    invoice_id: str
    trans_id: str
    state: str
    fields: Mapping[str, str]   # every field as received, for logs and the dashboard


def notification_fields(
    creds: MerchantCredentials, *, purse: str, amount: str, payment_no: str, invoice_id: str,
    trans_id: str, trans_date: str, payer_purse: str, payer_wm: str, state: str, description: str,
) -> dict[str, str]:
    """The signed form fields of a notification (the simulator's side)."""
    fields = {
        "LMI_MODE": MODE_TEST,
        "LMI_PAYEE_PURSE": purse,
        "LMI_PAYMENT_AMOUNT": amount,
        "LMI_PAYMENT_NO": payment_no,
        "LMI_PAYMENT_DESC": description,
        "LMI_SYS_INVS_NO": invoice_id,
        "LMI_SYS_TRANS_NO": trans_id,
        "LMI_SYS_TRANS_DATE": trans_date,
        "LMI_PAYER_PURSE": payer_purse,
        "LMI_PAYER_WM": payer_wm,
        "LMI_PAYMENT_STATE": state,
    }
    fields["LMI_HASH"] = compute_hash(fields, NOTIFICATION_SIGNED, creds.notify_secret)
    return fields


def read_form(body: bytes) -> dict[str, str]:
    """Decode a form body strictly: UTF-8, bounded, no repeated names. Raises BadSignature."""
    if len(body) > MAX_BODY_BYTES:
        raise BadSignature("notification body too large")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True,
                          max_num_fields=MAX_NOTIFICATION_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise BadSignature("notification body is not a valid form") from None
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise BadSignature("notification repeats a field")
    return fields


def verify_notification(body: bytes, notify_secret: str) -> Notification:
    """Verify LMI_HASH over the raw received fields, then check every field's format."""
    fields = read_form(body)
    received = fields.get("LMI_HASH", "")
    if not received or not hash_matches(fields, NOTIFICATION_SIGNED, notify_secret, received):
        raise BadSignature("LMI_HASH missing or does not match")
    _check_notification_formats(fields)
    return Notification(
        purse=fields["LMI_PAYEE_PURSE"],
        amount_minor=parse_amount(fields["LMI_PAYMENT_AMOUNT"]),
        payment_no=fields["LMI_PAYMENT_NO"],
        invoice_id=fields["LMI_SYS_INVS_NO"],
        trans_id=fields["LMI_SYS_TRANS_NO"],
        state=fields["LMI_PAYMENT_STATE"],
        fields=MappingProxyType(fields),
    )


_NOTIFICATION_FORMATS: Mapping[str, re.Pattern[str]] = MappingProxyType({
    "LMI_PAYEE_PURSE": PURSE_PATTERN,
    "LMI_PAYMENT_AMOUNT": AMOUNT_PATTERN,
    "LMI_PAYMENT_NO": PAYMENT_NO_PATTERN,
    "LMI_MODE": re.compile(r"[01]"),
    "LMI_SYS_INVS_NO": DIGITS_PATTERN,
    "LMI_SYS_TRANS_NO": DIGITS_PATTERN,
    "LMI_SYS_TRANS_DATE": TRANS_DATE_PATTERN,
    "LMI_PAYER_PURSE": PURSE_PATTERN,
    "LMI_PAYER_WM": WMID_PATTERN,
    "LMI_PAYMENT_STATE": re.compile(r"[a-z_]{1,40}"),
})


def _check_notification_formats(fields: Mapping[str, str]) -> None:
    # Concatenated hashing cannot see field boundaries; strict formats close that gap.
    for name, pattern in _NOTIFICATION_FORMATS.items():
        if not pattern.fullmatch(fields[name]):
            raise BadSignature(f"notification field {name} is malformed")


# ---- provider references ----------------------------------------------------------------

def provider_ref(purse: str, invoice_id: str) -> str:
    """Kopek's handle on an invoice: confirm and status calls need the purse as well as the id."""
    return f"{purse}:{invoice_id}"


def split_provider_ref(ref: str) -> tuple[str, str]:
    purse, sep, invoice_id = ref.partition(":")
    if not sep or not PURSE_PATTERN.fullmatch(purse) or not DIGITS_PATTERN.fullmatch(invoice_id):
        raise ProviderError(f"not a WebMoney provider_ref: {ref[:40]!r}")
    return purse, invoice_id
