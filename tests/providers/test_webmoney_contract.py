"""WebMoney beyond the shared contract (test_contract.py runs WebMoney's driver through that):
credentials, the retry policy per operation, idempotent start, resends and shutdown."""

from __future__ import annotations

import asyncio
import re
import time

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from kopek.providers import registry
from kopek.providers.contract import AttemptRequest, Outcome, ProviderError
from kopek.providers.plugin import SimulatorContext
from kopek.providers.sandbox.faults import FaultInjector, FaultSettings
from kopek.providers.sandbox.magic import ENDINGS, Magic
from kopek.providers.sandbox.phone import SandboxPhone
from kopek.providers.webmoney import PLUGIN
from kopek.providers.webmoney import connector as wm_connector
from kopek.providers.webmoney import protocol as wm_protocol
from kopek.providers.webmoney import simulator as wm_simulator
from kopek.settings import Settings
from test_contract import ENDING_OF, TIME_SCALE, TIMEOUT_S, WEBMONEY, Harness, harness  # noqa: F401  (fixture)

only_webmoney = pytest.mark.parametrize("harness", [WEBMONEY], ids=["webmoney"], indirect=True)


def _connector(base_url: str, http: aiohttp.ClientSession,
               credentials: wm_connector.WebMoneyCredentials | None = None) -> wm_connector.WebMoneyConnector:
    credentials = credentials or wm_connector.WebMoneyCredentials.from_settings(Settings(mode="sandbox"))
    return wm_connector.WebMoneyConnector(base_url=base_url, credentials=credentials, http=http, timeout_s=TIMEOUT_S)


# ---- credentials --------------------------------------------------------------------------

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


@only_webmoney
async def test_request_with_a_wrong_key_is_refused(harness: Harness, http: aiohttp.ClientSession) -> None:
    sandbox = wm_protocol.SANDBOX_CREDENTIALS
    wrong = wm_connector.WebMoneyCredentials(sandbox.wmid, sandbox.purses, "not the key", sandbox.notify_secret)
    with pytest.raises(ProviderError, match="signature"):
        await _connector(harness.provider_url, http, wrong).start(harness.request(Magic.SUCCEED))


async def test_currency_without_a_purse_is_a_provider_error(http: aiohttp.ClientSession) -> None:
    creds = wm_connector.WebMoneyCredentials.from_settings(Settings(mode="live"), env=LIVE_ENV)
    request = AttemptRequest("att_1", "pay_1", 500, "EUR", "Tea", {"account": "R123456789012"}, "http://x/cb")
    with pytest.raises(ProviderError, match="EUR"):
        await _connector("http://127.0.0.1:9", http, creds).start(request)


async def test_callback_reply_is_plain_yes(http: aiohttp.ClientSession) -> None:
    connector = _connector("http://127.0.0.1:9", http)
    reply = connector.callback_reply(True)
    assert (reply.status, reply.body, reply.content_type) == (200, b"YES", "text/plain")
    assert connector.callback_reply(False).status != 200


# ---- the magic table ------------------------------------------------------------------------

def test_magic_accounts_are_valid_and_cover_the_shared_table() -> None:
    for row in wm_simulator.MAGIC_ACCOUNTS:
        assert set(row) == {"account", "ending", "outcome_en", "outcome_ru"}
        assert re.fullmatch(wm_protocol.ACCOUNT_PATTERN, row["account"])
        assert row["account"].endswith(row["ending"])
    assert [row["ending"] for row in wm_simulator.MAGIC_ACCOUNTS] == list(ENDINGS)
    assert registry.magic_accounts("webmoney") == wm_simulator.MAGIC_ACCOUNTS
    assert PLUGIN.example_details(PLUGIN.example_account("01")) == {"account": "R100000000001"}


# ---- start: declines, idempotency ------------------------------------------------------------

@only_webmoney
async def test_decline_at_start_has_no_provider_ref(harness: Harness) -> None:
    started = await harness.connector.start(harness.request(Magic.NOT_FOUND))
    assert (started.outcome, started.provider_ref) == (Outcome.DECLINED, None)


