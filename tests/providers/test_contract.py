"""The connector contract, run against every wallet's simulator over real HTTP.

Each wallet contributes a `WalletDriver`: its plugin, and how a shopper authorises and how
a callback body is tampered with. The tests speak only the neutral contract and the shared
magic endings (kopek.providers.sandbox.magic). To add a wallet, write its driver in the
"drivers" section below and append it to DRIVERS. `serve_wallet` (the fixtures section) is the
harness that the wallets' own test files serve their simulators with, too.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import socket
import time
from dataclasses import dataclass, field
from html import unescape
from typing import Awaitable, Callable, Mapping
from urllib.parse import parse_qsl, urlencode

import aiohttp
import pytest
from aiohttp import web
from yarl import URL

from kopek.providers import eport
from kopek.providers import kreditpilot
from kopek.providers import webmoney
from kopek.providers import yandex_dengi
from kopek.providers.contract import (
    AttemptRequest, BadSignature, CallbackEvent, ConfirmationStyle, Connector, Outcome,
    ProviderError, ProviderResult, RefundOutcome,
)
from kopek.providers.plugin import SimulatorContext, WalletPlugin
from kopek.providers.sandbox.faults import FaultInjector, FaultSettings
from kopek.providers.sandbox.magic import FLAKY_FAILURES, MAGIC_ROWS, Magic
from kopek.providers.sandbox.phone import SandboxPhone
from kopek.providers.webmoney import protocol as wm_protocol
from kopek.reconcile.statements import parse
from kopek.settings import Settings

TIME_SCALE = 0.01
TIMEOUT_S = 2.0
SHORT_TIMEOUT_S = 0.3
CALLBACK_WAIT_S = 5.0
QUIET_WAIT_S = 0.3               # long enough for any notice at TIME_SCALE to have arrived
UNLISTED_ENDING = "77"

ENDING_OF: Mapping[Magic, str] = {row.magic: row.ending for row in MAGIC_ROWS}
NOT_FINAL = (Outcome.REQUIRES_CODE, Outcome.REQUIRES_APPROVAL, Outcome.PROCESSING)

Details = Mapping[str, str]


@dataclass(frozen=True)
class WalletDriver:
    """What the contract tests need to know about one wallet."""

    plugin: WalletPlugin
    currency: str
    amount: int
    # The shopper authorises a started attempt (right=False: with a wrong code/PIN).
    authorise: Callable[[Harness, AttemptRequest, ProviderResult, bool], Awaitable[ProviderResult]]
    tamper_amount: Callable[[bytes], bytes]          # the same callback body with another amount
    notifies_declines: bool                          # does a decline also arrive by callback?
    resend_limit: int = 0                            # resends allowed per attempt (can_resend_code wallets)
    # magic ending -> the shopper's form values; by default the plugin's example account
    details: Callable[[str], Details] | None = None

    @property
    def wallet(self) -> str:
        return self.plugin.info.id

    @property
    def mount(self) -> str:
        return f"/sandbox/providers/{self.wallet}/"

    def details_for(self, ending: str) -> Details:
        if self.details is not None:
            return self.details(ending)
        return self.plugin.example_details(self.plugin.example_account(ending))

    def create_connector(self, base_url: str, http: aiohttp.ClientSession, timeout_s: float) -> Connector:
        settings = Settings(mode="sandbox", provider_timeout_s=timeout_s)
        return self.plugin.build_connector(base_url, settings, http)


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
    faults: FaultInjector
    simulator: web.Application
    provider_url: str
    callback_url: str
    callbacks: asyncio.Queue[Callback]
    answers: list[tuple[str, int]]              # (path, HTTP status) of every provider answer
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    def request(self, scenario: Magic | str) -> AttemptRequest:
        """An attempt for a magic scenario, or for a literal account ending."""
        ending = ENDING_OF[scenario] if isinstance(scenario, Magic) else scenario
        n = next(self._ids)
        return AttemptRequest(
            attempt_id=f"att_test{n}", payment_id=f"pay_test{n}", amount=self.driver.amount,
            currency=self.driver.currency, description="Sandbox tea",
            details=self.driver.details_for(ending), callback_url=self.callback_url,
        )

    def codes_for(self, request: AttemptRequest) -> list[str]:
        return [message.code for message in self.phone.messages(payment_id=request.payment_id)]

    def code_for(self, request: AttemptRequest) -> str:
        codes = self.codes_for(request)
        assert codes, "no code reached the sandbox phone"
        return codes[0]

    def statuses(self) -> list[int]:
        return [status for _, status in self.answers]

    async def next_callback(self) -> Callback:
        return await asyncio.wait_for(self.callbacks.get(), CALLBACK_WAIT_S)

    async def next_event(self) -> CallbackEvent:
        callback = await self.next_callback()
        return self.connector.parse_callback(callback.body, callback.headers)

    async def start_and_authorise(self, scenario: Magic | str) -> tuple[AttemptRequest, ProviderResult, ProviderResult]:
        request = self.request(scenario)
        started = await self.connector.start(request)
        return request, started, await self.authorise(request, started, right=True)

    async def authorise(self, request: AttemptRequest, started: ProviderResult, *, right: bool) -> ProviderResult:
        return await self.driver.authorise(self, request, started, right)


# ---- drivers ----------------------------------------------------------------------------

async def authorise_with_phone_code(h: Harness, request: AttemptRequest, started: ProviderResult,
                                    right: bool) -> ProviderResult:
    """ENTER_CODE wallets: the shopper reads the code off the sandbox phone and types it (or a wrong one)."""
    assert started.outcome is Outcome.REQUIRES_CODE and started.provider_ref
    code = h.code_for(request)
    return await h.connector.confirm(started.provider_ref, code if right else _other_code(code))


def _other_code(code: str) -> str:
    return str((int(code) + 1) % 10 ** len(code)).zfill(len(code))


def _webmoney_details(ending: str) -> Details:
    """Each ending in one of WebMoney's account styles: phone, purse, WMID, dollar purse."""
    styles = (f"+791600000{ending}", f"R0000000000{ending}", f"0000000000{ending}", f"Z0000000000{ending}")
    return {"account": styles[int(ending) % len(styles)]}


