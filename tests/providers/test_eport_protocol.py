"""The pure e-port mapping: signatures, JSON, the result tables, and keeping the PIN secret."""

from __future__ import annotations

import hashlib
import json
import re
from urllib.parse import urlencode

import aiohttp
import pytest
from multidict import CIMultiDict

from kopek.providers.contract import (
    FAILURE_CODES, AttemptRequest, BadSignature, ConfirmationStyle, Outcome, ProviderError, UnknownProviderStatus,
)
from kopek.providers.eport import PLUGIN, protocol
from kopek.providers.eport.connector import EportConnector, EportCredentials
from kopek.providers.eport.protocol import DebitState, Result
from kopek.providers.sandbox.magic import ENDINGS, magic_of
from kopek.settings import Settings

CREDS = protocol.SANDBOX_CREDENTIALS
PIN = "8642"


def debit(**overrides: object) -> protocol.DebitRequest:
    fields: dict[str, object] = dict(
        account="1000000001", pin=PIN, amount=500, currency="RUB", merchant_reference="att_1",
        description="Tea", notify_url="http://127.0.0.1:9/cb", payment_id="pay_1",
    )
    fields.update(overrides)
    return protocol.DebitRequest(**fields)  # type: ignore[arg-type]


def notice(**overrides: object) -> dict[str, object]:
    fields: dict[str, object] = dict(
        debit_id="dbt_1", merchant_reference="att_1", state="completed", amount=500, currency="RUB",
        failure_result=None, sent_at="2026-01-01T12:00:00Z",
    )
    fields.update(overrides)
    return fields


def signed(payload: dict[str, object] | bytes, secret: str = CREDS.notify_secret,
           merchant: str = CREDS.merchant_id) -> tuple[bytes, dict[str, str]]:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return body, protocol.signed_headers(body, merchant, secret)


def verify(payload: dict[str, object] | bytes, **kwargs: str) -> protocol.Notice:
    return protocol.verify_notice(*signed(payload, **kwargs), CREDS)


# ---- request signatures -------------------------------------------------------------------

def test_debit_request_is_signed_over_its_raw_body() -> None:
    request = protocol.debit_request(CREDS, debit())
    assert request.path == "/api/v1/debits"
    assert request.headers[protocol.MERCHANT_HEADER] == CREDS.merchant_id
    assert re.fullmatch(r"[0-9a-f]{64}", request.headers[protocol.SIGNATURE_HEADER])
    assert protocol.authentic(request.body, request.headers, CREDS.merchant_id, CREDS.secret)
    payload = json.loads(request.body)
    assert payload == {
        "account": "1000000001", "pin": PIN, "amount": 500, "currency": "RUB", "merchant_reference": "att_1",
        "description": "Tea", "notify_url": "http://127.0.0.1:9/cb", "extensions": {"kopek_payment_id": "pay_1"},
    }


def test_a_tampered_body_wrong_secret_or_other_merchant_fails() -> None:
    request = protocol.debit_request(CREDS, debit())
    tampered = request.body.replace(b'"amount":500', b'"amount":50')
    assert tampered != request.body
    assert not protocol.authentic(tampered, request.headers, CREDS.merchant_id, CREDS.secret)
    assert not protocol.authentic(request.body, request.headers, CREDS.merchant_id, "other secret")
    assert not protocol.authentic(request.body, request.headers, "other-merchant", CREDS.secret)
    no_signature = {protocol.MERCHANT_HEADER: CREDS.merchant_id}
    assert not protocol.authentic(request.body, no_signature, CREDS.merchant_id, CREDS.secret)


def test_headers_are_case_insensitive_but_never_repeated() -> None:
    request = protocol.debit_request(CREDS, debit())
    lowered = {name.lower(): value.upper() for name, value in request.headers.items()}
    lowered[protocol.MERCHANT_HEADER.lower()] = CREDS.merchant_id
    assert protocol.authentic(request.body, lowered, CREDS.merchant_id, CREDS.secret)
    repeated = CIMultiDict(request.headers)
    repeated.add(protocol.SIGNATURE_HEADER, "0" * 64)
    assert not protocol.authentic(request.body, repeated, CREDS.merchant_id, CREDS.secret)