@only_webmoney
async def test_reused_payment_no_for_another_payment_is_refused(harness: Harness) -> None:
    request = harness.request(Magic.SUCCEED)
    await harness.connector.start(request)
    other = AttemptRequest(request.attempt_id, request.payment_id, request.amount + 1, request.currency,
                           request.description, request.details, request.callback_url)
    with pytest.raises(ProviderError, match="lmi_payment_no"):
        await harness.connector.start(other)


# ---- the retry policy per operation -----------------------------------------------------------

@pytest.fixture
async def always_503(aiohttp_server) -> tuple[str, list[str]]:
    """A provider that always answers 503, and the endpoints it was asked, in order."""
    asked: list[str] = []

    async def handle(request: web.Request) -> web.Response:
        asked.append(request.match_info["endpoint"])
        return web.Response(status=503)

    app = web.Application()
    app.router.add_post("/{endpoint}", handle)
    server = await aiohttp_server(app)
    return str(server.make_url("")), asked


REF = wm_protocol.provider_ref("R000000000001", "123456789")


async def test_start_and_status_are_retried(always_503, http: aiohttp.ClientSession) -> None:
    base_url, asked = always_503
    connector = _connector(base_url, http)
    request = AttemptRequest("att_1", "pay_1", 500, "RUB", "Tea", {"account": "R123456789012"}, "http://x/cb")
    with pytest.raises(ProviderError):
        await connector.start(request)
    with pytest.raises(ProviderError):
        await connector.fetch_status(REF)
    assert asked == ["XMLTransRequest.asp"] * 3 + ["XMLTransGet.asp"] * 3


async def test_confirm_and_resend_are_sent_once(always_503, http: aiohttp.ClientSession) -> None:
    base_url, asked = always_503
    connector = _connector(base_url, http)
    with pytest.raises(ProviderError) as raised:
        await connector.confirm(REF, "123456")
    assert "123456" not in str(raised.value)
    with pytest.raises(ProviderError):
        await connector.resend_code(REF)
    assert asked == ["XMLTransConfirm.asp", "XMLTransResend.asp"]


# ---- resends ----------------------------------------------------------------------------

@only_webmoney
async def test_resend_after_the_code_was_accepted_is_refused(harness: Harness) -> None:
    request, started, _ = await harness.start_and_authorise(Magic.SUCCEED)
    with pytest.raises(ProviderError, match="not awaiting a code"):
        await harness.connector.resend_code(started.provider_ref)
    assert len(harness.codes_for(request)) == 1


@only_webmoney
async def test_resend_for_a_wallet_that_never_answers_texts_nothing(harness: Harness) -> None:
    request = harness.request(Magic.NEVER_ANSWERS)
    started = await harness.connector.start(request)
    await harness.connector.resend_code(started.provider_ref)
    assert harness.codes_for(request) == []
    assert (await harness.connector.fetch_status(started.provider_ref)).raw_status == "awaiting_code"


# ---- shutdown -----------------------------------------------------------------------------

async def test_stalled_start_is_released_when_the_simulator_shuts_down(http: aiohttp.ClientSession) -> None:
    context = SimulatorContext(SandboxPhone(), TIME_SCALE, FaultInjector(FaultSettings()))
    server = TestServer(wm_simulator.create_simulator_app(context))
    await server.start_server()
    connector = wm_connector.WebMoneyConnector(
        base_url=str(server.make_url("")), http=http, timeout_s=30.0,
        credentials=wm_connector.WebMoneyCredentials.from_settings(Settings(mode="sandbox")))
    account = {"account": wm_simulator.example_account(ENDING_OF[Magic.TIMEOUT])}
    start = asyncio.create_task(connector.start(
        AttemptRequest("att_1", "pay_1", 500, "RUB", "Tea", account, "http://127.0.0.1:9/cb")))
    await asyncio.sleep(0.2)
    assert not start.done(), "the timeout wallet must stall XMLTransRequest"
    begun = time.monotonic()
    await server.close()
    assert time.monotonic() - begun < 2.0
    with pytest.raises(ProviderError):
        await start

