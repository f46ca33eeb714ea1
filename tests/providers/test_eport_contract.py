"""The e-port connector against its simulator over real HTTP: every magic ending, idempotent
starts, status fetches, notifications (duplicate, stale, forged) and broken providers."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import logging
import re
import socket
import time
from dataclasses import dataclass, field
from typing import Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web

from kopek.providers.contract import (
    AttemptRequest, BadSignature, CallbackEvent, Outcome, ProviderError, UnknownProviderStatus,
)
from kopek.providers.eport import PLUGIN, protocol
from kopek.providers.eport.connector import EportConnector, EportCredentials
from kopek.providers.eport.simulator import SIMULATOR, Simulator
from kopek.providers.sandbox.faults import FaultInjector, FaultSettings
from kopek.providers.sandbox.magic import FLAKY_FAILURES
from kopek.settings import Settings
from test_contract import Callback, serve_wallet

TIME_SCALE = 0.01
TIMEOUT_S = 2.0
CALLBACK_WAIT_S = 5.0
QUIET_S = 0.3          # long enough for a 1 s × TIME_SCALE debit to have notified
MOUNT = "/sandbox/providers/eport/"
PIN = "1234"  # the sandbox PIN; any other is wrong

SCENARIOS = {
    "succeed": "01", "decline": "02", "insufficient_funds": "03", "slow": "04", "wrong_pin": "05",
    "flaky": "06", "timeout": "07", "duplicate": "08", "not_found": "09", "out_of_order": "10",
    "never_answers": "11", "other": "77",
}


@dataclass
class Harness:
    connector: EportConnector
    faults: FaultInjector
    simulator: Simulator
    provider_url: str
    callback_url: str
    callbacks: asyncio.Queue[Callback]
    http: aiohttp.ClientSession
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    def request(self, scenario: str, **overrides: object) -> AttemptRequest:
        n = next(self._ids)
        account = PLUGIN.example_account(SCENARIOS[scenario])
        request = AttemptRequest(
            attempt_id=f"att_test{n}", payment_id=f"pay_test{n}", amount=500, currency="RUB",
            description="Sandbox tea", details={"account": account, "pin": PIN}, callback_url=self.callback_url,
        )
        return dataclasses.replace(request, **overrides)

    def connector_with(self, *, timeout_s: float = TIMEOUT_S, secret: str | None = None) -> EportConnector:
        sandbox = protocol.SANDBOX_CREDENTIALS
        creds = EportCredentials(sandbox.merchant_id, secret or sandbox.secret, sandbox.notify_secret)
        return EportConnector(base_url=self.provider_url, credentials=creds, http=self.http, timeout_s=timeout_s)

    async def next_callback(self) -> Callback:
        return await asyncio.wait_for(self.callbacks.get(), CALLBACK_WAIT_S)

    async def next_event(self) -> CallbackEvent:
        callback = await self.next_callback()
        return self.connector.parse_callback(callback.body, callback.headers)

    async def no_more_callbacks(self) -> None:
        await asyncio.sleep(QUIET_S)
        assert self.callbacks.empty()


@pytest.fixture
async def harness(aiohttp_server, http: aiohttp.ClientSession) -> Harness:
    served = await serve_wallet(aiohttp_server, PLUGIN, http, time_scale=TIME_SCALE, timeout_s=TIMEOUT_S)
    return Harness(served.connector, served.faults, served.simulator[SIMULATOR], served.provider_url,
                   served.callback_url, served.callbacks, http)


# ---- success ----------------------------------------------------------------------------------

@pytest.mark.parametrize("scenario", ["succeed", "other"])
async def test_success_via_notification(harness: Harness, scenario: str) -> None:
    request = harness.request(scenario)
    started = await harness.connector.start(request)
    assert (started.outcome, started.failure_code) == (Outcome.PROCESSING, None)
    assert started.provider_ref
    event = await harness.next_event()
    assert (event.outcome, event.failure_code, event.provider_ref) == (Outcome.SUCCEEDED, None, started.provider_ref)
    assert (event.attempt_id, event.amount, event.currency) == (request.attempt_id, request.amount, request.currency)
    status = await harness.connector.fetch_status(started.provider_ref)
    assert (status.outcome, status.provider_ref) == (Outcome.SUCCEEDED, started.provider_ref)
    await harness.no_more_callbacks()


async def test_usd_debit_succeeds(harness: Harness) -> None:
    request = harness.request("succeed", amount=10_000, currency="USD")
    await harness.connector.start(request)
    event = await harness.next_event()
    assert (event.outcome, event.amount, event.currency) == (Outcome.SUCCEEDED, 10_000, "USD")


# ---- failures decided at once -----------------------------------------------------------------

@pytest.mark.parametrize("scenario, failure_code", [
    ("decline", "declined"),
    ("insufficient_funds", "insufficient_funds"),
    ("wrong_pin", "incorrect_pin"),
    ("not_found", "wallet_not_found"),
])
async def test_immediate_failures(harness: Harness, scenario: str, failure_code: str) -> None:
    request = harness.request(scenario)
    started = await harness.connector.start(request)
    assert (started.outcome, started.failure_code) == (Outcome.DECLINED, failure_code)
    assert started.provider_ref and started.failure_message
    event = await harness.next_event()
    assert (event.outcome, event.failure_code, event.provider_ref, event.attempt_id) == (
        Outcome.DECLINED, failure_code, started.provider_ref, request.attempt_id)
    status = await harness.connector.fetch_status(started.provider_ref)
    assert (status.outcome, status.failure_code) == (Outcome.DECLINED, failure_code)


async def test_amount_over_the_limit_is_declined(harness: Harness) -> None:
    started = await harness.connector.start(harness.request("succeed", amount=500_001))
    assert (started.outcome, started.failure_code) == (Outcome.DECLINED, "limit_exceeded")


# ---- idempotency --------------------------------------------------------------------------------

async def test_repeated_start_returns_the_same_debit(harness: Harness) -> None:
    request = harness.request("succeed")
    first, second = await asyncio.gather(harness.connector.start(request), harness.connector.start(request))
    assert first.provider_ref == second.provider_ref
    assert {first.outcome, second.outcome} == {Outcome.PROCESSING}
    assert (await harness.next_event()).outcome is Outcome.SUCCEEDED
    again = await harness.connector.start(request)
    assert (again.outcome, again.provider_ref) == (Outcome.SUCCEEDED, first.provider_ref)
    await harness.no_more_callbacks()
    assert len(harness.simulator.debits) == 1


async def test_repeated_failed_start_returns_the_same_failure(harness: Harness) -> None:
    request = harness.request("wrong_pin")
    first = await harness.connector.start(request)
    second = await harness.connector.start(request)
    assert first == second and first.failure_code == "incorrect_pin"


async def test_reusing_an_attempt_id_for_another_amount_is_refused(harness: Harness) -> None:
    request = harness.request("succeed")
    await harness.connector.start(request)
    with pytest.raises(ProviderError, match="merchant_reference"):
        await harness.connector.start(dataclasses.replace(request, amount=request.amount + 1))


# ---- slow, flaky, timing out, never finishing -------------------------------------------------------

async def test_fetch_status_follows_a_slow_debit(harness: Harness) -> None:
    started = await harness.connector.start(harness.request("slow"))
    assert started.outcome is Outcome.PROCESSING
    status = await harness.connector.fetch_status(started.provider_ref)
    assert (status.outcome, status.provider_ref) == (Outcome.PROCESSING, started.provider_ref)
    assert (await harness.next_event()).outcome is Outcome.SUCCEEDED
    assert (await harness.connector.fetch_status(started.provider_ref)).outcome is Outcome.SUCCEEDED


async def test_flaky_provider_recovers_within_one_call(harness: Harness) -> None:
    request = harness.request("flaky")
    started = await harness.connector.start(request)
    assert started.outcome is Outcome.PROCESSING
    assert harness.simulator._busy_answers[request.attempt_id] == FLAKY_FAILURES
    assert (await harness.next_event()).outcome is Outcome.SUCCEEDED


async def test_timeout_raises_provider_error_quickly(harness: Harness) -> None:
    connector = harness.connector_with(timeout_s=0.2)
    begun = time.monotonic()
    with pytest.raises(ProviderError):
        await connector.start(harness.request("timeout"))
    assert time.monotonic() - begun < 2.0
    assert not harness.simulator.debits


async def test_never_answers_stays_processing_without_notification(harness: Harness) -> None:
    started = await harness.connector.start(harness.request("never_answers"))
    assert started.outcome is Outcome.PROCESSING
    await harness.no_more_callbacks()
    status = await harness.connector.fetch_status(started.provider_ref)
    assert (status.outcome, status.failure_code) == (Outcome.PROCESSING, None)


async def test_status_of_an_unknown_debit_is_a_provider_error(harness: Harness) -> None:
    with pytest.raises(ProviderError, match="no such debit"):
        await harness.connector.fetch_status("dbt_000000000000000000000000")


# ---- notifications --------------------------------------------------------------------------------

async def test_duplicate_notices_are_identical(harness: Harness) -> None:
    await harness.connector.start(harness.request("duplicate"))
    first, second = await harness.next_event(), await harness.next_event()
    assert first == second and first.outcome is Outcome.SUCCEEDED


async def test_stale_notice_after_the_final_one_parses_as_processing(harness: Harness) -> None:
    started = await harness.connector.start(harness.request("out_of_order"))
    final, stale = await harness.next_event(), await harness.next_event()
    assert final.outcome is Outcome.SUCCEEDED
    assert (stale.outcome, stale.raw_status, stale.provider_ref) == (Outcome.PROCESSING, "processing",
                                                                      started.provider_ref)


async def test_forged_notice_fails_verification(harness: Harness) -> None:
    harness.faults.settings = FaultSettings(bad_signatures=1.0)
    await harness.connector.start(harness.request("succeed"))
    callback = await harness.next_callback()
    with pytest.raises(BadSignature):
        harness.connector.parse_callback(callback.body, callback.headers)


async def test_tampered_notice_fails_verification(harness: Harness) -> None:
    await harness.connector.start(harness.request("succeed"))
    callback = await harness.next_callback()
    payload = json.loads(callback.body)
    payload["amount"] = 1
    with pytest.raises(BadSignature):
        harness.connector.parse_callback(json.dumps(payload).encode(), callback.headers)


async def test_notices_are_signed_json(harness: Harness) -> None:
    await harness.connector.start(harness.request("succeed"))
    callback = await harness.next_callback()
    headers = {name.lower(): value for name, value in callback.headers.items()}
    assert headers["content-type"].startswith("application/json")
    assert headers["x-eport-signature"] == protocol.sign(callback.body, protocol.SANDBOX_CREDENTIALS.notify_secret)
    assert set(json.loads(callback.body)) == {"debit_id", "merchant_reference", "state", "amount", "currency",
                                              "failure_result", "sent_at"}


# ---- authentication and the PIN -------------------------------------------------------------------

async def test_request_with_a_wrong_key_is_refused(harness: Harness) -> None:
    with pytest.raises(ProviderError, match="signature"):
        await harness.connector_with(secret="not the key").start(harness.request("succeed"))


async def test_unsigned_request_is_refused_by_the_simulator(harness: Harness) -> None:
    body = json.dumps({"debit_id": "dbt_1"}).encode()
    async with harness.http.post(harness.provider_url + protocol.STATUS_PATH, data=body) as response:
        assert response.status == 401
        assert (await response.json())["result"] == protocol.Result.SECURITY_VIOLATION


async def test_the_pin_is_never_logged_or_stored(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for scenario in ("succeed", "wrong_pin", "flaky"):
        started = await harness.connector.start(harness.request(scenario))
        await harness.next_event()
        await harness.connector.fetch_status(started.provider_ref)
    assert caplog.records
    assert not re.search(rf"(?<![0-9]){PIN}(?![0-9])", caplog.text) and '"pin"' not in caplog.text
    for debit in harness.simulator.debits.values():
        assert PIN not in repr(debit) and "pin" not in vars(debit)


async def test_fault_injection_reaches_the_provider_api(harness: Harness) -> None:
    harness.faults.settings = FaultSettings(error_rate=1.0)
    with pytest.raises(ProviderError):
        await harness.connector.start(harness.request("succeed"))
    assert harness.faults.injected["error_rate"] == 3


# ---- unreachable and broken providers --------------------------------------------------------------

def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _plain_request() -> AttemptRequest:
    return AttemptRequest("att_1", "pay_1", 500, "RUB", "Tea", {"account": "1000000001", "pin": PIN},
                          "http://127.0.0.1:9/cb")


def _connector(base_url: str, http: aiohttp.ClientSession, timeout_s: float) -> EportConnector:
    return EportConnector(base_url=base_url, http=http, timeout_s=timeout_s,
                          credentials=EportCredentials.from_settings(Settings(mode="sandbox")))


async def test_unreachable_provider_raises_quickly(http: aiohttp.ClientSession) -> None:
    begun = time.monotonic()
    with pytest.raises(ProviderError):
        await _connector(f"http://127.0.0.1:{_closed_port()}{MOUNT}", http, TIMEOUT_S).start(_plain_request())
    assert time.monotonic() - begun < 1.0


def _answering(status: int, body: bytes, *, content_type: str = "application/json",
               delay_s: float = 0.0) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def answer(request: web.Request) -> web.Response:
        await asyncio.sleep(delay_s)
        return web.Response(status=status, body=body, content_type=content_type)

    return answer


BROKEN = {
    "http_500": _answering(500, b'{"result":96}'),
    "busy_503": _answering(503, b'{"result":91}'),
    "html": _answering(200, b"<html><body>maintenance</body></html>", content_type="text/html"),
    "huge": _answering(200, b'{"result":0,"message":"' + b" " * (70 * 1024) + b'"}'),
    "too_slow": _answering(200, b'{"result":0}', delay_s=2.0),
    "no_operation": _answering(200, b'{"result":0,"message":"accepted"}'),
    "refusal_with_200": _answering(200, b'{"result":63}'),
    "proxy_404": _answering(404, b"not found", content_type="text/plain"),
    "other_reference": _answering(200, protocol.answer_json(
        protocol.Result.ACCEPTED, "", protocol.Operation("dbt_1", "att_other", 500, "RUB", "processing"))),
}


@pytest.mark.parametrize("answer", BROKEN.values(), ids=BROKEN.keys())
async def test_broken_provider_raises_provider_error(answer, aiohttp_server, http: aiohttp.ClientSession) -> None:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    server = await aiohttp_server(app)
    begun = time.monotonic()
    with pytest.raises(ProviderError):
        await _connector(str(server.make_url("/provider")), http, 0.3).start(_plain_request())
    assert time.monotonic() - begun < 3.0


async def test_unknown_result_raises_unknown_provider_status(aiohttp_server, http: aiohttp.ClientSession) -> None:
    app = web.Application()
    operation = protocol.Operation("dbt_1", "att_1", 500, "RUB", "mystery")
    body = json.dumps({"result": 42, "operation": operation.to_json()}).encode()
    app.router.add_route("*", "/{tail:.*}", _answering(200, body))
    server = await aiohttp_server(app)
    connector = _connector(str(server.make_url("/provider")), http, TIMEOUT_S)
    with pytest.raises(UnknownProviderStatus):
        await connector.start(_plain_request())
    with pytest.raises(UnknownProviderStatus):
        await connector.fetch_status("dbt_1")



@pytest.mark.parametrize("pin", ["0000", "4321", "1235"])
async def test_only_the_sandbox_pin_is_right(harness: Harness, pin: str) -> None:
    request = harness.request("succeed")
    started = await harness.connector.start(dataclasses.replace(request, details={**request.details, "pin": pin}))
    assert (started.outcome, started.failure_code) == (Outcome.DECLINED, "incorrect_pin")
