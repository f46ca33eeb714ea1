"""The pure WebMoney mapping: signatures, XML, account types and the status tables."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest

from kopek.providers.contract import FAILURE_CODES, BadSignature, Outcome, ProviderError, UnknownProviderStatus
from kopek.providers.webmoney import protocol
from kopek.providers.webmoney.protocol import ClientNumberType, InvoiceState, Retval

CREDS = protocol.SANDBOX_CREDENTIALS


def notification(**overrides: str) -> dict[str, str]:
    fields = dict(
        purse="R000000000001", amount="5.00", payment_no="att_1", invoice_id="123456789",
        trans_id="987654321", trans_date="20250101 12:00:00", payer_purse="R000079161234",
        payer_wm="000079161234", state="paid", description="Tea",
    )
    fields.update(overrides)
    return protocol.notification_fields(CREDS, **fields)


def body_of(fields: dict[str, str]) -> bytes:
    return urlencode(fields).encode()


# ---- signatures -----------------------------------------------------------------------

def test_request_signature_round_trip() -> None:
    xml = protocol.trans_request_xml(
        CREDS, purse="R000000000001", payment_no="att_1", amount_minor=500, currency="RUB",
        description="Tea", account="+79161234567", payment_id="pay_1", result_url="http://x/cb",
    )
    fields = protocol.read_request(xml)
    assert protocol.hash_matches(fields, protocol.TRANS_REQUEST_SIGNED, CREDS.secret_key, fields["sha256"])
    assert fields["lmi_payment_amount"] == "5.00"
    assert (fields["lmi_clientnumber"], fields["lmi_clientnumber_type"]) == ("79161234567", "0")


def test_request_signature_fails_on_a_tampered_field_or_wrong_key() -> None:
    xml = protocol.trans_confirm_xml(CREDS, purse="R000000000001", invoice_id="42", code="123456")
    fields = protocol.read_request(xml)
    sign = fields["sha256"]
    assert not protocol.hash_matches({**fields, "lmi_clientnumber_code": "123457"},
                                     protocol.TRANS_CONFIRM_SIGNED, CREDS.secret_key, sign)
    assert not protocol.hash_matches(fields, protocol.TRANS_CONFIRM_SIGNED, "other key", sign)
    without_code = {k: v for k, v in fields.items() if k != "lmi_clientnumber_code"}
    assert not protocol.hash_matches(without_code, protocol.TRANS_CONFIRM_SIGNED, CREDS.secret_key, sign)


def test_resend_is_signed_like_confirm_without_the_code() -> None:
    fields = protocol.read_request(protocol.trans_resend_xml(CREDS, purse="R000000000001", invoice_id="42"))
    assert set(fields) == {"wmid", "lmi_payee_purse", "lmi_wminvoiceid", "sha256"}
    assert protocol.hash_matches(fields, protocol.TRANS_RESEND_SIGNED, CREDS.secret_key, fields["sha256"])
    assert not protocol.hash_matches({**fields, "lmi_wminvoiceid": "43"}, protocol.TRANS_RESEND_SIGNED,
                                     CREDS.secret_key, fields["sha256"])


def test_notification_round_trip() -> None:
    note = protocol.verify_notification(body_of(notification()), CREDS.notify_secret)
    assert (note.purse, note.amount_minor, note.payment_no, note.state) == ("R000000000001", 500, "att_1", "paid")


@pytest.mark.parametrize("field, value", [
    ("LMI_PAYMENT_AMOUNT", "500.00"),
    ("LMI_PAYMENT_NO", "att_2"),
    ("LMI_PAYMENT_STATE", "declined"),
    ("LMI_PAYEE_PURSE", "R000000000002"),
])
def test_notification_with_a_tampered_field_fails(field: str, value: str) -> None:
    fields = notification()
    fields[field] = value
    with pytest.raises(BadSignature):
        protocol.verify_notification(body_of(fields), CREDS.notify_secret)


def test_notification_without_hash_or_with_wrong_secret_fails() -> None:
    fields = notification()
    with pytest.raises(BadSignature):
        protocol.verify_notification(body_of(fields), "not the secret")
    del fields["LMI_HASH"]
    with pytest.raises(BadSignature):
        protocol.verify_notification(body_of(fields), CREDS.notify_secret)


def test_notification_hash_is_compared_case_insensitively_over_raw_fields() -> None:
    fields = notification()
    fields["LMI_HASH"] = fields["LMI_HASH"].lower()
    assert protocol.verify_notification(body_of(fields), CREDS.notify_secret).amount_minor == 500


def test_notification_with_a_shifted_field_boundary_fails() -> None:
    # "5.00" + "att_1" hashes like "5.0" + "0att_1": the strict formats must catch it.
    fields = notification(amount="5.0", payment_no="0att_1")
    assert fields["LMI_HASH"] == notification()["LMI_HASH"]
    with pytest.raises(BadSignature):
        protocol.verify_notification(body_of(fields), CREDS.notify_secret)


def test_notification_repeating_a_field_fails() -> None:
    body = body_of(notification()) + b"&LMI_PAYMENT_AMOUNT=500.00"
    with pytest.raises(BadSignature):
        protocol.verify_notification(body, CREDS.notify_secret)


# ---- XML ------------------------------------------------------------------------------

def test_response_parses() -> None:
    xml = protocol.response_xml(0, invoice_id="42", trans_id="7", details={"state": "paid", "amount": "5.00"})
    response = protocol.parse_response(xml)
    assert (response.retval, response.invoice_id, response.trans_id, response.state) == (0, "42", "7", "paid")


@pytest.mark.parametrize("body", [
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "b">]><merchant.response><retval>0</retval></merchant.response>',
    b'<!doctype merchant.response><merchant.response><retval>0</retval></merchant.response>',
    b"<merchant.response><retval>0</retval>",
    b"<other><retval>0</retval></other>",
    b"<merchant.response><retval>zero</retval></merchant.response>",
    b"<merchant.response><retval>0</retval><retdesc>" + b"x" * protocol.MAX_BODY_BYTES + b"</retdesc></merchant.response>",
])
def test_bad_or_dangerous_xml_is_a_provider_error(body: bytes) -> None:
    with pytest.raises(ProviderError):
        protocol.parse_response(body)


# ---- accounts and amounts ----------------------------------------------------------------

@pytest.mark.parametrize("account, expected", [
    ("123456789012", ("123456789012", ClientNumberType.WMID)),
    ("R123456789012", ("R123456789012", ClientNumberType.PURSE)),
    ("P123456789012", ("P123456789012", ClientNumberType.PURSE)),
    ("+79161234567", ("79161234567", ClientNumberType.PHONE)),
])
def test_account_type_detection(account: str, expected: tuple[str, ClientNumberType]) -> None:
    assert protocol.client_number(account) == expected


@pytest.mark.parametrize("account", ["", "12345678901", "X123456789012", "79161234567", "+19161234567",
                                     "R12345678901", "１２３４５６７８９０１２", "123456789012\n"])
def test_invalid_accounts_are_rejected_by_the_pattern_and_mapping(account: str) -> None:
    assert not re.fullmatch(protocol.ACCOUNT_PATTERN, account)
    with pytest.raises(ValueError):
        protocol.client_number(account)


@pytest.mark.parametrize("text, minor", [("0.01", 1), ("5.00", 500), ("15000.00", 1_500_000)])
def test_amounts_parse(text: str, minor: int) -> None:
    assert protocol.parse_amount(text) == minor
    assert protocol.format_amount(minor, "RUB") == text


@pytest.mark.parametrize("text", ["5", "5.0", "5.000", "-5.00", "05.00", "5,00", "1e3", " 5.00"])
def test_malformed_amounts_are_rejected(text: str) -> None:
    with pytest.raises(ValueError):
        protocol.parse_amount(text)


# ---- status tables -------------------------------------------------------------------------

RETVAL_TABLES = {
    "XMLTransRequest": protocol.TRANS_REQUEST_RETVALS,
    "XMLTransConfirm": protocol.TRANS_CONFIRM_RETVALS,
    "XMLTransGet": protocol.TRANS_GET_RETVALS,
    "XMLTransResend": protocol.TRANS_RESEND_RETVALS,
}


def test_every_retval_is_mapped_somewhere() -> None:
    mapped = set().union(*RETVAL_TABLES.values()) | {Retval.OK}  # XMLTransGet's OK reads <state>
    assert mapped == set(Retval)


def test_every_invoice_state_is_mapped_and_notifications_are_final_or_stale() -> None:
    assert set(protocol.INVOICE_STATES) == {state.value for state in InvoiceState}
    assert {m.outcome for m in protocol.NOTIFICATION_STATES.values()} == {
        Outcome.SUCCEEDED, Outcome.DECLINED, Outcome.PROCESSING}


def test_a_stale_processing_notice_maps_to_processing() -> None:
    note = protocol.verify_notification(body_of(notification(state="processing")), CREDS.notify_secret)
    mapped = protocol.resolve_state(protocol.NOTIFICATION_STATES, note.state, "notification")
    assert (mapped.outcome, mapped.failure_code) == (Outcome.PROCESSING, None)


def all_entries() -> list[protocol.Mapped]:
    tables = [*RETVAL_TABLES.values(), protocol.INVOICE_STATES, protocol.NOTIFICATION_STATES]
    return [entry for table in tables for entry in table.values() if isinstance(entry, protocol.Mapped)]


@pytest.mark.parametrize("entry", all_entries(), ids=repr)
def test_declines_carry_a_known_failure_code_and_nothing_else_does(entry: protocol.Mapped) -> None:
    if entry.outcome is Outcome.DECLINED:
        assert entry.failure_code in FAILURE_CODES
    else:
        assert entry.failure_code is None


@pytest.mark.parametrize("table", RETVAL_TABLES.values(), ids=RETVAL_TABLES.keys())
def test_unknown_retval_raises(table: dict) -> None:
    with pytest.raises(UnknownProviderStatus):
        protocol.resolve_retval(table, protocol.X20Response(retval=42), "test")


def test_refusal_raises_provider_error_not_an_outcome() -> None:
    response = protocol.X20Response(retval=Retval.BAD_SIGNATURE, retdesc="bad sign")
    with pytest.raises(ProviderError) as raised:
        protocol.resolve_retval(protocol.TRANS_CONFIRM_RETVALS, response, "XMLTransConfirm")
    assert not isinstance(raised.value, UnknownProviderStatus)


def test_unknown_state_raises() -> None:
    with pytest.raises(UnknownProviderStatus):
        protocol.resolve_status(protocol.X20Response(retval=0, state="refunded"))
    with pytest.raises(UnknownProviderStatus):
        protocol.resolve_state(protocol.NOTIFICATION_STATES, InvoiceState.AWAITING_CODE.value, "notification")


def test_provider_ref_round_trip_and_rejects_garbage() -> None:
    assert protocol.split_provider_ref(protocol.provider_ref("Z000000000001", "42")) == ("Z000000000001", "42")
    for bad in ("", "42", "R000000000001:", "R1:42", "R000000000001:4x"):
        with pytest.raises(ProviderError):
            protocol.split_provider_ref(bad)
