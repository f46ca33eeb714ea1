"""Yandex.Dengi over real HTTP: the connector against its simulator, and the approval page
driven as a browser would (GET the page, read the form, POST the decision).

The shared contract (test_contract.py) runs the outcomes every wallet has; this file covers
what only an approve-in-wallet wallet has: the approval page, its form and its answers.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field
from html import unescape
from itertools import count
from typing import Mapping
from urllib.parse import parse_qsl, urlencode

import aiohttp
import pytest
from aiohttp import web
from yarl import URL

from kopek.providers.contract import AttemptRequest, BadSignature, CallbackEvent, Outcome, ProviderError, ProviderResult
from kopek.providers.sandbox.faults import FaultInjector, FaultSettings
from kopek.providers.sandbox.magic import Magic
from kopek.providers.yandex_dengi import PLUGIN, pages, protocol
from kopek.providers.yandex_dengi import simulator as sim
from kopek.providers.yandex_dengi.connector import INFO, YandexDengiConnector, YandexDengiCredentials
from kopek.settings import Settings
from test_contract import Callback, serve_wallet

TIME_SCALE = 0.01
TIMEOUT_S = 2.0
CALLBACK_WAIT_S = 5.0
QUIET_WAIT_S = 0.3
PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
ENDINGS = {magic: ending for ending, magic in (
    ("01", Magic.SUCCEED), ("02", Magic.DECLINE), ("03", Magic.INSUFFICIENT_FUNDS), ("04", Magic.SLOW),
    ("05", Magic.WRONG_SECRET), ("06", Magic.FLAKY), ("07", Magic.TIMEOUT), ("08", Magic.DUPLICATE_CALLBACK),
    ("09", Magic.NOT_FOUND), ("10", Magic.OUT_OF_ORDER), ("11", Magic.NEVER_ANSWERS))}


@dataclass
class Harness:
    connector: YandexDengiConnector
    browser: aiohttp.ClientSession
    simulator: sim.Simulator
    faults: FaultInjector
    provider_url: str
    callback_url: str
    callbacks: asyncio.Queue[Callback]
    _ids: count[int] = field(default_factory=count)

    def request(self, magic: Magic) -> AttemptRequest:
        n = next(self._ids)
        return AttemptRequest(
            attempt_id=f"att_yd{n}", payment_id=f"pay_yd{n}", amount=500, currency="RUB",
            description="Sandbox <tea> & cakes", callback_url=self.callback_url,
            details=PLUGIN.example_details(PLUGIN.example_account(ENDINGS[magic])))

    async def start(self, magic: Magic) -> tuple[AttemptRequest, ProviderResult]:
        request = self.request(magic)
        return request, await self.connector.start(request)

    async def next_callback(self) -> Callback:
        return await asyncio.wait_for(self.callbacks.get(), CALLBACK_WAIT_S)

    async def next_event(self) -> CallbackEvent:
        callback = await self.next_callback()
        return self.connector.parse_callback(callback.body, {})

    async def open_page(self, url: str) -> tuple[aiohttp.ClientResponse, str]:
        async with self.browser.get(url) as response:
            return response, await response.text()

    async def decide(self, started: ProviderResult, decision: str, *, return_url: str = "",
                     **overrides: str) -> tuple[int, Mapping[str, str], str]:
        """What a browser does: open the page, read the form, press a button."""
        url = started.next_action_url + (f"&{urlencode({'return': return_url})}" if return_url else "")
        page, html = await self.open_page(url)
        assert page.status == 200, html
        fields = {**hidden_fields(html), "decision": decision, **overrides}
        action = URL(url).join(URL(form_action(html)))
        async with self.browser.post(action, data=fields, allow_redirects=False) as response:
            return response.status, response.headers, await response.text()

    async def status(self, started: ProviderResult) -> ProviderResult:
        return await self.connector.fetch_status(started.provider_ref)


def hidden_fields(html: str) -> dict[str, str]:
    return {name: unescape(value) for name, value in
            re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">', html)}


def form_action(html: str) -> str:
    [action] = re.findall(r'<form method="post" action="([^"]+)"', html)
    return action


@pytest.fixture
async def h(aiohttp_server, http: aiohttp.ClientSession) -> Harness:
    served = await serve_wallet(aiohttp_server, PLUGIN, http, time_scale=TIME_SCALE, timeout_s=TIMEOUT_S)
    return Harness(served.connector, http, served.simulator[sim.SIMULATOR], served.faults, served.provider_url,
                   served.callback_url, served.callbacks)


# ---- the full path ------------------------------------------------------------------------

async def test_start_asks_for_approval_at_an_absolute_url(h: Harness) -> None:
    _, started = await h.start(Magic.SUCCEED)
    assert started.outcome is Outcome.REQUIRES_APPROVAL and started.raw_status == "ext_auth_required"
    assert started.provider_ref and protocol.REQUEST_ID_RE.fullmatch(started.provider_ref)
    assert started.next_action_url == f"{h.provider_url}/ext_auth?request_id={started.provider_ref}"
    assert (await h.status(started)).outcome is Outcome.REQUIRES_APPROVAL


async def test_approval_page_shows_the_payment_under_a_strict_policy(h: Harness) -> None:
    request, started = await h.start(Magic.SUCCEED)
    page, html = await h.open_page(started.next_action_url)
    assert page.status == 200 and page.content_type == "text/html"
    assert page.headers["Content-Security-Policy"] == PAGE_CSP
    assert page.headers["Cache-Control"] == "no-store"
    assert "<script" not in html
    assert '<h1 id="approve-heading">Approve the payment</h1>' in html
    assert 'id="approve">Approve</button>' in html and 'id="decline">Decline</button>' in html
    assert "5.00 RUB" in html and protocol.SANDBOX_CREDENTIALS.wallet in html
    assert request.details["wallet"] in html
    assert "Sandbox &lt;tea&gt; &amp; cakes" in html
    assert form_action(html) == "ext_auth/decision"
    fields = hidden_fields(html)
    assert fields["request_id"] == started.provider_ref and len(fields["token"]) >= 32


async def test_approve_then_success_by_notification_and_status(h: Harness) -> None:
    request, started = await h.start(Magic.SUCCEED)
    status, _, html = await h.decide(started, "approve")
    assert status == 200 and pages.DONE_EN in html and pages.DONE_RU in html
    event = await h.next_event()
    assert (event.outcome, event.provider_ref, event.attempt_id, event.amount, event.currency) == (
        Outcome.SUCCEEDED, started.provider_ref, request.attempt_id, 500, "RUB")
    assert event.failure_code is None and event.extra["sender"] == request.details["wallet"]
    assert (await h.status(started)).outcome is Outcome.SUCCEEDED
    page, _ = await h.open_page(started.next_action_url)
    assert page.status == 409


async def test_decline_button_refuses_with_a_notification(h: Harness) -> None:
    _, started = await h.start(Magic.SUCCEED)
    status, _, _ = await h.decide(started, "decline")
    assert status == 200
    event = await h.next_event()
    assert (event.outcome, event.failure_code, event.raw_status) == (Outcome.DECLINED, "declined", "refused")
    assert event.extra["error"] == "authorization_reject"
    result = await h.status(started)
    assert (result.outcome, result.failure_code, result.raw_status) == (
        Outcome.DECLINED, "declined", "refused:authorization_reject")


async def test_insufficient_funds_fails_after_processing(h: Harness) -> None:
    _, started = await h.start(Magic.INSUFFICIENT_FUNDS)
    await h.decide(started, "approve")
    event = await h.next_event()
    assert (event.outcome, event.failure_code) == (Outcome.DECLINED, "insufficient_funds")


async def test_in_progress_gives_processing_with_the_providers_retry_hint(h: Harness) -> None:
    _, started = await h.start(Magic.SLOW)
    await h.decide(started, "approve")
    result = await h.status(started)
    assert (result.outcome, result.raw_status) == (Outcome.PROCESSING, "in_progress")
    assert result.retry_after_s is not None and 0.1 <= result.retry_after_s <= 1.2
    assert (await h.next_event()).outcome is Outcome.SUCCEEDED


async def test_wrong_secret_magic_is_declined_at_approval(h: Harness) -> None:
    _, started = await h.start(Magic.WRONG_SECRET)
    await h.decide(started, "approve")
    result = await h.status(started)
    assert (result.outcome, result.failure_code, result.raw_status) == (
        Outcome.DECLINED, "declined", "refused:authorization_reject")


async def test_never_answers_accepts_the_approval_and_then_nothing_happens(h: Harness) -> None:
    _, started = await h.start(Magic.NEVER_ANSWERS)
    status, _, html = await h.decide(started, "approve")
    assert status == 200 and pages.DONE_EN in html
    await asyncio.sleep(QUIET_WAIT_S)
    assert h.callbacks.empty()
    assert (await h.status(started)).outcome is Outcome.REQUIRES_APPROVAL


async def test_flaky_recovers_and_completes(h: Harness) -> None:
    request, started = await h.start(Magic.FLAKY)
    assert started.outcome is Outcome.REQUIRES_APPROVAL
    await h.decide(started, "approve")
    assert (await h.next_event()).attempt_id == request.attempt_id


async def test_timeout_raises_provider_error_quickly(h: Harness, http: aiohttp.ClientSession) -> None:
    connector = PLUGIN.build_connector(h.provider_url, Settings(mode="sandbox", provider_timeout_s=0.2), http)
    begun = time.monotonic()
    with pytest.raises(ProviderError):
        await connector.start(h.request(Magic.TIMEOUT))
    assert time.monotonic() - begun < 1.5


async def test_stale_notice_after_the_final_one_parses_as_processing(h: Harness) -> None:
    request, started = await h.start(Magic.OUT_OF_ORDER)
    await h.decide(started, "approve")
    final, stale = await h.next_event(), await h.next_event()
    assert (final.outcome, stale.outcome, stale.raw_status) == (Outcome.SUCCEEDED, Outcome.PROCESSING, "in_progress")
    assert (stale.provider_ref, stale.attempt_id, stale.failure_code) == (started.provider_ref, request.attempt_id, None)


async def test_duplicate_notices_are_identical(h: Harness) -> None:
    _, started = await h.start(Magic.DUPLICATE_CALLBACK)
    await h.decide(started, "approve")
    first, second = await h.next_event(), await h.next_event()
    assert first == second and first.outcome is Outcome.SUCCEEDED


async def test_forged_notices_fail_verification(h: Harness) -> None:
    h.faults.settings = FaultSettings(bad_signatures=1.0)
    _, started = await h.start(Magic.SUCCEED)
    await h.decide(started, "approve")
    callback = await h.next_callback()
    with pytest.raises(BadSignature):
        h.connector.parse_callback(callback.body, {})


# ---- the approval form cannot be abused ---------------------------------------------------

async def test_a_decision_for_another_request_changes_nothing_here(h: Harness) -> None:
    _, first = await h.start(Magic.SUCCEED)
    _, second = await h.start(Magic.SUCCEED)
    status, _, html = await h.decide(first, "approve", request_id=second.provider_ref)
    assert status == 403 and "not valid" in html
    assert (await h.status(second)).outcome is Outcome.REQUIRES_APPROVAL
    assert (await h.status(first)).outcome is Outcome.REQUIRES_APPROVAL
    await h.decide(first, "approve")
    assert (await h.next_event()).provider_ref == first.provider_ref
    assert (await h.status(second)).outcome is Outcome.REQUIRES_APPROVAL


@pytest.mark.parametrize("overrides, expected", [
    ({"token": ""}, 403), ({"token": "guess"}, 403), ({"request_id": "p2p-unknown"}, 404), ({"decision": ""}, 400),
])
async def test_bad_decisions_are_refused(h: Harness, overrides: dict[str, str], expected: int) -> None:
    _, started = await h.start(Magic.SUCCEED)
    decision = overrides.pop("decision", "approve")
    status, _, _ = await h.decide(started, decision, **overrides)
    assert status == expected
    assert (await h.status(started)).outcome is Outcome.REQUIRES_APPROVAL


async def test_a_second_decision_is_refused(h: Harness) -> None:
    _, started = await h.start(Magic.DECLINE)
    page, html = await h.open_page(started.next_action_url)
    action = URL(started.next_action_url).join(URL(form_action(html)))
    fields = {**hidden_fields(html), "decision": "approve"}
    async with h.browser.post(action, data=fields) as first:
        assert first.status == 200
    async with h.browser.post(action, data={**fields, "decision": "decline"}) as second:
        assert second.status == 409
    result = await h.status(started)
    assert (result.outcome, result.raw_status) == (Outcome.DECLINED, "refused:payment_refused")


async def test_unknown_request_page_is_404(h: Harness) -> None:
    page, html = await h.open_page(f"{h.provider_url}/ext_auth?request_id=p2p-nothing")
    assert page.status == 404 and "Unknown payment request" in html
    assert page.headers["Content-Security-Policy"] == PAGE_CSP


async def test_return_url_redirects_after_the_decision(h: Harness) -> None:
    _, started = await h.start(Magic.SUCCEED)
    back = "http://shop.test:8001/checkout/pay_1?done=1"
    page, _ = await h.open_page(f"{started.next_action_url}&{urlencode({'return': back})}")
    assert "form-action 'self' http://shop.test:8001;" in page.headers["Content-Security-Policy"]
    status, headers, _ = await h.decide(started, "approve", return_url=back)
    assert (status, headers["Location"]) == (303, back)


@pytest.mark.parametrize("back", ["javascript:alert(1)", "//evil.test/x", "ftp://x.test/", "http://a b/", "/relative"])
async def test_a_return_that_is_not_an_http_url_is_ignored(h: Harness, back: str) -> None:
    _, started = await h.start(Magic.SUCCEED)
    status, headers, html = await h.decide(started, "decline", return_url=back)
    assert status == 200 and "Location" not in headers and pages.DONE_EN in html


# ---- the API's own checks -------------------------------------------------------------------

async def test_start_is_idempotent_and_a_reused_label_with_other_terms_is_refused(h: Harness) -> None:
    request, started = await h.start(Magic.SUCCEED)
    assert (await h.connector.start(request)).provider_ref == started.provider_ref
    other = AttemptRequest(**{**request.__dict__, "amount": 600})
    with pytest.raises(ProviderError, match="illegal_param_label"):
        await h.connector.start(other)


async def test_a_wrong_token_is_refused(h: Harness, http: aiohttp.ClientSession) -> None:
    sandbox = protocol.SANDBOX_CREDENTIALS
    wrong = YandexDengiCredentials(sandbox.wallet, "not the token", sandbox.notification_secret)
    connector = YandexDengiConnector(base_url=h.provider_url, credentials=wrong, http=http, timeout_s=TIMEOUT_S)
    with pytest.raises(ProviderError, match="token"):
        await connector.start(h.request(Magic.SUCCEED))


async def test_an_unknown_payee_is_a_provider_error(h: Harness, http: aiohttp.ClientSession) -> None:
    sandbox = protocol.SANDBOX_CREDENTIALS
    other = YandexDengiCredentials("410019999999999", sandbox.token, sandbox.notification_secret)
    connector = YandexDengiConnector(base_url=h.provider_url, credentials=other, http=http, timeout_s=TIMEOUT_S)
    with pytest.raises(ProviderError, match="payee_not_found"):
        await connector.start(h.request(Magic.SUCCEED))


async def test_an_unknown_request_id_is_a_provider_error(h: Harness) -> None:
    with pytest.raises(ProviderError, match="contract_not_found"):
        await h.connector.fetch_status("p2p-nothing")


async def test_a_contract_amount_other_than_asked_is_a_provider_error(aiohttp_server, http) -> None:
    async def answer(request: web.Request) -> web.Response:
        return web.json_response({"status": "success", "request_id": "p2p-1", "contract_amount": 50.00})

    app = web.Application()
    app.router.add_post("/api/request-payment", answer)
    server = await aiohttp_server(app)
    connector = PLUGIN.build_connector(str(server.make_url("")), Settings(mode="sandbox"), http)
    request = AttemptRequest("att_1", "pay_1", 500, "RUB", "Tea", {"wallet": "410011234567801"}, "http://x/cb")
    with pytest.raises(ProviderError, match="debit"):
        await connector.start(request)


# ---- the connector without a network ------------------------------------------------------

@pytest.fixture
def connector(http: aiohttp.ClientSession) -> YandexDengiConnector:
    return PLUGIN.build_connector("http://127.0.0.1:9/sandbox/providers/yandex_dengi", Settings(mode="sandbox"), http)


async def test_codes_are_not_this_wallets_way(connector: YandexDengiConnector) -> None:
    with pytest.raises(ProviderError, match="confirms in the wallet"):
        await connector.confirm("p2p-1", "123456")
    with pytest.raises(ProviderError):
        await connector.resend_code("p2p-1")


@pytest.mark.parametrize("ref", ["", "p2p 1", "x" * 65, "../etc"])
async def test_a_malformed_provider_ref_is_refused_before_any_request(connector: YandexDengiConnector,
                                                                      ref: str) -> None:
    with pytest.raises(ProviderError):
        await connector.fetch_status(ref)


async def test_only_roubles(connector: YandexDengiConnector) -> None:
    request = AttemptRequest("att_1", "pay_1", 500, "USD", "Tea", {"wallet": "410011234567801"}, "http://x/cb")
    with pytest.raises(ProviderError, match="RUB"):
        await connector.start(request)


def test_callback_reply(connector: YandexDengiConnector) -> None:
    accepted, refused = connector.callback_reply(True), connector.callback_reply(False)
    assert (accepted.status, accepted.body, refused.status, refused.body) == (200, b"", 400, b"")


def test_parse_callback_maps_a_refusal() -> None:
    connector = PLUGIN.build_connector("http://127.0.0.1:9", Settings(mode="sandbox"), None)  # type: ignore[arg-type]
    body = protocol.encode_form(protocol.notification_fields(
        protocol.SANDBOX_CREDENTIALS.notification_secret, operation_id="1", amount="5.00", currency="RUB",
        datetime="2025-01-01T12:00:00Z", sender="410010000000003", label="att_1", request_id="p2p-1",
        status="refused", error="not_enough_funds"))
    event = connector.parse_callback(body, {})
    assert (event.outcome, event.failure_code, event.provider_ref, event.attempt_id) == (
        Outcome.DECLINED, "insufficient_funds", "p2p-1", "att_1")
    assert "sha1_hash" not in event.extra
    unknown = dict(parse_qsl(body.decode()))
    unknown.update(status="hold", sha1_hash="")
    unknown["sha1_hash"] = protocol.notification_hash(unknown, protocol.SANDBOX_CREDENTIALS.notification_secret)
    with pytest.raises(ProviderError):
        connector.parse_callback(protocol.encode_form(unknown), {})


def test_a_relative_base_url_is_refused() -> None:
    with pytest.raises(ValueError, match="absolute"):
        PLUGIN.build_connector("/sandbox/providers/yandex_dengi", Settings(mode="sandbox"), None)  # type: ignore[arg-type]


def test_wallet_info() -> None:
    assert (INFO.id, INFO.name_en, INFO.name_ru, INFO.confirmation.value) == (
        "yandex_dengi", "Yandex.Dengi", "Яндекс.Деньги", "approve_in_wallet")
    [wallet] = INFO.fields
    assert (wallet.name, wallet.input_type, wallet.label_en, wallet.label_ru) == (
        "wallet", "tel", "Wallet number", "Номер кошелька")
    assert re.fullmatch(wallet.pattern, wallet.placeholder)
    assert INFO.accepts(1, "RUB") and INFO.accepts(1_500_000, "RUB") and not INFO.accepts(1_500_001, "RUB")
    assert not INFO.accepts(500, "USD")


@pytest.mark.parametrize("ending", [e for e in ENDINGS.values()] + ["77"])
def test_example_accounts_are_valid_magic_wallets(ending: str) -> None:
    account = PLUGIN.example_account(ending)
    assert re.fullmatch(INFO.fields[0].pattern, account) and account.endswith(ending)
    assert PLUGIN.example_details(account) == {"wallet": account}


# ---- credentials ------------------------------------------------------------------------------

LIVE_ENV = {
    "KOPEK_YANDEX_DENGI_WALLET": "410011234567801",
    "KOPEK_YANDEX_DENGI_TOKEN": "live-token",
    "KOPEK_YANDEX_DENGI_NOTIFICATION_SECRET": "live-secret",
}


def test_sandbox_credentials_match_the_simulator() -> None:
    creds = YandexDengiCredentials.from_settings(Settings(mode="sandbox"))
    assert (creds.wallet, creds.token, creds.notification_secret) == (
        protocol.SANDBOX_CREDENTIALS.wallet, protocol.SANDBOX_CREDENTIALS.token,
        protocol.SANDBOX_CREDENTIALS.notification_secret)


def test_live_credentials_come_from_env() -> None:
    creds = YandexDengiCredentials.from_settings(Settings(mode="live"), env=LIVE_ENV)
    assert (creds.wallet, creds.token, creds.notification_secret) == ("410011234567801", "live-token", "live-secret")
    assert "live-token" not in repr(creds) and "live-secret" not in repr(creds)


@pytest.mark.parametrize("change", [
    {"KOPEK_YANDEX_DENGI_WALLET": ""}, {"KOPEK_YANDEX_DENGI_TOKEN": " "},
    {"KOPEK_YANDEX_DENGI_NOTIFICATION_SECRET": ""}, {"KOPEK_YANDEX_DENGI_WALLET": "12345"},
])
def test_live_credentials_missing_or_wrong_raise(change: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="KOPEK_YANDEX_DENGI_"):
        YandexDengiCredentials.from_settings(Settings(mode="live"), env={**LIVE_ENV, **change})
