"""The connector contract, run against each wallet's simulator over real HTTP.

Each wallet contributes a `WalletDriver` that knows its magic accounts and how a shopper
authorises; the tests themselves speak only the neutral contract. Only WebMoney exists
now: add a driver to DRIVERS to run a new wallet through the same tests.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import socket
import time
from dataclasses import dataclass, field
from typing import Awaitable, Callable, Mapping
from urllib.parse import parse_qsl, urlencode

import aiohttp
import pytest
from aiohttp import web

from kopek.providers.contract import (
    AttemptRequest, BadSignature, CallbackEvent, ConfirmationStyle, Connector, Outcome,
    ProviderError, ProviderResult,
)
from kopek.providers.sandbox.phone import SandboxPhone
from kopek.providers.webmoney import connector as wm_connector
from kopek.providers.webmoney import protocol as wm_protocol
from kopek.providers.webmoney import simulator as wm_simulator
from kopek.settings import Settings

TIME_SCALE = 0.01
TIMEOUT_S = 2.0
CALLBACK_WAIT_S = 5.0

Details = Mapping[str, str]


@dataclass(frozen=True)
class WalletDriver:
    """What the contract tests need to know about one wallet."""

    wallet: str
    mount: str                                                   # where the main app mounts the simulator
    create_simulator: Callable[..., web.Application]             # (phone=, time_scale=)
    create_connector: Callable[[str, aiohttp.ClientSession, float], Connector]  # (base_url, http, timeout_s)
    accounts: Mapping[str, Details]                              # scenario -> the shopper's form values
    currency: str
    amount: int
    authorise: Callable[[Harness, AttemptRequest, ProviderResult, bool], Awaitable[ProviderResult]]
    tamper_amount: Callable[[bytes], bytes]                      # a callback body with another amount
    set_duplicate_callbacks: Callable[[web.Application], None]
    notifies_declines: bool                                      # does a decline also arrive by callback?


# ---- WebMoney's driver -----------------------------------------------------------------

def _webmoney_connector(base_url: str, http: aiohttp.ClientSession, timeout_s: float) -> Connector:
    credentials = wm_connector.WebMoneyCredentials.from_settings(Settings(mode="sandbox"))
    return wm_connector.WebMoneyConnector(base_url=base_url, credentials=credentials, http=http, timeout_s=timeout_s)


async def _webmoney_authorise(h: Harness, request: AttemptRequest, started: ProviderResult,
                              right: bool) -> ProviderResult:
    """The shopper reads the code off the sandbox phone and types it (or a wrong one)."""
    assert started.outcome is Outcome.REQUIRES_CODE
    code = h.code_for(request)
    return await h.connector.confirm(started.provider_ref, code if right else _other_code(code))


def _other_code(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def _webmoney_tamper_amount(body: bytes) -> bytes:
    fields = dict(parse_qsl(body.decode()))
    fields["LMI_PAYMENT_AMOUNT"] = "0.01"
    return urlencode(fields).encode()


def _webmoney_duplicates(app: web.Application) -> None:
    app[wm_simulator.FAULTS].duplicate_callbacks = True


WEBMONEY = WalletDriver(
    wallet="webmoney",
    mount="/sandbox/providers/webmoney/",
    create_simulator=wm_simulator.create_simulator_app,
    create_connector=_webmoney_connector,
    accounts={
        "succeed": {"account": "+79160000001"},
        "decline": {"account": "R000000000002"},
        "insufficient_funds": {"account": "000000000003"},
        "slow": {"account": "Z000000000004"},
        "wrong_code": {"account": "+79160000005"},
        "not_found": {"account": "000000000009"},
        "other": {"account": "R123456789077"},
    },
    currency="RUB",
    amount=500,
    authorise=_webmoney_authorise,
    tamper_amount=_webmoney_tamper_amount,
    set_duplicate_callbacks=_webmoney_duplicates,
    notifies_declines=True,
)

DRIVERS = [WEBMONEY]


# ---- the harness ------------------------------------------------------------------------

@dataclass
class Callback:
    body: bytes
    headers: Mapping[str, str]


@dataclass
class Harness:
    driver: WalletDriver
    connector: Connector
    phone: SandboxPhone
    simulator: web.Application
    provider_url: str
    callback_url: str
    callbacks: asyncio.Queue[Callback]
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    def request(self, scenario: str) -> AttemptRequest:
        n = next(self._ids)
        return AttemptRequest(
            attempt_id=f"att_test{n}", payment_id=f"pay_test{n}", amount=self.driver.amount,
            currency=self.driver.currency, description="Sandbox tea",
            details=self.driver.accounts[scenario], callback_url=self.callback_url,
        )

    def code_for(self, request: AttemptRequest) -> str:
        messages = self.phone.messages(payment_id=request.payment_id)
        assert messages, "no code reached the sandbox phone"
        return messages[0].code

    async def next_callback(self) -> Callback:
        return await asyncio.wait_for(self.callbacks.get(), CALLBACK_WAIT_S)

    async def next_event(self) -> CallbackEvent:
        callback = await self.next_callback()
        return self.connector.parse_callback(callback.body, callback.headers)

    async def start_and_authorise(self, scenario: str) -> tuple[AttemptRequest, ProviderResult, ProviderResult]:
        request = self.request(scenario)
        started = await self.connector.start(request)
        return request, started, await self.authorise(request, started, right=True)

    async def authorise(self, request: AttemptRequest, started: ProviderResult, *, right: bool) -> ProviderResult:
        return await self.driver.authorise(self, request, started, right)


def _receiver_app(queue: asyncio.Queue[Callback], reply: Callable[[], web.Response]) -> web.Application:
    async def receive(request: web.Request) -> web.Response:
        await queue.put(Callback(await request.read(), dict(request.headers)))
        return reply()

    app = web.Application()
    app.router.add_post("/callbacks", receive)
    return app


@pytest.fixture
async def http() -> aiohttp.ClientSession:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture(params=DRIVERS, ids=lambda d: d.wallet)
async def harness(request, aiohttp_server, http: aiohttp.ClientSession) -> Harness:
    driver: WalletDriver = request.param
    phone = SandboxPhone()
    simulator = driver.create_simulator(phone=phone, time_scale=TIME_SCALE)
    main_app = web.Application()
    main_app.add_subapp(driver.mount, simulator)
    provider = await aiohttp_server(main_app)
    provider_url = str(provider.make_url(driver.mount.rstrip("/")))
    connector = driver.create_connector(provider_url, http, TIMEOUT_S)

    def reply() -> web.Response:
        answer = connector.callback_reply(True)
        return web.Response(status=answer.status, body=answer.body, content_type=answer.content_type)

    callbacks: asyncio.Queue[Callback] = asyncio.Queue()
    receiver = await aiohttp_server(_receiver_app(callbacks, reply))
    return Harness(driver, connector, phone, simulator, provider_url, str(receiver.make_url("/callbacks")), callbacks)


# ---- the contract ---------------------------------------------------------------------------

async def test_success_full_path(harness: Harness) -> None:
    request, started, authorised = await harness.start_and_authorise("succeed")
    assert authorised.outcome in (Outcome.PROCESSING, Outcome.SUCCEEDED)
    event = await harness.next_event()
    assert event.outcome is Outcome.SUCCEEDED
    assert (event.attempt_id, event.amount, event.currency) == (request.attempt_id, request.amount, request.currency)
    assert event.provider_ref == started.provider_ref
    assert event.failure_code is None


async def test_status_after_success_is_succeeded(harness: Harness) -> None:
    _, started, _ = await harness.start_and_authorise("succeed")
    await harness.next_event()
    status = await harness.connector.fetch_status(started.provider_ref)
    assert (status.outcome, status.provider_ref) == (Outcome.SUCCEEDED, started.provider_ref)


async def test_decline(harness: Harness) -> None:
    _, started, authorised = await harness.start_and_authorise("decline")
    assert (authorised.outcome, authorised.failure_code) == (Outcome.DECLINED, "declined")
    if harness.driver.notifies_declines:
        event = await harness.next_event()
        assert (event.outcome, event.failure_code) == (Outcome.DECLINED, "declined")
    status = await harness.connector.fetch_status(started.provider_ref)
    assert (status.outcome, status.failure_code) == (Outcome.DECLINED, "declined")


async def test_insufficient_funds(harness: Harness) -> None:
    request, _, authorised = await harness.start_and_authorise("insufficient_funds")
    if authorised.outcome is Outcome.DECLINED:
        assert authorised.failure_code == "insufficient_funds"
        return
    assert authorised.outcome is Outcome.PROCESSING
    event = await harness.next_event()
    assert (event.outcome, event.failure_code, event.attempt_id) == (
        Outcome.DECLINED, "insufficient_funds", request.attempt_id)


async def test_wallet_not_found_declines_at_start(harness: Harness) -> None:
    started = await harness.connector.start(harness.request("not_found"))
    assert (started.outcome, started.failure_code) == (Outcome.DECLINED, "wallet_not_found")


async def test_slow_wallet_is_processing_then_succeeds(harness: Harness) -> None:
    _, started, authorised = await harness.start_and_authorise("slow")
    assert authorised.outcome is Outcome.PROCESSING
    status = await harness.connector.fetch_status(started.provider_ref)
    assert status.outcome is Outcome.PROCESSING
    event = await harness.next_event()
    assert event.outcome is Outcome.SUCCEEDED


async def test_any_unlisted_account_succeeds(harness: Harness) -> None:
    await harness.start_and_authorise("other")
    assert (await harness.next_event()).outcome is Outcome.SUCCEEDED


async def test_tampered_callback_fails_verification(harness: Harness) -> None:
    await harness.start_and_authorise("succeed")
    callback = await harness.next_callback()
    with pytest.raises(BadSignature):
        harness.connector.parse_callback(harness.driver.tamper_amount(callback.body), callback.headers)


async def test_duplicate_callbacks_fault(harness: Harness) -> None:
    harness.driver.set_duplicate_callbacks(harness.simulator)
    await harness.start_and_authorise("succeed")
    first, second = await harness.next_event(), await harness.next_event()
    assert first == second and first.outcome is Outcome.SUCCEEDED


# ---- wallets that relay a code --------------------------------------------------------------

def needs_code(harness: Harness) -> None:
    if harness.connector.info.confirmation is not ConfirmationStyle.ENTER_CODE:
        pytest.skip(f"{harness.driver.wallet} does not relay a code")


async def test_code_reaches_the_sandbox_phone(harness: Harness) -> None:
    needs_code(harness)
    request = harness.request("succeed")
    started = await harness.connector.start(request)
    assert started.outcome is Outcome.REQUIRES_CODE
    [message] = harness.phone.messages(payment_id=request.payment_id)
    assert message.wallet == harness.driver.wallet
    assert len(message.code) == harness.connector.info.code_length and message.code.isdigit()
    assert message.code in message.text
    status = await harness.connector.fetch_status(started.provider_ref)
    assert status.outcome is Outcome.REQUIRES_CODE


async def test_wrong_code_then_right_code(harness: Harness) -> None:
    needs_code(harness)
    request = harness.request("succeed")
    started = await harness.connector.start(request)
    assert (await harness.authorise(request, started, right=False)).outcome is Outcome.WRONG_CODE
    assert (await harness.authorise(request, started, right=True)).outcome is Outcome.PROCESSING
    assert (await harness.next_event()).outcome is Outcome.SUCCEEDED


async def test_every_code_wrong_exhausts_the_tries(harness: Harness) -> None:
    needs_code(harness)
    request = harness.request("wrong_code")
    started = await harness.connector.start(request)
    answers = [await harness.authorise(request, started, right=True) for _ in range(4)]
    assert [a.outcome for a in answers] == [Outcome.WRONG_CODE, Outcome.WRONG_CODE, Outcome.DECLINED, Outcome.DECLINED]
    assert {a.failure_code for a in answers[2:]} == {"code_attempts_exceeded"}
    status = await harness.connector.fetch_status(started.provider_ref)
    assert (status.outcome, status.failure_code) == (Outcome.DECLINED, "code_attempts_exceeded")


# ---- an unreachable or broken provider ------------------------------------------------------

def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("driver", DRIVERS, ids=lambda d: d.wallet)
async def test_unreachable_provider_raises_quickly(driver: WalletDriver, http: aiohttp.ClientSession) -> None:
    connector = driver.create_connector(f"http://127.0.0.1:{_closed_port()}{driver.mount}", http, TIMEOUT_S)
    begun = time.monotonic()
    with pytest.raises(ProviderError):
        await connector.start(_plain_request(driver))
    assert time.monotonic() - begun < 1.0


def _broken_provider(answer: Callable[[], Awaitable[web.Response]]) -> web.Application:
    async def handle(request: web.Request) -> web.Response:
        return await answer()

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


async def _http_500() -> web.Response:
    return web.Response(status=500, text="oops")


async def _html() -> web.Response:
    return web.Response(text="<html><body>maintenance</body></html>", content_type="text/html")


async def _huge() -> web.Response:
    return web.Response(body=b"<merchant.response>" + b" " * (70 * 1024), content_type="text/xml")


async def _too_slow() -> web.Response:
    await asyncio.sleep(2)
    return web.Response(text="late")


@pytest.mark.parametrize("answer", [_http_500, _html, _huge, _too_slow], ids=lambda f: f.__name__.strip("_"))
@pytest.mark.parametrize("driver", DRIVERS, ids=lambda d: d.wallet)
async def test_broken_provider_raises_provider_error(driver: WalletDriver, answer, aiohttp_server,
                                                      http: aiohttp.ClientSession) -> None:
    server = await aiohttp_server(_broken_provider(answer))
    connector = driver.create_connector(str(server.make_url("/provider")), http, 0.3)
    with pytest.raises(ProviderError):
        await connector.start(_plain_request(driver))


def _plain_request(driver: WalletDriver) -> AttemptRequest:
    return AttemptRequest(
        attempt_id="att_plain", payment_id="pay_plain", amount=driver.amount, currency=driver.currency,
        description="Sandbox tea", details=driver.accounts["succeed"], callback_url="http://127.0.0.1:9/cb",
    )


# ---- WebMoney only ------------------------------------------------------------------------------

def test_sandbox_credentials_match_the_simulator() -> None:
    creds = wm_connector.WebMoneyCredentials.from_settings(Settings(mode="sandbox"))
    sandbox = wm_protocol.SANDBOX_CREDENTIALS
    assert (creds.wmid, creds.purses, creds.secret_key, creds.notify_secret) == (
        sandbox.wmid, sandbox.purses, sandbox.secret_key, sandbox.notify_secret)
    assert creds.secret_key not in repr(creds) and creds.notify_secret not in repr(creds)


LIVE_ENV = {
    "KOPEK_WEBMONEY_WMID": "123456789012",
    "KOPEK_WEBMONEY_PURSE_RUB": "P123456789012",
    "KOPEK_WEBMONEY_PURSE_USD": "Z123456789012",
    "KOPEK_WEBMONEY_SECRET_KEY": "live-secret",
    "KOPEK_WEBMONEY_NOTIFY_SECRET": "live-notify",
}


def test_live_credentials_come_from_env() -> None:
    creds = wm_connector.WebMoneyCredentials.from_settings(Settings(mode="live"), env=LIVE_ENV)
    assert (creds.wmid, dict(creds.purses)) == ("123456789012", {"RUB": "P123456789012", "USD": "Z123456789012"})
    assert (creds.secret_key, creds.notify_secret) == ("live-secret", "live-notify")


@pytest.mark.parametrize("change", [
    {"KOPEK_WEBMONEY_WMID": ""},
    {"KOPEK_WEBMONEY_SECRET_KEY": ""},
    {"KOPEK_WEBMONEY_NOTIFY_SECRET": ""},
    {"KOPEK_WEBMONEY_PURSE_RUB": "", "KOPEK_WEBMONEY_PURSE_USD": ""},
    {"KOPEK_WEBMONEY_PURSE_USD": "R123456789012"},
    {"KOPEK_WEBMONEY_WMID": "12345"},
])
def test_live_credentials_missing_or_wrong_raise(change: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="KOPEK_WEBMONEY_"):
        wm_connector.WebMoneyCredentials.from_settings(Settings(mode="live"), env={**LIVE_ENV, **change})


@pytest.mark.parametrize("harness", [WEBMONEY], ids=["webmoney"], indirect=True)
async def test_webmoney_request_with_a_wrong_key_is_refused(harness: Harness, http: aiohttp.ClientSession) -> None:
    sandbox = wm_protocol.SANDBOX_CREDENTIALS
    wrong = wm_connector.WebMoneyCredentials(sandbox.wmid, sandbox.purses, "not the key", sandbox.notify_secret)
    connector = wm_connector.WebMoneyConnector(base_url=harness.provider_url, credentials=wrong,
                                               http=http, timeout_s=TIMEOUT_S)
    with pytest.raises(ProviderError, match="signature"):
        await connector.start(harness.request("succeed"))


async def test_webmoney_currency_without_a_purse_is_a_provider_error(http: aiohttp.ClientSession) -> None:
    creds = wm_connector.WebMoneyCredentials.from_settings(Settings(mode="live"), env=LIVE_ENV)
    connector = wm_connector.WebMoneyConnector(base_url="http://127.0.0.1:9", credentials=creds,
                                               http=http, timeout_s=TIMEOUT_S)
    request = AttemptRequest("att_1", "pay_1", 500, "EUR", "Tea", {"account": "R123456789012"}, "http://x/cb")
    with pytest.raises(ProviderError, match="EUR"):
        await connector.start(request)


async def test_webmoney_callback_reply_is_plain_yes(http: aiohttp.ClientSession) -> None:
    connector = _webmoney_connector("http://127.0.0.1:9", http, TIMEOUT_S)
    reply = connector.callback_reply(True)
    assert (reply.status, reply.body, reply.content_type) == (200, b"YES", "text/plain")
    assert connector.callback_reply(False).status != 200


def test_webmoney_magic_accounts_are_valid_and_match_the_table() -> None:
    for example in wm_simulator.MAGIC_ACCOUNTS:
        assert re.fullmatch(wm_protocol.ACCOUNT_PATTERN, example.account)
        assert example.account.endswith(example.ending)
        assert wm_simulator.magic_of(example.account) is wm_simulator.MAGIC_ENDINGS[example.ending]
    assert {m.ending for m in wm_simulator.MAGIC_ACCOUNTS} == set(wm_simulator.MAGIC_ENDINGS)
