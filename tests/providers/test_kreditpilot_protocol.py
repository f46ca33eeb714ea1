"""The pure KreditPilot mapping: signatures, the replay window, JSON-RPC envelopes and the status tables."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from urllib.parse import urlencode

import pytest

from kopek.providers.contract import FAILURE_CODES, BadSignature, Outcome, ProviderError, UnknownProviderStatus
from kopek.providers.kreditpilot import PLUGIN, protocol, simulator
from kopek.providers.kreditpilot.connector import INFO
from kopek.providers.kreditpilot.protocol import ChargeState, ErrorCode, Method
from kopek.providers.sandbox.magic import ENDINGS, magic_of

CREDS = protocol.SANDBOX_CREDENTIALS
NOW = 1_750_000_000
PIN = "9731"
CHARGE = protocol.Charge("ch_" + "a" * 24, "att_1", "captured", 500, "RUB")


def notice(charge: protocol.Charge = CHARGE, *, ts: int = NOW, secret: str = CREDS.notify_secret) -> tuple[bytes, str]:
    body = protocol.dumps(charge.to_json())
    return body, protocol.signature_header(secret, ts, body)


def charge_request(**overrides: object) -> protocol.ChargeRequest:
    fields: dict[str, object] = dict(card="7000000000000001", pin=PIN, amount=500, currency="RUB", order_ref="att_1",
                                     notify_url="http://127.0.0.1:9/cb", description="Tea", kopek_payment_id="pay_1")
    fields.update(overrides)
    return protocol.ChargeRequest(**fields)  # type: ignore[arg-type]


# ---- request signatures -----------------------------------------------------------------

def test_signature_is_hmac_sha512_over_ts_dot_body() -> None:
    body = b'{"jsonrpc":"2.0"}'
    expected = hmac.new(CREDS.secret.encode(), f"{NOW}.".encode() + body, hashlib.sha512).hexdigest()
    assert protocol.sign(CREDS.secret, NOW, body) == expected and len(expected) == 128
    assert protocol.authorization(CREDS, NOW, body) == f"KP-HMAC key={CREDS.key_id}, ts={NOW}, sig={expected}"


def test_request_authentication_round_trip() -> None:
    body = protocol.rpc_request(Method.STATUS, {"charge_id": CHARGE.charge_id}, "r1")
    keys = {CREDS.key_id: CREDS.secret}
    header = protocol.authorization(CREDS, NOW, body)
    assert protocol.request_is_authentic(header, body, keys, NOW)
    prefix, _, sig = header.rpartition("sig=")
    assert protocol.request_is_authentic(f"{prefix}sig={sig.upper()}", body, keys, NOW)


@pytest.mark.parametrize("case", ["tampered body", "other secret", "unknown key", "stale", "future", "garbage"])
def test_request_authentication_fails(case: str) -> None:
    body = protocol.rpc_request(Method.STATUS, {"charge_id": CHARGE.charge_id}, "r1")
    keys = {CREDS.key_id: CREDS.secret}
    header, sent, now = protocol.authorization(CREDS, NOW, body), body, NOW
    if case == "tampered body":
        sent = body.replace(b"r1", b"r2")
    elif case == "other secret":
        header = protocol.authorization(protocol.MerchantCredentials(CREDS.key_id, "x", "y"), NOW, body)
    elif case == "unknown key":
        header = header.replace(CREDS.key_id, "kp_other")
    elif case == "stale":
        now = NOW + protocol.REPLAY_WINDOW_S + 1
    elif case == "future":
        now = NOW - protocol.REPLAY_WINDOW_S - 1
    else:
        header = f"Bearer {CREDS.secret}"
    assert not protocol.request_is_authentic(header, sent, keys, now)


def test_replay_window_edges() -> None:
    body = b"{}"
    header = protocol.authorization(CREDS, NOW, body)
    keys = {CREDS.key_id: CREDS.secret}
    assert protocol.request_is_authentic(header, body, keys, NOW + protocol.REPLAY_WINDOW_S)
    assert protocol.request_is_authentic(header, body, keys, NOW - protocol.REPLAY_WINDOW_S)
    assert not protocol.request_is_authentic(header, body, keys, NOW + protocol.REPLAY_WINDOW_S + 1)


# ---- notifications -------------------------------------------------------------------------

def test_notification_round_trip() -> None:
    body, header = notice()
    assert protocol.verify_notification(body, header, CREDS.notify_secret, NOW + 10) == CHARGE


@pytest.mark.parametrize("offset", [protocol.REPLAY_WINDOW_S + 1, 3600, -(protocol.REPLAY_WINDOW_S + 1)])
def test_replayed_or_future_notification_fails_even_with_a_good_signature(offset: int) -> None:
    body, header = notice(ts=NOW)
    with pytest.raises(BadSignature, match="replayed"):
        protocol.verify_notification(body, header, CREDS.notify_secret, NOW + offset)


def test_notification_with_its_timestamp_moved_fails() -> None:
    body, header = notice(ts=NOW - 3600)
    moved = re.sub(r"t=[0-9]+", f"t={NOW}", header)
    with pytest.raises(BadSignature, match="does not verify"):
        protocol.verify_notification(body, moved, CREDS.notify_secret, NOW)


@pytest.mark.parametrize("change", ["amount", "state", "secret", "no header", "two v1", "spaces"])
def test_tampered_or_unsigned_notification_fails(change: str) -> None:
    body, header = notice()
    if change == "amount":
        body = body.replace(b'"amount":500', b'"amount":50000')
    elif change == "state":
        body = body.replace(b"captured", b"rejected")
    elif change == "secret":
        body, header = notice(secret="not the secret")
    elif change == "no header":
        header = ""
    elif change == "two v1":
        header = f"{header},v1={'0' * 128}"
    else:
        header = header.replace(",", ", ")
    with pytest.raises(BadSignature):
        protocol.verify_notification(body, header, CREDS.notify_secret, NOW)


def _charge_doc(**changes: object) -> bytes:
    doc: dict[str, object] = {**CHARGE.to_json(), **changes}
    return json.dumps(doc).encode()


@pytest.mark.parametrize("doc", [
    b"not json",
    b'{"charge_id":"ch_aaaaaaaaaaaaaaaaaaaaaaaa","charge_id":"ch_bbbbbbbbbbbbbbbbbbbbbbbb"}',
    _charge_doc(amount=True),
    _charge_doc(amount=5.0),
    _charge_doc(amount=-500),
    _charge_doc().replace(b"500", b"NaN"),
    _charge_doc(charge_id="x"),
    _charge_doc(order_ref="att 1"),
    _charge_doc(currency="rub"),
    _charge_doc(error_code="-32003"),
    b'["ch_aaaaaaaaaaaaaaaaaaaaaaaa"]',
])
def test_a_signed_but_malformed_notification_is_a_bad_signature(doc: bytes) -> None:
    header = protocol.signature_header(CREDS.notify_secret, NOW, doc)
    with pytest.raises(BadSignature):
        protocol.verify_notification(doc, header, CREDS.notify_secret, NOW)


def test_other_wallets_signing_schemes_are_rejected() -> None:
    # e-port style: JSON signed by an HMAC-SHA256 header of its own.
    body = json.dumps(CHARGE.to_json()).encode()
    eport_sig = hmac.new(CREDS.notify_secret.encode(), body, hashlib.sha256).hexdigest()
    with pytest.raises(BadSignature):
        protocol.verify_notification(body, "", CREDS.notify_secret, NOW)
    with pytest.raises(BadSignature):
        protocol.verify_notification(body, f"t={NOW},v1={eport_sig}", CREDS.notify_secret, NOW)
    # WebMoney style: a form body carrying LMI_HASH.
    form = urlencode({"LMI_PAYMENT_NO": "att_1", "LMI_PAYMENT_AMOUNT": "5.00",
                      "LMI_HASH": hashlib.sha256(b"x").hexdigest().upper()}).encode()
    with pytest.raises(BadSignature):
        protocol.verify_notification(form, "", CREDS.notify_secret, NOW)


# ---- JSON-RPC envelopes ----------------------------------------------------------------------

def test_reply_round_trips() -> None:
    assert protocol.parse_reply(protocol.rpc_result("r1", CHARGE.to_json()), "r1").result == CHARGE.to_json()
    error = protocol.parse_reply(protocol.rpc_error("r1", -32003, "No money", CHARGE.charge_id), "r1").error
    assert error == protocol.RpcError(-32003, "No money", CHARGE.charge_id)
    assert protocol.parse_reply(protocol.rpc_error(None, -32700, "parse error"), "r1").error.code == -32700


@pytest.mark.parametrize("body", [
    protocol.rpc_result("r2", CHARGE.to_json()),
    protocol.rpc_result(None, CHARGE.to_json()),
    protocol.rpc_error("r2", -32003, "x"),
    b'{"jsonrpc":"2.0","id":"r1"}',
    b'{"jsonrpc":"2.0","id":"r1","result":{},"error":{"code":1,"message":""}}',
    b'{"jsonrpc":"1.0","id":"r1","result":{}}',
    b'{"jsonrpc":"2.0","id":"r1","result":[]}',
    b'{"jsonrpc":"2.0","id":"r1","error":{"code":"-32003","message":""}}',
    b'{"jsonrpc":"2.0","id":"r1","error":{"code":-32003,"data":{"charge_id":"nope"}}}',
    b"<html>maintenance</html>",
    b'{"jsonrpc":"2.0","id":"r1","result":{"x":"' + b"y" * protocol.MAX_BODY_BYTES + b'"}}',
])
def test_bad_replies_are_provider_errors(body: bytes) -> None:
    with pytest.raises(ProviderError):
        protocol.parse_reply(body, "r1")


def test_provider_text_is_masked() -> None:
    error = protocol.parse_reply(protocol.rpc_error("r1", -32002, f"PIN {PIN} wrong for 7000000000000005"), "r1").error
    assert PIN not in error.message and "7000000000000005" not in error.message


def test_read_call_refuses_bad_requests() -> None:
    with pytest.raises(protocol.RpcFault) as raised:
        protocol.read_call(b"{")
    assert raised.value.code == ErrorCode.PARSE_ERROR
    with pytest.raises(protocol.RpcFault) as raised:
        protocol.read_call(b'{"jsonrpc":"2.0","id":"r1","method":"card.charge","params":[]}')
    assert (raised.value.code, raised.value.request_id) == (ErrorCode.INVALID_REQUEST, "r1")


# ---- the PIN ---------------------------------------------------------------------------------

def test_the_pin_is_in_the_body_and_nowhere_else() -> None:
    request = charge_request()
    body = protocol.rpc_request(Method.CHARGE, request.params(), "r1")
    assert json.loads(body)["params"]["pin"] == PIN
    call = protocol.read_call(body)
    wanted = simulator.WantedCharge("7000000000000001", PIN, 500, "RUB", "att_1", "http://x")
    for shown in (repr(request), str(request), repr(call), str(call), repr(wanted)):
        assert PIN not in shown


@pytest.mark.parametrize("pin", ["97311", "973", "97a1", "", "９７３１"])
def test_a_malformed_pin_is_refused_without_echoing_it(pin: str) -> None:
    with pytest.raises(ValueError) as raised:
        charge_request(pin=pin)
    assert str(raised.value) == "pin must be 4 digits"


# ---- status tables ----------------------------------------------------------------------------

def test_every_error_code_and_state_is_mapped() -> None:
    assert set(protocol.ERRORS) == set(ErrorCode)
    assert set(protocol.CHARGE_STATES) == {state.value for state in ChargeState}


@pytest.mark.parametrize("code", list(ErrorCode), ids=lambda c: c.name)
def test_each_error_code_is_a_decline_with_a_known_reason_or_raises(code: ErrorCode) -> None:
    entry = protocol.ERRORS[code]
    if isinstance(entry, protocol.Mapped):
        assert entry.outcome is Outcome.DECLINED and entry.failure_code in FAILURE_CODES
        assert protocol.resolve_error(code, "test") == entry
    else:
        with pytest.raises(ProviderError) as raised:
            protocol.resolve_error(code, "test")
        assert not isinstance(raised.value, UnknownProviderStatus)


@pytest.mark.parametrize("code, failure", [(-32001, "wallet_not_found"), (-32002, "incorrect_pin"),
                                           (-32003, "insufficient_funds"), (-32004, "declined")])
def test_card_errors_map_to_failure_codes(code: int, failure: str) -> None:
    assert protocol.resolve_error(code, "test") == protocol.Mapped(Outcome.DECLINED, failure)


def test_temporarily_unavailable_is_a_provider_error() -> None:
    with pytest.raises(ProviderError, match="temporarily unavailable"):
        protocol.resolve_error(-32010, "card.charge")


def test_unknown_error_code_and_state_raise() -> None:
    with pytest.raises(UnknownProviderStatus):
        protocol.resolve_error(-32099, "card.charge")
    with pytest.raises(UnknownProviderStatus):
        protocol.resolve_charge(protocol.Charge(CHARGE.charge_id, "att_1", "refunded", 500, "RUB"), "charge.status")
    with pytest.raises(UnknownProviderStatus):
        protocol.resolve_charge(protocol.Charge(CHARGE.charge_id, "att_1", "rejected", 500, "RUB", -32099), "x")


@pytest.mark.parametrize("state, error_code, expected", [
    ("hold", None, protocol.Mapped(Outcome.PROCESSING)),
    ("captured", None, protocol.Mapped(Outcome.SUCCEEDED)),
    ("rejected", -32003, protocol.Mapped(Outcome.DECLINED, "insufficient_funds")),
    ("rejected", -32004, protocol.Mapped(Outcome.DECLINED, "declined")),
])
def test_charge_states(state: str, error_code: int | None, expected: protocol.Mapped) -> None:
    charge = protocol.Charge(CHARGE.charge_id, "att_1", state, 500, "RUB", error_code)
    assert protocol.resolve_charge(charge, "test") == expected


@pytest.mark.parametrize("state, error_code", [("rejected", None), ("captured", -32003), ("rejected", -32000)])
def test_inconsistent_charges_raise(state: str, error_code: int | None) -> None:
    with pytest.raises(ProviderError):
        protocol.resolve_charge(protocol.Charge(CHARGE.charge_id, "att_1", state, 500, "RUB", error_code), "test")


# ---- the wallet's description -------------------------------------------------------------------

def test_wallet_info_fields() -> None:
    card, pin = INFO.fields
    assert (card.name, card.input_type, card.secret) == ("card", "tel", False)
    assert (pin.name, pin.input_type, pin.secret) == ("pin", "password", True)
    assert re.fullmatch(card.pattern, "7000000000000001") and not re.fullmatch(card.pattern, "7000 0000 0000 0001")
    assert re.fullmatch(pin.pattern, "1234") and not re.fullmatch(pin.pattern, "12345")
    assert INFO.accepts(300_000, "RUB") and not INFO.accepts(300_001, "RUB") and not INFO.accepts(500, "USD")


@pytest.mark.parametrize("ending", sorted(ENDINGS))
def test_example_accounts_are_valid_cards_with_their_magic(ending: str) -> None:
    account = PLUGIN.example_account(ending)
    details = PLUGIN.example_details(account)
    assert re.fullmatch(protocol.CARD_PATTERN, account) and account.endswith(ending)
    assert magic_of(account) is ENDINGS[ending]
    assert details == {"card": account, "pin": simulator.SANDBOX_PIN}
