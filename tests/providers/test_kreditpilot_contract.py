"""KreditPilot's connector against its simulator over real HTTP: every magic card, balances,
idempotency, notifications (duplicates, stale, forged, replayed) and the PIN's secrecy."""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import time
from dataclasses import dataclass, field

import aiohttp
import pytest

from kopek.providers.contract import AttemptRequest, BadSignature, CallbackEvent, Outcome, ProviderError
from kopek.providers.kreditpilot import PLUGIN, protocol, simulator
from kopek.providers.kreditpilot.connector import KreditPilotConnector, KreditPilotCredentials
from kopek.providers.sandbox.faults import FaultInjector, FaultSettings
from kopek.settings import Settings
from test_contract import Callback, serve_wallet

TIME_SCALE = 0.01
TIMEOUT_S = 2.0
CALLBACK_WAIT_S = 5.0
PIN = simulator.SANDBOX_PIN
WRONG_PIN = "9731"


def card(ending: str) -> str:
    return PLUGIN.example_account(ending)


@dataclass
class Harness:
    connector: KreditPilotConnector
    simulator: simulator.Simulator
    faults: FaultInjector
    http: aiohttp.ClientSession
    provider_url: str
    callback_url: str
    callbacks: asyncio.Queue[Callback]
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    def request(self, ending: str = "01", *, amount: int = 500, pin: str = PIN, attempt_id: str = "") -> AttemptRequest:
        n = next(self._ids)
        return AttemptRequest(
            attempt_id=attempt_id or f"att_kp{n}", payment_id=f"pay_kp{n}", amount=amount, currency="RUB",
            description="Sandbox tea", details={"card": card(ending), "pin": pin}, callback_url=self.callback_url,
        )

    def connector_with(self, *, credentials: protocol.MerchantCredentials | None = None,
                       clock_offset_s: float = 0.0, timeout_s: float = TIMEOUT_S) -> KreditPilotConnector:
        return KreditPilotConnector(base_url=self.provider_url, credentials=credentials or _sandbox_credentials(),
                                    http=self.http, timeout_s=timeout_s, clock=lambda: time.time() + clock_offset_s)

    async def next_callback(self) -> Callback:
        return await asyncio.wait_for(self.callbacks.get(), CALLBACK_WAIT_S)

    async def next_event(self) -> CallbackEvent:
        callback = await self.next_callback()
        return self.connector.parse_callback(callback.body, callback.headers)

    async def no_callback_within(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self.callbacks.get(), seconds)
        except asyncio.TimeoutError:
            return True
        return False


def _sandbox_credentials() -> KreditPilotCredentials:
    return KreditPilotCredentials.from_settings(Settings(mode="sandbox"))


@pytest.fixture
async def kp(aiohttp_server, http: aiohttp.ClientSession) -> Harness:
    served = await serve_wallet(aiohttp_server, PLUGIN, http, time_scale=TIME_SCALE, timeout_s=TIMEOUT_S)
    assert isinstance(served.connector, KreditPilotConnector)
    return Harness(served.connector, served.simulator[simulator.SIMULATOR], served.faults, http, served.provider_url,
                   served.callback_url, served.callbacks)


# ---- the happy path and balances -----------------------------------------------------------------

async def test_success_holds_then_captures_and_notifies(kp: Harness) -> None:
    request = kp.request("01")
    started = await kp.connector.start(request)
    assert (started.outcome, started.raw_status) == (Outcome.PROCESSING, "hold")
    assert started.provider_ref and protocol.CHARGE_ID_PATTERN.fullmatch(started.provider_ref)
    event = await kp.next_event()
    assert (event.outcome, event.provider_ref, event.attempt_id, event.amount, event.currency, event.failure_code) == (
        Outcome.SUCCEEDED, started.provider_ref, request.attempt_id, 500, "RUB", None)
    status = await kp.connector.fetch_status(started.provider_ref)
    assert (status.outcome, status.provider_ref, status.raw_status) == (
        Outcome.SUCCEEDED, started.provider_ref, "captured")