def test_status_request_is_signed() -> None:
    request = protocol.status_request(CREDS, "dbt_42")
    assert (request.path, json.loads(request.body)) == ("/api/v1/debits/status", {"debit_id": "dbt_42"})
    assert protocol.authentic(request.body, request.headers, CREDS.merchant_id, CREDS.secret)
    with pytest.raises(ValueError):
        protocol.status_request(CREDS, "../other")


@pytest.mark.parametrize("overrides", [
    {"account": "100000001"}, {"account": "10000000011"}, {"account": "１０００００００01"},
    {"pin": "123"}, {"pin": "12345"}, {"pin": "12a4"}, {"pin": ""},
    {"amount": 0}, {"amount": 5.0}, {"amount": True}, {"currency": "rub"},
    {"merchant_reference": ""}, {"merchant_reference": "att 1"}, {"notify_url": "ftp://x/cb"},
])
def test_invalid_debits_are_rejected(overrides: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        debit(**overrides)


# ---- the PIN stays secret -------------------------------------------------------------------

def test_the_pin_is_in_no_repr_or_str() -> None:
    request = debit()
    signed_request = protocol.debit_request(CREDS, request)
    for text in (repr(request), str(request), repr(signed_request), str(signed_request)):
        assert PIN not in text and "pin=" not in text
    assert PIN.encode() in signed_request.body   # only the body carries it


@pytest.mark.parametrize("bad_pin", ["86420", "864", "86x2"])
def test_an_invalid_pin_is_not_quoted_by_the_error(bad_pin: str) -> None:
    with pytest.raises(ValueError) as raised:
        debit(pin=bad_pin)
    assert bad_pin not in str(raised.value) and bad_pin not in repr(raised.value)


async def test_the_connector_refuses_a_bad_pin_without_quoting_it() -> None:
    async with aiohttp.ClientSession() as http:
        connector = EportConnector(base_url="http://127.0.0.1:9", http=http, timeout_s=0.5,
                                   credentials=EportCredentials.from_settings(Settings(mode="sandbox")))
        request = AttemptRequest("att_1", "pay_1", 500, "RUB", "Tea", {"account": "1000000001", "pin": "86420"},
                                 "http://127.0.0.1:9/cb")
        with pytest.raises(ProviderError) as raised:
            await connector.start(request)
    assert "86420" not in str(raised.value) and raised.value.__cause__ is None


def test_credentials_never_show_their_secrets() -> None:
    creds = EportCredentials.from_settings(Settings(mode="sandbox"))
    assert (creds.merchant_id, creds.secret, creds.notify_secret) == (
        CREDS.merchant_id, CREDS.secret, CREDS.notify_secret)
    assert creds.secret not in repr(creds) and creds.notify_secret not in repr(creds)


LIVE_ENV = {"KOPEK_EPORT_MERCHANT_ID": "m-1", "KOPEK_EPORT_SECRET": "s-1", "KOPEK_EPORT_NOTIFY_SECRET": "n-1"}


def test_live_credentials_come_from_env() -> None:
    creds = EportCredentials.from_settings(Settings(mode="live"), env=LIVE_ENV)
    assert (creds.merchant_id, creds.secret, creds.notify_secret) == ("m-1", "s-1", "n-1")


@pytest.mark.parametrize("name", list(LIVE_ENV))
def test_live_credentials_missing_raise(name: str) -> None:
    with pytest.raises(ValueError, match=name):
        EportCredentials.from_settings(Settings(mode="live"), env={**LIVE_ENV, name: " "})


# ---- notifications ---------------------------------------------------------------------------

def test_notice_round_trip() -> None:
    parsed = verify(notice())
    assert parsed == protocol.Notice("dbt_1", "att_1", "completed", 500, "RUB", None, "2026-01-01T12:00:00Z")
    assert protocol.resolve_notice(parsed) == protocol.Mapped(Outcome.SUCCEEDED)


def test_notice_built_by_the_simulator_side_verifies() -> None:
    body = protocol.notice_body(protocol.Notice("dbt_1", "att_1", "failed", 500, "USD", 55, "2026-01-01T12:00:00Z"))
    parsed = protocol.verify_notice(body, protocol.signed_headers(body, CREDS.merchant_id, CREDS.notify_secret),
                                    CREDS)
    assert protocol.resolve_notice(parsed) == protocol.Mapped(Outcome.DECLINED, "incorrect_pin")


@pytest.mark.parametrize("kwargs", [
    {"secret": "not the notify secret"},
    {"secret": CREDS.secret},                 # the request secret is not the notify secret
    {"merchant": "other-merchant"},
])
def test_notice_with_wrong_secret_or_merchant_fails(kwargs: dict[str, str]) -> None:
    with pytest.raises(BadSignature):
        verify(notice(), **kwargs)


def test_notice_with_a_tampered_body_fails() -> None:
    body, headers = signed(notice())
    with pytest.raises(BadSignature):
        protocol.verify_notice(body.replace(b"500", b"501"), headers, CREDS)
    with pytest.raises(BadSignature):
        protocol.verify_notice(body, {}, CREDS)


def _webmoney_result_form(secret: str) -> bytes:
    """A WebMoney Result URL notification with a genuine LMI_HASH (SHA-256, upper-case hex)."""
    fields = {"LMI_PAYEE_PURSE": "R000000000001", "LMI_PAYMENT_AMOUNT": "5.00", "LMI_PAYMENT_NO": "att_1",
              "LMI_MODE": "1", "LMI_SYS_INVS_NO": "42", "LMI_SYS_TRANS_NO": "7",
              "LMI_SYS_TRANS_DATE": "20260101 12:00:00", "LMI_PAYER_PURSE": "R000079161234",
              "LMI_PAYER_WM": "000079161234"}
    joined = "".join(list(fields.values())[:7]) + secret + fields["LMI_PAYER_PURSE"] + fields["LMI_PAYER_WM"]
    fields["LMI_HASH"] = hashlib.sha256(joined.encode()).hexdigest().upper()
    return urlencode(fields).encode()


def test_another_wallets_signature_scheme_is_rejected() -> None:
    form = _webmoney_result_form(CREDS.notify_secret)
    lmi_hash = dict(pair.split("=") for pair in form.decode().split("&"))["LMI_HASH"]
    for headers in ({}, {"Content-Type": "application/x-www-form-urlencoded"},
                    {protocol.MERCHANT_HEADER: CREDS.merchant_id, protocol.SIGNATURE_HEADER: lmi_hash},
                    {protocol.MERCHANT_HEADER: CREDS.merchant_id, protocol.SIGNATURE_HEADER: lmi_hash.lower()}):
        with pytest.raises(BadSignature):
            protocol.verify_notice(form, headers, CREDS)
    # Even with an e-port signature over it, a form body is not an e-port notice.
    with pytest.raises(BadSignature):
        verify(form)


@pytest.mark.parametrize("body", [
    b"", b"not json", b"[]", b'"completed"', b"\xff\xfe",
    b'{"debit_id":"dbt_1","debit_id":"dbt_2","merchant_reference":"att_1","state":"completed","amount":500,'
    b'"currency":"RUB","failure_result":null,"sent_at":"2026-01-01T12:00:00Z"}',
])
def test_malformed_notice_bodies_fail(body: bytes) -> None:
    with pytest.raises(BadSignature):
        verify(body)


@pytest.mark.parametrize("overrides", [
    {"amount": 5.0}, {"amount": "500"}, {"amount": True}, {"amount": 0}, {"amount": -500},
    {"currency": "EUR"}, {"currency": None}, {"debit_id": ""}, {"debit_id": 42},
    {"merchant_reference": "att 1"}, {"state": 20}, {"state": "COMPLETED"}, {"failure_result": "55"},
    {"sent_at": "2026-01-01 12:00:00"}, {"sent_at": None},
])
def test_notice_with_a_malformed_field_fails(overrides: dict[str, object]) -> None:
    with pytest.raises(BadSignature):
        verify(notice(**overrides))


def test_notice_with_nan_amount_fails() -> None:
    body = json.dumps(notice()).replace('"amount": 500', '"amount": NaN').encode()
    with pytest.raises(BadSignature):
        verify(body)


@pytest.mark.parametrize("state, failure_result", [("refunded", None), ("failed", 99), ("failed", 20),
                                                   ("failed", None)])
def test_unknown_notice_states_and_failures_raise(state: str, failure_result: int | None) -> None:
    with pytest.raises(UnknownProviderStatus):
        protocol.resolve_notice(verify(notice(state=state, failure_result=failure_result)))


def test_a_completed_notice_with_a_failure_result_is_malformed() -> None:
    with pytest.raises(BadSignature):
        protocol.resolve_notice(verify(notice(failure_result=51)))


@pytest.mark.parametrize("failure, code", [(14, "wallet_not_found"), (51, "insufficient_funds"),
                                           (55, "incorrect_pin"), (57, "declined"), (61, "limit_exceeded")])
def test_failed_notices_map_their_failure_result(failure: int, code: str) -> None:
    parsed = verify(notice(state="failed", failure_result=failure))
    assert protocol.resolve_notice(parsed) == protocol.Mapped(Outcome.DECLINED, code)


def test_processing_notice_maps_to_processing() -> None:
    assert protocol.resolve_notice(verify(notice(state="processing"))).outcome is Outcome.PROCESSING


# ---- answers --------------------------------------------------------------------------------

def test_answer_round_trip() -> None:
    operation = protocol.Operation("dbt_1", "att_1", 500, "RUB", "processing")
    answer = protocol.parse_answer(protocol.answer_json(Result.ACCEPTED, "accepted", operation))
    assert answer == protocol.Answer(0, "accepted", operation)
    assert protocol.parse_answer(b'{"result":63}') == protocol.Answer(63)


@pytest.mark.parametrize("body", [
    b"<html>maintenance</html>", b"[]", b"{}", b'{"result":"0"}', b'{"result":true}', b'{"result":0.0}',
    b'{"result":0,"message":5}', b'{"result":0,"operation":[]}',
    b'{"result":0,"operation":{"debit_id":"dbt_1","merchant_reference":"att_1","amount":"5.00",'
    b'"currency":"RUB","state":"processing"}}',
    b'{"result":0,"message":"' + b"x" * protocol.MAX_BODY_BYTES + b'"}',
])
def test_malformed_answers_are_provider_errors(body: bytes) -> None:
    with pytest.raises(ProviderError) as raised:
        protocol.parse_answer(body)
    assert not isinstance(raised.value, UnknownProviderStatus)


# ---- the tables ------------------------------------------------------------------------------

TABLES = {"debit": protocol.START_RESULTS, "status": protocol.STATUS_RESULTS}


def test_every_result_is_mapped_and_has_an_http_status() -> None:
    assert set(protocol.START_RESULTS) | set(protocol.STATUS_RESULTS) == set(Result)
    assert set(protocol.HTTP_STATUSES) == set(Result)
    assert set(protocol.NOTICE_STATES) == {state.value for state in DebitState}


def test_http_statuses_follow_the_kind_of_result() -> None:
    for result, status in protocol.HTTP_STATUSES.items():
        refused = any(isinstance(table.get(result), protocol.Refused) for table in TABLES.values())
        assert (status != 200) == refused, result
    assert protocol.http_status(Result.SYSTEM_BUSY) == 503


def test_every_debit_result_has_a_state() -> None:
    for result in Result:
        in_a_debit = isinstance(protocol.STATUS_RESULTS.get(result), protocol.Mapped) or result is Result.ACCEPTED
        if in_a_debit:
            assert protocol.state_of(result) in DebitState
        else:
            with pytest.raises(ValueError):
                protocol.state_of(result)


def all_entries() -> list[protocol.Mapped]:
    entries = [entry for table in TABLES.values() for entry in table.values()]
    entries += [entry for entry in protocol.NOTICE_STATES.values() if isinstance(entry, protocol.Mapped)]
    return [entry for entry in entries + list(protocol.FAILURES.values()) if isinstance(entry, protocol.Mapped)]


@pytest.mark.parametrize("entry", all_entries(), ids=repr)
def test_declines_carry_a_known_failure_code_and_nothing_else_does(entry: protocol.Mapped) -> None:
    if entry.outcome is Outcome.DECLINED:
        assert entry.failure_code in FAILURE_CODES
    else:
        assert entry.failure_code is None
    assert entry.outcome in (Outcome.PROCESSING, Outcome.SUCCEEDED, Outcome.DECLINED)


@pytest.mark.parametrize("table", TABLES.values(), ids=TABLES.keys())
@pytest.mark.parametrize("result", [1, 42, 99, -1])
def test_unknown_result_raises(table: dict, result: int) -> None:
    with pytest.raises(UnknownProviderStatus):
        protocol.resolve(table, protocol.Answer(result), "test")


@pytest.mark.parametrize("result", [Result.SECURITY_VIOLATION, Result.SYSTEM_BUSY, Result.FORMAT_ERROR])
def test_refusals_raise_provider_error_not_an_outcome(result: Result) -> None:
    with pytest.raises(ProviderError) as raised:
        protocol.resolve(protocol.START_RESULTS, protocol.Answer(result), "debit")
    assert not isinstance(raised.value, UnknownProviderStatus)


def test_start_and_status_tables_differ_where_they_should() -> None:
    assert protocol.START_RESULTS[Result.ACCEPTED] == protocol.Mapped(Outcome.PROCESSING)
    assert Result.ACCEPTED not in protocol.STATUS_RESULTS
    assert isinstance(protocol.STATUS_RESULTS[Result.DEBIT_NOT_FOUND], protocol.Refused)
    assert isinstance(protocol.START_RESULTS[Result.REFERENCE_CONFLICT], protocol.Refused)


# ---- the wallet's description and plugin -------------------------------------------------------

def test_wallet_info() -> None:
    info = PLUGIN.info
    assert (info.id, info.name_en, info.name_ru, info.confirmation) == ("eport", "e-port", "e-port",
                                                                       ConfirmationStyle.NONE)
    account, pin = info.fields
    assert (account.name, account.input_type, account.secret) == ("account", "tel", False)
    assert (pin.name, pin.input_type, pin.secret, pin.autocomplete) == ("pin", "password", True, "off")
    assert (info.limits_for("RUB").max_amount, info.limits_for("USD").max_amount) == (500_000, 10_000)
    assert info.accepts(1, "RUB") and not info.accepts(500_001, "RUB") and not info.accepts(100, "EUR")
    assert info.status_check_after_s == 10.0


def test_example_accounts_are_valid_and_magic() -> None:
    for ending, magic in ENDINGS.items():
        account = PLUGIN.example_account(ending)
        details = PLUGIN.example_details(account)
        assert re.fullmatch(protocol.ACCOUNT_PATTERN, account) and account.endswith(ending)
        assert re.fullmatch(protocol.PIN_PATTERN, details["pin"]) and details["account"] == account
        assert magic_of(account) is magic


async def test_confirm_and_resend_are_not_used() -> None:
    async with aiohttp.ClientSession() as http:
        connector = PLUGIN.build_connector("http://127.0.0.1:9", Settings(mode="sandbox"), http)
        with pytest.raises(ProviderError):
            await connector.confirm("dbt_1", "123456")
        with pytest.raises(ProviderError):
            await connector.resend_code("dbt_1")
        accepted, refused = connector.callback_reply(True), connector.callback_reply(False)
    assert (accepted.status, json.loads(accepted.body), accepted.content_type) == (200, {"ok": True},
                                                                                   "application/json")
    assert (refused.status, json.loads(refused.body)) == (400, {"ok": False})
