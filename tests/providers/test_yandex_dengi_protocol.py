"""The pure Yandex.Dengi mapping: forms, answers, the notification hash and the status tables."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from decimal import Decimal
from urllib.parse import urlencode

import pytest

from kopek.providers.contract import FAILURE_CODES, BadSignature, Outcome, ProviderError, UnknownProviderStatus
from kopek.providers.webmoney import protocol as wm_protocol
from kopek.providers.yandex_dengi import protocol
from kopek.providers.yandex_dengi.protocol import Error, Mapped, Next, Refused, Status

SECRET = protocol.SANDBOX_CREDENTIALS.notification_secret


def notification(**overrides: str) -> dict[str, str]:
    fields = dict(operation_id="1000000000000042", amount="5.00", currency="RUB", datetime="2025-01-01T12:00:00Z",
                  sender="410010000000001", label="att_1", request_id="p2p-abc123", status="success", error="")
    fields.update(overrides)
    return protocol.notification_fields(SECRET, **fields)


def body_of(fields: dict[str, str]) -> bytes:
    return urlencode(fields).encode()


# ---- the notification hash --------------------------------------------------------------

def test_hash_is_sha1_of_the_yandex_string_with_the_kopek_fields_appended() -> None:
    fields = notification()
    joined = (f"p2p-incoming&1000000000000042&5.00&643&2025-01-01T12:00:00Z&410010000000001&false&{SECRET}"
              "&att_1&p2p-abc123&success&")
    assert fields["sha1_hash"] == hashlib.sha1(joined.encode()).hexdigest()


def test_notification_round_trip() -> None:
    note = protocol.verify_notification(body_of(notification()), SECRET)
    assert (note.request_id, note.label, note.amount_minor, note.currency, note.status, note.error) == (
        "p2p-abc123", "att_1", 500, "RUB", "success", "")
    assert "sha1_hash" in note.fields and "unsigned" not in note.fields


def test_unsigned_extra_fields_are_left_out_of_the_verified_fields() -> None:
    body = body_of({**notification(), "withdraw_amount": "999.00"})
    assert "withdraw_amount" not in protocol.verify_notification(body, SECRET).fields


@pytest.mark.parametrize("field, value", [
    ("amount", "500.00"), ("label", "att_2"), ("request_id", "p2p-other"), ("status", "refused"),
    ("error", "not_enough_funds"), ("sender", "410010000000002"), ("operation_id", "1"),
    ("currency", "840"), ("datetime", "2025-01-01T12:00:01Z"), ("codepro", "true"),
    ("notification_type", "card-incoming"),
])
def test_a_tampered_field_fails(field: str, value: str) -> None:
    fields = notification()
    fields[field] = value
    with pytest.raises(BadSignature):
        protocol.verify_notification(body_of(fields), SECRET)


@pytest.mark.parametrize("missing", ["sha1_hash", "status", "request_id", "error", "label"])
def test_a_missing_field_fails(missing: str) -> None:
    fields = notification()
    del fields[missing]
    with pytest.raises(BadSignature):
        protocol.verify_notification(body_of(fields), SECRET)


def test_the_wrong_secret_fails() -> None:
    with pytest.raises(BadSignature):
        protocol.verify_notification(body_of(notification()), "not the secret")


def test_the_hash_is_compared_case_insensitively() -> None:
    fields = notification()
    fields["sha1_hash"] = fields["sha1_hash"].upper()
    assert protocol.verify_notification(body_of(fields), SECRET).amount_minor == 500


def test_a_field_smuggling_an_ampersand_fails_even_when_signed() -> None:
    # "att_1&p2p-abc123" + "" hashes like "att_1" + "p2p-abc123": the strict formats must catch it.
    fields = notification(label="att_1&p2p-abc123", request_id="x")
    with pytest.raises(BadSignature, match="label"):
        protocol.verify_notification(body_of(fields), SECRET)


@pytest.mark.parametrize("body", [
    body_of(notification()) + b"&amount=500.00",   # a repeated field
    b"\xff\xfe",
    b"",
    b"not a form",
    b"a=" + b"x" * protocol.MAX_BODY_BYTES,
])
def test_malformed_bodies_fail(body: bytes) -> None:
    with pytest.raises(BadSignature):
        protocol.verify_notification(body, SECRET)


def test_a_webmoney_notification_fails() -> None:
    form = wm_protocol.notification_fields(
        wm_protocol.SANDBOX_CREDENTIALS, purse="R000000000001", amount="5.00", payment_no="att_1",
        invoice_id="123456789", trans_id="987654321", trans_date="20250101 12:00:00",
        payer_purse="R000079161234", payer_wm="000079161234", state="paid", description="Tea")
    with pytest.raises(BadSignature):
        protocol.verify_notification(body_of(form), SECRET)
    # Even with Yandex's field names added, LMI_HASH signs nothing here.
    with pytest.raises(BadSignature):
        protocol.verify_notification(body_of({**notification(), "sha1_hash": form["LMI_HASH"][:40]}), SECRET)


# ---- forms and answers ------------------------------------------------------------------

def test_request_payment_form() -> None:
    form = protocol.request_payment_form(
        protocol.SANDBOX_CREDENTIALS, label="att_1", amount_minor=1_500_000, currency="RUB",
        sender="410011234567801", description="Tea" * 100, payment_id="pay_1", callback_url="http://x/cb")
    assert (form["pattern_id"], form["to"], form["amount"], form["label"], form["sender"]) == (
        "p2p", "410010000000000", "15000.00", "att_1", "410011234567801")
    assert (form["kopek_payment_id"], form["kopek_callback_url"]) == ("pay_1", "http://x/cb")
    assert len(form["comment"]) == protocol.MAX_COMMENT_CHARS
    assert protocol.read_form(protocol.encode_form(form)) == form


def test_process_payment_form() -> None:
    assert protocol.process_payment_form("p2p-1") == {"request_id": "p2p-1", "money_source": "wallet"}


@pytest.mark.parametrize("wallet", ["41001123456780", "4100112345678012", "410021234567801", "41001123456780x",
                                    "", "+79161234567", "４１００１１２３４５６７８０１", "410011234567801\n"])
def test_bad_wallets_are_rejected(wallet: str) -> None:
    assert not re.fullmatch(protocol.WALLET_PATTERN, wallet)
    with pytest.raises(ValueError):
        protocol.request_payment_form(protocol.SANDBOX_CREDENTIALS, label="att_1", amount_minor=500, currency="RUB",
                                      sender=wallet, description="", payment_id="p", callback_url="")


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_wallet_pattern_means_the_same_in_javascript() -> None:
    samples = ["410011234567801", "41001123456780", "410021234567801", "x410011234567801"]
    script = (f"const re = new RegExp('^(?:' + {json.dumps(protocol.WALLET_PATTERN)} + ')$', 'u');"
              f"console.log(JSON.stringify({json.dumps(samples)}.map((s) => re.test(s))));")
    result = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=10, check=True)
    assert json.loads(result.stdout) == [bool(re.fullmatch(protocol.WALLET_PATTERN, s)) for s in samples]


def test_answer_parses() -> None:
    body = json.dumps({"status": "in_progress", "next_retry": 1500, "request_id": "p2p-1", "contract_amount": 5.00,
                       "acs_uri": "http://x/ext_auth", "acs_params": {"request_id": "p2p-1"}}).encode()
    answer = protocol.parse_answer(body)
    assert (answer.status, answer.next_retry_ms, answer.request_id, answer.contract_amount) == (
        "in_progress", 1500, "p2p-1", Decimal("5.0"))
    assert dict(answer.acs_params) == {"request_id": "p2p-1"}


@pytest.mark.parametrize("body", [
    b"<html>maintenance</html>", b"[]", b"{}", b'{"status": 1}', b'{"status": "success", "error": 3}',
    b'{"status": "in_progress", "next_retry": -1}', b'{"status": "in_progress", "next_retry": true}',
    b'{"status": "in_progress", "next_retry": 1.5}', b'{"status": "x", "acs_params": []}',
    b'{"status": "x", "acs_params": {"a": 1}}', b'{"status": "success", "contract_amount": "5.00"}',
    b'{"status": "success", "pad": "' + b"x" * protocol.MAX_BODY_BYTES + b'"}', b"\xff",
])
def test_malformed_answers_are_provider_errors(body: bytes) -> None:
    with pytest.raises(ProviderError):
        protocol.parse_answer(body)


@pytest.mark.parametrize("text, minor", [("0.01", 1), ("5.00", 500), ("15000.00", 1_500_000)])
def test_amounts(text: str, minor: int) -> None:
    assert protocol.parse_amount(text) == minor
    assert protocol.format_amount(minor, "RUB") == text


@pytest.mark.parametrize("text", ["5", "5.0", "5.000", "-5.00", "05.00", "5,00", "1e3", " 5.00"])
def test_malformed_amounts_are_rejected(text: str) -> None:
    with pytest.raises(ValueError):
        protocol.parse_amount(text)


def test_credentials_keep_their_secrets_out_of_repr() -> None:
    text = repr(protocol.SANDBOX_CREDENTIALS)
    assert protocol.SANDBOX_CREDENTIALS.token not in text
    assert protocol.SANDBOX_CREDENTIALS.notification_secret not in text


# ---- status tables ------------------------------------------------------------------------

EXPECTED_ERRORS = {
    Error.SENDER_NOT_FOUND: "wallet_not_found",
    Error.PAYMENT_REFUSED: "declined",
    Error.AUTHORIZATION_REJECT: "declined",
    Error.LIMIT_EXCEEDED: "limit_exceeded",
    Error.ACCOUNT_BLOCKED: "declined",
    Error.EXT_ACTION_REQUIRED: "declined",
    Error.NOT_ENOUGH_FUNDS: "insufficient_funds",
    Error.MONEY_SOURCE_NOT_AVAILABLE: "declined",
}
PROVIDER_ERRORS = {Error.ILLEGAL_PARAMS, Error.ILLEGAL_PARAM_TO, Error.ILLEGAL_PARAM_AMOUNT,
                   Error.ILLEGAL_PARAM_LABEL, Error.PAYEE_NOT_FOUND, Error.CONTRACT_NOT_FOUND}


def test_every_error_is_mapped_exactly_once() -> None:
    assert set(protocol.ERRORS) == {e.value for e in Error}
    assert set(EXPECTED_ERRORS) | PROVIDER_ERRORS == set(Error) and not set(EXPECTED_ERRORS) & PROVIDER_ERRORS


@pytest.mark.parametrize("error, failure_code", EXPECTED_ERRORS.items(), ids=lambda v: getattr(v, "value", v))
def test_shopper_errors_decline_with_a_known_failure_code(error: Error, failure_code: str) -> None:
    assert failure_code in FAILURE_CODES
    for table in (protocol.REQUEST_PAYMENT_STATUSES, protocol.PROCESS_PAYMENT_STATUSES, protocol.NOTIFICATION_STATUSES):
        assert protocol.resolve(table, "refused", error.value, "test") == Mapped(Outcome.DECLINED, failure_code)


@pytest.mark.parametrize("error", sorted(PROVIDER_ERRORS), ids=lambda e: e.value)
def test_request_errors_are_provider_errors_not_unknown(error: Error) -> None:
    assert isinstance(protocol.ERRORS[error.value], Refused)
    with pytest.raises(ProviderError) as raised:
        protocol.resolve_error(error.value, "test")
    assert not isinstance(raised.value, UnknownProviderStatus)


def test_status_tables() -> None:
    assert dict(protocol.REQUEST_PAYMENT_STATUSES) == {"success": Next.PROCESS, "refused": Next.SEE_ERROR}
    assert dict(protocol.PROCESS_PAYMENT_STATUSES) == {
        "success": Mapped(Outcome.SUCCEEDED), "refused": Next.SEE_ERROR,
        "in_progress": Mapped(Outcome.PROCESSING), "ext_auth_required": Mapped(Outcome.REQUIRES_APPROVAL)}
    assert set(protocol.PROCESS_PAYMENT_STATUSES) == {s.value for s in Status}
    assert dict(protocol.NOTIFICATION_STATUSES) == {
        "success": Mapped(Outcome.SUCCEEDED), "refused": Next.SEE_ERROR, "in_progress": Mapped(Outcome.PROCESSING)}


@pytest.mark.parametrize("table", [protocol.REQUEST_PAYMENT_STATUSES, protocol.PROCESS_PAYMENT_STATUSES,
                                   protocol.NOTIFICATION_STATUSES], ids=["request", "process", "notification"])
@pytest.mark.parametrize("status", ["hold_for_pickup", "SUCCESS", "", "pending"])
def test_unknown_status_raises(table, status: str) -> None:
    with pytest.raises(UnknownProviderStatus):
        protocol.resolve(table, status, "", "test")


def test_ext_auth_required_is_not_a_notification_status() -> None:
    with pytest.raises(UnknownProviderStatus):
        protocol.resolve(protocol.NOTIFICATION_STATUSES, "ext_auth_required", "", "notification")


@pytest.mark.parametrize("error", ["", "card_expired", "NOT_ENOUGH_FUNDS"])
def test_unknown_error_raises(error: str) -> None:
    with pytest.raises(UnknownProviderStatus):
        protocol.resolve(protocol.PROCESS_PAYMENT_STATUSES, "refused", error, "test")