async def test_balance_goes_down_and_a_charge_beyond_it_is_insufficient(kp: Harness) -> None:
    number = card("01")
    assert await kp.connector.card_balance(number, PIN) == simulator.DEFAULT_BALANCE
    first = await kp.connector.start(kp.request("01", amount=60_000))
    assert first.outcome is Outcome.PROCESSING
    assert await kp.connector.card_balance(number, PIN) == simulator.DEFAULT_BALANCE - 60_000
    second = await kp.connector.start(kp.request("01", amount=60_000))
    assert (second.outcome, second.failure_code) == (Outcome.DECLINED, "insufficient_funds")
    assert second.provider_ref and second.provider_ref != first.provider_ref
    assert await kp.connector.card_balance(number, PIN) == simulator.DEFAULT_BALANCE - 60_000
    status = await kp.connector.fetch_status(second.provider_ref)
    assert (status.outcome, status.failure_code, status.raw_status) == (
        Outcome.DECLINED, "insufficient_funds", "rejected")
    assert (await kp.connector.start(kp.request("01", amount=40_000))).outcome is Outcome.PROCESSING
    assert await kp.connector.card_balance(number, PIN) == 0


async def test_magic_03_holds_ten_kopecks(kp: Harness) -> None:
    assert await kp.connector.card_balance(card("03"), PIN) == simulator.LOW_BALANCE
    declined = await kp.connector.start(kp.request("03", amount=11))
    assert (declined.outcome, declined.failure_code) == (Outcome.DECLINED, "insufficient_funds")
    assert (await kp.connector.start(kp.request("03", amount=10))).outcome is Outcome.PROCESSING


async def test_a_retried_start_returns_the_same_charge_and_charges_once(kp: Harness) -> None:
    request = kp.request("01", amount=1_000)
    first, again = await kp.connector.start(request), await kp.connector.start(request)
    assert first == again
    assert await kp.connector.card_balance(card("01"), PIN) == simulator.DEFAULT_BALANCE - 1_000


async def test_reusing_an_attempt_id_for_another_amount_is_refused(kp: Harness) -> None:
    await kp.connector.start(kp.request("01", attempt_id="att_same"))
    with pytest.raises(ProviderError, match="order_ref"):
        await kp.connector.start(kp.request("01", amount=700, attempt_id="att_same"))


# ---- declines at start ------------------------------------------------------------------------

@pytest.mark.parametrize("ending, pin, failure", [
    ("02", PIN, "declined"),
    ("05", PIN, "incorrect_pin"),
    ("01", WRONG_PIN, "incorrect_pin"),
    ("09", PIN, "wallet_not_found"),
])
async def test_declines_at_start(kp: Harness, ending: str, pin: str, failure: str) -> None:
    started = await kp.connector.start(kp.request(ending, pin=pin))
    assert (started.outcome, started.failure_code) == (Outcome.DECLINED, failure)
    assert started.provider_ref
    status = await kp.connector.fetch_status(started.provider_ref)
    assert (status.outcome, status.failure_code) == (Outcome.DECLINED, failure)
    assert await kp.no_callback_within(0.1)


async def test_the_balance_of_a_missing_card_or_with_a_wrong_pin_is_refused(kp: Harness) -> None:
    with pytest.raises(ProviderError, match="wallet_not_found"):
        await kp.connector.card_balance(card("09"), PIN)
    with pytest.raises(ProviderError, match="incorrect_pin") as raised:
        await kp.connector.card_balance(card("01"), WRONG_PIN)
    assert WRONG_PIN not in str(raised.value)


# ---- slow, stuck, flaky and hanging providers ---------------------------------------------------

async def test_slow_card_is_processing_then_succeeds(kp: Harness) -> None:
    started = await kp.connector.start(kp.request("04"))
    assert (await kp.connector.fetch_status(started.provider_ref)).outcome is Outcome.PROCESSING
    assert (await kp.next_event()).outcome is Outcome.SUCCEEDED