def _webmoney_tamper_amount(body: bytes) -> bytes:
    fields = dict(parse_qsl(body.decode()))
    fields["LMI_PAYMENT_AMOUNT"] = "0.01"
    return urlencode(fields).encode()


WEBMONEY = WalletDriver(
    plugin=webmoney.PLUGIN,
    currency="RUB",
    amount=500,
    authorise=authorise_with_phone_code,
    tamper_amount=_webmoney_tamper_amount,
    notifies_declines=True,
    resend_limit=wm_protocol.MAX_RESENDS,
    details=_webmoney_details,
)

async def _yandex_dengi_authorise(h: Harness, request: AttemptRequest, started: ProviderResult,
                                  right: bool) -> ProviderResult:
    """The shopper opens the approval page and presses Approve (right=False: Decline), as a browser would."""
    assert started.outcome is Outcome.REQUIRES_APPROVAL and started.provider_ref and started.next_action_url
    async with aiohttp.ClientSession() as browser:
        async with browser.get(started.next_action_url) as page:
            html = await page.text()
        fields = {name: unescape(value) for name, value in
                  re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', html)}
        [action] = re.findall(r'<form method="post" action="([^"]+)"', html)
        fields["decision"] = "approve" if right else "decline"
        async with browser.post(URL(started.next_action_url).join(URL(action)), data=fields) as answer:
            assert answer.status == 200, await answer.text()
    return await h.connector.fetch_status(started.provider_ref)


def _yandex_dengi_tamper_amount(body: bytes) -> bytes:
    fields = dict(parse_qsl(body.decode()))
    fields["amount"] = "0.01"
    return urlencode(fields).encode()


YANDEX_DENGI = WalletDriver(
    plugin=yandex_dengi.PLUGIN,
    currency="RUB",
    amount=500,
    authorise=_yandex_dengi_authorise,
    tamper_amount=_yandex_dengi_tamper_amount,
    notifies_declines=True,
)

async def _authorised_by_details(h: Harness, request: AttemptRequest, started: ProviderResult,
                                 right: bool) -> ProviderResult:
    """NONE wallets: the card number and PIN authorised the start itself; there is no second step."""
    return started


def _kreditpilot_tamper_amount(body: bytes) -> bytes:
    notice = json.loads(body)
    notice["amount"] = 1
    return json.dumps(notice, separators=(",", ":")).encode()


KREDITPILOT = WalletDriver(
    plugin=kreditpilot.PLUGIN,
    currency="RUB",
    amount=500,
    authorise=_authorised_by_details,
    tamper_amount=_kreditpilot_tamper_amount,
    notifies_declines=False,     # card declines are answered at once, by card.charge
)


def _eport_tamper_amount(body: bytes) -> bytes:
    notice = json.loads(body)
    notice["amount"] = 1
    return json.dumps(notice, separators=(",", ":")).encode()


EPORT = WalletDriver(
    plugin=eport.PLUGIN,
    currency="RUB",
    amount=500,
    authorise=_authorised_by_details,   # the account and PIN authorise the start itself
    tamper_amount=_eport_tamper_amount,
    notifies_declines=True,             # declines decided at once are notified as "failed" too
)

DRIVERS = [WEBMONEY, YANDEX_DENGI, KREDITPILOT, EPORT]


# ---- fixtures ---------------------------------------------------------------------------

def _receiver_app(queue: asyncio.Queue[Callback], reply: Callable[[], web.Response]) -> web.Application:
    async def receive(request: web.Request) -> web.Response:
        await queue.put(Callback(await request.read(), dict(request.headers)))
        return reply()

    app = web.Application()
    app.router.add_post("/callbacks", receive)
    return app


def _provider_app(mount: str, simulator: web.Application, answers: list[tuple[str, int]]) -> web.Application:
    """The simulator mounted as in Kopek, with every answer recorded (even the injected 503s)."""
    @web.middleware
    async def record(request: web.Request, handler):
        response = await handler(request)
        answers.append((request.path, response.status))
        return response

    app = web.Application(middlewares=[record])
    app.add_subapp(mount, simulator)
    return app


@dataclass
class ServedWallet:
    """A wallet's simulator served over real HTTP, its connector, and a receiver for its callbacks."""

    simulator: web.Application                  # the simulator app, mounted as in Kopek
    connector: Connector
    phone: SandboxPhone
    faults: FaultInjector
    provider_url: str
    callback_url: str                           # the receiver, which answers as Kopek would accept
    callbacks: asyncio.Queue[Callback]
    answers: list[tuple[str, int]]              # (path, HTTP status) of every provider answer


async def serve_wallet(aiohttp_server, plugin: WalletPlugin, http: aiohttp.ClientSession, *,
                       time_scale: float = TIME_SCALE, timeout_s: float = TIMEOUT_S) -> ServedWallet:
    """The test harness of every wallet test: the plugin's simulator at /sandbox/providers/<wallet>/,
    its sandbox connector, and a callback receiver that answers with `callback_reply(True)`."""
    phone, faults, answers = SandboxPhone(), FaultInjector(FaultSettings()), []
    simulator = plugin.build_simulator(SimulatorContext(phone, time_scale, faults))
    mount = f"/sandbox/providers/{plugin.info.id}/"
    provider = await aiohttp_server(_provider_app(mount, simulator, answers))
    provider_url = str(provider.make_url(mount.rstrip("/")))
    connector = plugin.build_connector(provider_url, Settings(mode="sandbox", provider_timeout_s=timeout_s), http)

    def reply() -> web.Response:
        answer = connector.callback_reply(True)
        return web.Response(status=answer.status, body=answer.body, content_type=answer.content_type)

    callbacks: asyncio.Queue[Callback] = asyncio.Queue()
    receiver = await aiohttp_server(_receiver_app(callbacks, reply))
    return ServedWallet(simulator, connector, phone, faults, provider_url, str(receiver.make_url("/callbacks")),
                        callbacks, answers)


@pytest.fixture(params=DRIVERS, ids=lambda d: d.wallet)
async def harness(request, aiohttp_server, http: aiohttp.ClientSession) -> Harness:
    driver: WalletDriver = request.param
    served = await serve_wallet(aiohttp_server, driver.plugin, http)
    return Harness(driver, served.connector, served.phone, served.faults, served.simulator, served.provider_url,
                   served.callback_url, served.callbacks, served.answers)


# ---- the contract: outcomes -------------------------------------------------------------

async def test_success_full_path(harness: Harness) -> None:
    request, started, authorised = await harness.start_and_authorise(Magic.SUCCEED)
    assert authorised.outcome in (Outcome.PROCESSING, Outcome.SUCCEEDED)
    event = await harness.next_event()
    assert event.outcome is Outcome.SUCCEEDED
    assert (event.attempt_id, event.amount, event.currency) == (request.attempt_id, request.amount, request.currency)
    assert event.provider_ref == started.provider_ref
    assert event.failure_code is None


async def test_status_after_success_is_succeeded(harness: Harness) -> None:
    _, started, _ = await harness.start_and_authorise(Magic.SUCCEED)
    await harness.next_event()
    status = await harness.connector.fetch_status(started.provider_ref)
    assert (status.outcome, status.provider_ref) == (Outcome.SUCCEEDED, started.provider_ref)


async def test_decline(harness: Harness) -> None:
    _, started, authorised = await harness.start_and_authorise(Magic.DECLINE)
    assert (authorised.outcome, authorised.failure_code) == (Outcome.DECLINED, "declined")
    if harness.driver.notifies_declines:
        event = await harness.next_event()
        assert (event.outcome, event.failure_code) == (Outcome.DECLINED, "declined")
    status = await harness.connector.fetch_status(started.provider_ref)
    assert (status.outcome, status.failure_code) == (Outcome.DECLINED, "declined")


async def test_insufficient_funds(harness: Harness) -> None:
    request, _, authorised = await harness.start_and_authorise(Magic.INSUFFICIENT_FUNDS)
    if authorised.outcome is Outcome.DECLINED:
        assert authorised.failure_code == "insufficient_funds"
        return
    assert authorised.outcome is Outcome.PROCESSING
    event = await harness.next_event()
    assert (event.outcome, event.failure_code, event.attempt_id) == (
        Outcome.DECLINED, "insufficient_funds", request.attempt_id)


async def test_wallet_not_found_declines_at_start(harness: Harness) -> None:
    started = await harness.connector.start(harness.request(Magic.NOT_FOUND))
    assert (started.outcome, started.failure_code) == (Outcome.DECLINED, "wallet_not_found")


async def test_slow_wallet_is_processing_then_succeeds(harness: Harness) -> None:
    _, started, authorised = await harness.start_and_authorise(Magic.SLOW)
    assert authorised.outcome is Outcome.PROCESSING
    status = await harness.connector.fetch_status(started.provider_ref)
    assert status.outcome is Outcome.PROCESSING
    event = await harness.next_event()
    assert event.outcome is Outcome.SUCCEEDED


async def test_any_unlisted_account_succeeds(harness: Harness) -> None:
    await harness.start_and_authorise(UNLISTED_ENDING)
    assert (await harness.next_event()).outcome is Outcome.SUCCEEDED


async def test_start_is_idempotent_by_attempt_id(harness: Harness) -> None:
    request = harness.request(Magic.SUCCEED)
    first, again = await harness.connector.start(request), await harness.connector.start(request)
    assert (again.outcome, again.provider_ref) == (first.outcome, first.provider_ref)
    assert len(harness.codes_for(request)) <= 1, "a retried start must not text a new code"


async def test_never_answers_stays_pending_without_a_code_or_notice(harness: Harness) -> None:
    request = harness.request(Magic.NEVER_ANSWERS)
    started = await harness.connector.start(request)
    assert started.outcome in NOT_FINAL and started.provider_ref
    await asyncio.sleep(QUIET_WAIT_S)
    assert harness.codes_for(request) == []
    assert harness.callbacks.empty()
    status = await harness.connector.fetch_status(started.provider_ref)
    assert status.outcome in NOT_FINAL


# ---- the contract: an unreliable provider -----------------------------------------------

async def test_flaky_provider_recovers_within_one_start(harness: Harness) -> None:
    request = harness.request(Magic.FLAKY)
    started = await harness.connector.start(request)
    assert started.outcome in NOT_FINAL and started.provider_ref
    assert harness.statuses().count(503) == FLAKY_FAILURES
    assert len(harness.codes_for(request)) <= 1


async def test_timeout_raises_provider_error_quickly(harness: Harness, http: aiohttp.ClientSession) -> None:
    connector = harness.driver.create_connector(harness.provider_url, http, SHORT_TIMEOUT_S)
    begun = time.monotonic()
    with pytest.raises(ProviderError):
        await connector.start(harness.request(Magic.TIMEOUT))
    assert time.monotonic() - begun < 5 * SHORT_TIMEOUT_S + 0.5   # three tries and two short pauses


async def test_injected_errors_raise_provider_error(harness: Harness) -> None:
    harness.faults.settings = FaultSettings(error_rate=1.0)
    with pytest.raises(ProviderError):
        await harness.connector.start(harness.request(Magic.SUCCEED))


async def test_unreachable_provider_raises_quickly(harness: Harness, http: aiohttp.ClientSession) -> None:
    connector = harness.driver.create_connector(f"http://127.0.0.1:{_closed_port()}{harness.driver.mount}",
                                                http, TIMEOUT_S)
    begun = time.monotonic()
    with pytest.raises(ProviderError):
        await connector.start(harness.request(Magic.SUCCEED))
    assert time.monotonic() - begun < 1.0


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
async def test_broken_provider_raises_provider_error(harness: Harness, answer, aiohttp_server,
                                                      http: aiohttp.ClientSession) -> None:
    server = await aiohttp_server(_broken_provider(answer))
    connector = harness.driver.create_connector(str(server.make_url("/provider")), http, SHORT_TIMEOUT_S)
    with pytest.raises(ProviderError):
        await connector.start(harness.request(Magic.SUCCEED))


# ---- the contract: notifications --------------------------------------------------------

async def test_tampered_callback_fails_verification(harness: Harness) -> None:
    await harness.start_and_authorise(Magic.SUCCEED)
    callback = await harness.next_callback()
    with pytest.raises(BadSignature):
        harness.connector.parse_callback(harness.driver.tamper_amount(callback.body), callback.headers)


async def test_forged_signature_fault_fails_verification(harness: Harness) -> None:
    harness.faults.settings = FaultSettings(bad_signatures=1.0)
    await harness.start_and_authorise(Magic.SUCCEED)
    callback = await harness.next_callback()
    with pytest.raises(BadSignature):
        harness.connector.parse_callback(callback.body, callback.headers)


async def test_duplicate_notices_arrive_twice(harness: Harness) -> None:
    await harness.start_and_authorise(Magic.DUPLICATE_CALLBACK)
    first, second = await harness.next_event(), await harness.next_event()
    assert first == second and first.outcome is Outcome.SUCCEEDED


async def test_duplicate_callbacks_fault(harness: Harness) -> None:
    harness.faults.settings = FaultSettings(duplicate_callbacks=1.0)
    await harness.start_and_authorise(Magic.SUCCEED)
    first, second = await harness.next_event(), await harness.next_event()
    assert first == second and first.outcome is Outcome.SUCCEEDED


async def test_stale_notice_after_the_final_one_parses_as_processing(harness: Harness) -> None:
    request, started, _ = await harness.start_and_authorise(Magic.OUT_OF_ORDER)
    final, stale = await harness.next_event(), await harness.next_event()
    assert (final.outcome, stale.outcome) == (Outcome.SUCCEEDED, Outcome.PROCESSING)
    assert (stale.attempt_id, stale.provider_ref, stale.amount) == (
        request.attempt_id, started.provider_ref, request.amount)
    assert stale.failure_code is None


def _foreign_notices() -> list[tuple[str | None, bytes, dict[str, str]]]:
    """(the wallet whose scheme signs it, body, headers) of notices in other wallets' styles."""
    form = wm_protocol.notification_fields(
        wm_protocol.SANDBOX_CREDENTIALS, purse="R000000000001", amount="5.00", payment_no="att_foreign",
        invoice_id="123456789", trans_id="987654321", trans_date="20250101 12:00:00",
        payer_purse="R000079161234", payer_wm="000079161234", state="paid", description="Tea")
    webhook = json.dumps({"attempt_id": "att_foreign", "status": "succeeded", "amount": 500}).encode()
    return [
        ("webmoney", urlencode(form).encode(), {"Content-Type": "application/x-www-form-urlencoded"}),
        (None, webhook, {"Content-Type": "application/json", "webhook-id": "msg_1", "webhook-timestamp": "1700000000",
                         "webhook-signature": "v1,c2lnbmVkIHdpdGggc29tZW9uZSBlbHNlJ3Mga2V5"}),
        (None, b"", {}),
        (None, b"\xff\xfe not a notice", {"Content-Type": "text/plain"}),
    ]


async def test_notices_signed_in_another_scheme_fail_verification(harness: Harness) -> None:
    for owner, body, headers in _foreign_notices():
        if owner != harness.driver.wallet:
            with pytest.raises(BadSignature):
                harness.connector.parse_callback(body, headers)


# ---- the contract: wallets that relay a code ----------------------------------------------

def needs_code(harness: Harness) -> None:
    if harness.connector.info.confirmation is not ConfirmationStyle.ENTER_CODE:
        pytest.skip(f"{harness.driver.wallet} does not relay a code")


async def test_code_reaches_the_sandbox_phone(harness: Harness) -> None:
    needs_code(harness)
    request = harness.request(Magic.SUCCEED)
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
    request = harness.request(Magic.SUCCEED)
    started = await harness.connector.start(request)
    assert (await harness.authorise(request, started, right=False)).outcome is Outcome.WRONG_CODE
    assert (await harness.authorise(request, started, right=True)).outcome is Outcome.PROCESSING
    assert (await harness.next_event()).outcome is Outcome.SUCCEEDED


async def test_every_code_wrong_exhausts_the_tries(harness: Harness) -> None:
    needs_code(harness)
    request = harness.request(Magic.WRONG_SECRET)
    started = await harness.connector.start(request)
    answers = [await harness.authorise(request, started, right=True) for _ in range(4)]
    assert [a.outcome for a in answers] == [Outcome.WRONG_CODE, Outcome.WRONG_CODE, Outcome.DECLINED, Outcome.DECLINED]
    assert {a.failure_code for a in answers[2:]} == {"code_attempts_exceeded"}
    status = await harness.connector.fetch_status(started.provider_ref)
    assert (status.outcome, status.failure_code) == (Outcome.DECLINED, "code_attempts_exceeded")


async def test_resend_texts_the_same_code_and_is_limited(harness: Harness) -> None:
    if not harness.connector.info.can_resend_code:
        pytest.skip(f"{harness.driver.wallet} cannot resend a code")
    assert harness.driver.resend_limit > 0, "a wallet that can resend must say how often"
    request = harness.request(Magic.SUCCEED)
    started = await harness.connector.start(request)
    for _ in range(harness.driver.resend_limit):
        await harness.connector.resend_code(started.provider_ref)
    with pytest.raises(ProviderError):
        await harness.connector.resend_code(started.provider_ref)
    codes = harness.codes_for(request)
    assert len(codes) == 1 + harness.driver.resend_limit and len(set(codes)) == 1
    assert (await harness.authorise(request, started, right=True)).outcome is Outcome.PROCESSING


# ---- the contract: refunds ----------------------------------------------------------------

async def test_refunds_partial_then_rest_then_nothing_more(harness: Harness) -> None:
    _, started, _ = await harness.start_and_authorise(Magic.SUCCEED)
    assert (await harness.next_event()).outcome is Outcome.SUCCEEDED
    ref, amount, currency = started.provider_ref, harness.driver.amount, harness.driver.currency
    first = await harness.connector.refund(ref, "re_a", 200, currency)
    again = await harness.connector.refund(ref, "re_a", 200, currency)
    assert (first.outcome, first.failure_code) == (RefundOutcome.SUCCEEDED, None) and first.provider_refund_ref
    assert again == first, "a refund is idempotent by Kopek's refund id"
    too_much = await harness.connector.refund(ref, "re_b", amount - 199, currency)
    assert (too_much.outcome, too_much.failure_code) == (RefundOutcome.FAILED, "amount_exceeds_remaining")
    rest = await harness.connector.refund(ref, "re_c", amount - 200, currency)
    assert rest.outcome is RefundOutcome.SUCCEEDED


async def test_refund_ending_in_99_is_declined(harness: Harness) -> None:
    _, started, _ = await harness.start_and_authorise(Magic.SUCCEED)
    await harness.next_event()
    declined = await harness.connector.refund(started.provider_ref, "re_d", 199, harness.driver.currency)
    assert (declined.outcome, declined.failure_code) == (RefundOutcome.FAILED, "refund_declined")


async def test_refund_of_a_declined_operation_is_not_refundable(harness: Harness) -> None:
    _, started, _ = await harness.start_and_authorise(Magic.DECLINE)
    result = await harness.connector.refund(started.provider_ref, "re_e", 100, harness.driver.currency)
    assert (result.outcome, result.failure_code) == (RefundOutcome.FAILED, "not_refundable")


async def test_kreditpilot_refund_restores_the_card_balance(harness: Harness) -> None:
    if harness.driver.wallet != "kreditpilot":
        pytest.skip("KreditPilot cards have a balance")
    request, started, _ = await harness.start_and_authorise(Magic.SUCCEED)
    await harness.next_event()
    card, pin = request.details["card"], request.details["pin"]
    before = await harness.connector.card_balance(card, pin)   # type: ignore[attr-defined]
    await harness.connector.refund(started.provider_ref, "re_k", 300, "RUB")
    await harness.connector.refund(started.provider_ref, "re_k", 300, "RUB")   # the same refund, credited once
    assert await harness.connector.card_balance(card, pin) == before + 300   # type: ignore[attr-defined]


async def test_statement_lists_the_payment_and_refund_by_their_refs(harness: Harness, http: aiohttp.ClientSession) -> None:
    _, started, _ = await harness.start_and_authorise(Magic.SUCCEED)
    await harness.next_event()
    made = await harness.connector.refund(started.provider_ref, "re_s", 100, harness.driver.currency)
    async with http.get(f"{harness.provider_url}/statements/2026-01-01") as response:
        assert response.status == 200
        lines = parse(harness.driver.wallet, await response.read())
    assert {(line.type, line.ref, line.amount) for line in lines} == {
        ("payment", started.provider_ref, harness.driver.amount), ("refund", made.provider_refund_ref, 100)}