async def test_never_answers_stays_on_hold(kp: Harness) -> None:
    started = await kp.connector.start(kp.request("11"))
    assert started.outcome is Outcome.PROCESSING
    assert await kp.no_callback_within(0.2)
    status = await kp.connector.fetch_status(started.provider_ref)
    assert (status.outcome, status.raw_status) == (Outcome.PROCESSING, "hold")


async def test_flaky_provider_recovers_within_one_call(kp: Harness) -> None:
    request = kp.request("06")
    started = await kp.connector.start(request)
    assert started.outcome is Outcome.PROCESSING   # test_contract.py counts the 503s on the way
    assert (await kp.next_event()).outcome is Outcome.SUCCEEDED


async def test_timeout_raises_provider_error_quickly(kp: Harness) -> None:
    connector = kp.connector_with(timeout_s=0.2)
    begun = time.monotonic()
    with pytest.raises(ProviderError):
        await connector.start(kp.request("07"))
    assert time.monotonic() - begun < 2.0


async def test_injected_503s_are_retried(kp: Harness) -> None:
    kp.faults.settings = FaultSettings(error_rate=1.0)
    with pytest.raises(ProviderError, match="503"):
        await kp.connector.start(kp.request("01"))
    assert kp.faults.injected["error_rate"] == 3


# ---- authentication ------------------------------------------------------------------------------

async def test_a_request_with_a_wrong_secret_is_refused(kp: Harness) -> None:
    wrong = protocol.MerchantCredentials(protocol.SANDBOX_CREDENTIALS.key_id, "not the secret", "x")
    with pytest.raises(ProviderError, match="authentication failed"):
        await kp.connector_with(credentials=wrong).start(kp.request("01"))


@pytest.mark.parametrize("offset_s", [-(protocol.REPLAY_WINDOW_S + 5), protocol.REPLAY_WINDOW_S + 5])
async def test_a_request_outside_the_replay_window_is_refused(kp: Harness, offset_s: float) -> None:
    with pytest.raises(ProviderError, match="authentication failed"):
        await kp.connector_with(clock_offset_s=offset_s).fetch_status("ch_" + "0" * 24)


async def test_an_unknown_charge_is_a_provider_error(kp: Harness) -> None:
    with pytest.raises(ProviderError, match="charge not found"):
        await kp.connector.fetch_status("ch_" + "0" * 24)
    with pytest.raises(ProviderError, match="not a KreditPilot charge id"):
        await kp.connector.fetch_status("R100000000001:42")


# ---- notifications ------------------------------------------------------------------------------

async def test_duplicate_notices_parse_the_same(kp: Harness) -> None:
    await kp.connector.start(kp.request("08"))
    first, second = await kp.next_event(), await kp.next_event()
    assert first == second and first.outcome is Outcome.SUCCEEDED


async def test_stale_notice_after_the_final_one_is_processing(kp: Harness) -> None:
    started = await kp.connector.start(kp.request("10"))
    final, stale = await kp.next_event(), await kp.next_event()
    assert final.outcome is Outcome.SUCCEEDED
    assert (stale.outcome, stale.raw_status, stale.provider_ref) == (Outcome.PROCESSING, "hold", started.provider_ref)


async def test_forged_notices_fail_verification(kp: Harness) -> None:
    kp.faults.settings = FaultSettings(bad_signatures=1.0)
    await kp.connector.start(kp.request("01"))
    callback = await kp.next_callback()
    with pytest.raises(BadSignature):
        kp.connector.parse_callback(callback.body, callback.headers)


async def test_a_replayed_notification_is_rejected(kp: Harness) -> None:
    await kp.connector.start(kp.request("01"))
    callback = await kp.next_callback()
    assert kp.connector.parse_callback(callback.body, callback.headers).outcome is Outcome.SUCCEEDED
    later = kp.connector_with(clock_offset_s=protocol.REPLAY_WINDOW_S + 1)
    with pytest.raises(BadSignature, match="replayed"):
        later.parse_callback(callback.body, callback.headers)


async def test_a_tampered_notification_fails(kp: Harness) -> None:
    await kp.connector.start(kp.request("01"))
    callback = await kp.next_callback()
    with pytest.raises(BadSignature):
        kp.connector.parse_callback(callback.body.replace(b'"amount":500', b'"amount":1'), callback.headers)


async def test_headers_are_read_case_insensitively(kp: Harness) -> None:
    await kp.connector.start(kp.request("01"))
    callback = await kp.next_callback()
    lowered = {k.lower(): v for k, v in callback.headers.items()}
    assert kp.connector.parse_callback(callback.body, lowered).outcome is Outcome.SUCCEEDED


def test_sandbox_credentials_match_the_simulator_and_hide_their_secrets() -> None:
    creds = _sandbox_credentials()
    sandbox = protocol.SANDBOX_CREDENTIALS
    assert (creds.key_id, creds.secret, creds.notify_secret) == (sandbox.key_id, sandbox.secret, sandbox.notify_secret)
    assert creds.secret not in repr(creds) and creds.notify_secret not in repr(creds)


LIVE_ENV = {"KOPEK_KREDITPILOT_KEY_ID": "kp_live_1", "KOPEK_KREDITPILOT_SECRET": "live-secret",
            "KOPEK_KREDITPILOT_NOTIFY_SECRET": "live-notify"}


def test_live_credentials_come_from_env() -> None:
    creds = KreditPilotCredentials.from_settings(Settings(mode="live"), env=LIVE_ENV)
    assert (creds.key_id, creds.secret, creds.notify_secret) == ("kp_live_1", "live-secret", "live-notify")


@pytest.mark.parametrize("change", [
    {"KOPEK_KREDITPILOT_KEY_ID": ""}, {"KOPEK_KREDITPILOT_SECRET": " "},
    {"KOPEK_KREDITPILOT_NOTIFY_SECRET": ""}, {"KOPEK_KREDITPILOT_KEY_ID": "kp live, x"},
])
def test_live_credentials_missing_or_wrong_raise(change: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="KOPEK_KREDITPILOT_"):
        KreditPilotCredentials.from_settings(Settings(mode="live"), env={**LIVE_ENV, **change})


def test_callback_reply() -> None:
    connector = KreditPilotConnector(base_url="http://127.0.0.1:9", credentials=_sandbox_credentials(),
                                     http=None, timeout_s=1.0)  # type: ignore[arg-type]
    assert (connector.callback_reply(True).status, connector.callback_reply(True).body) == (200, b"OK")
    assert (connector.callback_reply(False).status, connector.callback_reply(False).body) == (400, b"REJECTED")


async def test_confirm_and_resend_are_not_used(kp: Harness) -> None:
    with pytest.raises(ProviderError):
        await kp.connector.confirm("ch_" + "0" * 24, "123456")
    with pytest.raises(ProviderError):
        await kp.connector.resend_code("ch_" + "0" * 24)


# ---- the PIN's secrecy -----------------------------------------------------------------------

def _mentions_pin(text: str) -> bool:
    return re.search(rf"(?<![0-9a-f]){WRONG_PIN}(?![0-9a-f])", text) is not None


async def test_the_pin_never_reaches_logs_results_or_errors(kp: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    results = [await kp.connector.start(kp.request(ending, pin=WRONG_PIN)) for ending in ("01", "09")]
    errors = []
    for connector, ending in ((kp.connector_with(timeout_s=0.1), "07"),
                              (kp.connector_with(clock_offset_s=-3600), "01")):
        with pytest.raises(ProviderError) as raised:
            await connector.start(kp.request(ending, pin=WRONG_PIN))
        errors.append(raised.value)
    shown = [repr(r) for r in results] + [f"{e!s} {e!r} {e.__cause__!r} {e.__context__!r}" for e in errors]
    shown += [record.getMessage() for record in caplog.records]
    shown += [repr(c) for c in kp.simulator.charges.values()]
    assert not any(_mentions_pin(text) for text in shown)
