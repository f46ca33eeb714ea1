"""create_app(settings): wiring only. Each resource has one cleanup context."""

from __future__ import annotations

import asyncio
import logging
from typing import AsyncIterator, Awaitable, Callable

import aiohttp
import aiohttp_jinja2
import jinja2
from aiohttp import web

from kopek import keys
from kopek.client_address import parse_networks
from kopek.ledger import wiring as ledger
from kopek.limits import Limits
from kopek.live.hub import LiveHub
from kopek.master_key import open_keyring
from kopek.merchants import ensure_sandbox_merchant
from kopek.payments.attempts import AttemptFlow
from kopek.payments.callbacks import CallbackReceiver
from kopek.payments.guesses import GuessLimits
from kopek.payments.precheck import PreCheck
from kopek.payments.reconciler import Reconciler
from kopek.payments.service import PaymentService
from kopek.providers import registry
from kopek.providers.breaker import guard_all
from kopek.providers.plugin import SimulatorContext
from kopek.providers.sandbox.faults import FaultInjector, FaultSettings
from kopek.providers.sandbox.phone import SandboxPhone
from kopek.providers.sandbox.scoping import scope_all, send_workspace
from kopek.refunds import wiring as refunds
from kopek.resources import templates_dir
from kopek.settings import Settings
from kopek.store.sqlite import SqliteStore
from kopek.web import (
    api, buttons, callbacks, checkout, dashboard, events, hosted, idempotency, live, merchant, openapi, sandbox_console,
    widget,
)
from kopek.web.encoding import utf8_middleware
from kopek.web.middlewares import errors_middleware, security_headers_middleware
from kopek.web.sandbox_console.workspace import PaymentWorkspaces
from kopek.webhooks import wiring as webhooks
from kopek.webhooks.transport import webhook_session

log = logging.getLogger(__name__)


def create_app(settings: Settings) -> web.Application:
    app = web.Application(client_max_size=settings.max_body_bytes,
                          middlewares=[security_headers_middleware, errors_middleware, utf8_middleware])
    app[keys.SETTINGS] = settings
    app[keys.HUB] = LiveHub(settings.ws_queue_max)
    app[keys.PHONE] = SandboxPhone()
    app[keys.SANDBOX_FAULTS] = FaultInjector(FaultSettings.parse(settings.sandbox_faults))
    app[keys.LIMITS] = Limits()
    app[keys.TRUSTED_PROXIES] = parse_networks(settings.trusted_proxies)
    aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(templates_dir()), autoescape=True)
    app.cleanup_ctx.extend([_database, _http_client, _services, _background_jobs])
    webhooks.setup(app)  # after the database: its sender drains the outbox
    idempotency.setup(app)
    hosted.setup(app)
    buttons.setup(app)  # after the database: the button service reads the store
    ledger.setup(app)  # after the database: the booking hook and provider settlements need the store
    refunds.setup(app)  # after the services: refunds need the store and the connectors
    dashboard.setup(app)  # after the database: accounts and sessions live in the store
    for module in (api, merchant, checkout, live, callbacks, widget, openapi, events):
        app.router.add_routes(module.routes)
    if settings.sandbox:
        sandbox_console.setup(app)  # the console and its built-in webhook receiver (after the database)
        context = SimulatorContext(app[keys.PHONE], settings.sandbox_time_scale, app[keys.SANDBOX_FAULTS])
        for wallet, simulator in registry.build_simulators(context).items():
            app.add_subapp(f"/sandbox/providers/{wallet}/", simulator)
    return app


async def _database(app: web.Application) -> AsyncIterator[None]:
    store = SqliteStore(app[keys.SETTINGS].db_path)
    await store.open()
    try:
        app[keys.KEYRING] = await open_keyring(app[keys.SETTINGS], store)
    except BaseException:
        await store.close()
        raise
    app[keys.STORE] = store
    yield
    await store.close()


async def _http_client(app: web.Application) -> AsyncIterator[None]:
    timeout = aiohttp.ClientTimeout(total=app[keys.SETTINGS].provider_timeout_s)
    # In sandbox mode, provider calls tell the simulators whose console workspace they serve.
    middlewares = (send_workspace,) if app[keys.SETTINGS].sandbox else ()
    async with aiohttp.ClientSession(timeout=timeout, middlewares=middlewares) as session:
        app[keys.HTTP] = session
        yield


async def _services(app: web.Application) -> AsyncIterator[None]:
    settings, store = app[keys.SETTINGS], app[keys.STORE]
    keyring = app[keys.KEYRING]
    built = registry.build_connectors(settings, app[keys.HTTP])
    if settings.sandbox:
        built = scope_all(built, PaymentWorkspaces(app))
    connectors = guard_all(built, settings.breaker_failures, settings.breaker_open_s)
    service = PaymentService(store=store, hub=app[keys.HUB], settings=settings, wallets=registry.WALLETS,
                             client_keys=keyring.purpose("client_secret"),
                             is_available=lambda wallet_id: connectors[wallet_id].available)
    app[keys.CONNECTORS] = connectors
    app[keys.PAYMENTS] = service
    # The shop's check URL is reached like a webhook: in live mode every address it connects to is checked.
    async with webhook_session(guard_addresses=not settings.sandbox, max_connections=8) as shop_http:
        precheck = PreCheck(shop_http, keyring.purpose("check_secret"), settings.check_timeout_s)
        guesses = GuessLimits(app[keys.LIMITS], settings, keyring.purpose("account_key").current)
        app[keys.ATTEMPTS] = AttemptFlow(service, connectors, settings.public_base_url, precheck, guesses)
        app[keys.RECONCILER] = Reconciler(app[keys.ATTEMPTS])
        app[keys.CALLBACKS] = CallbackReceiver(app[keys.ATTEMPTS], app[keys.RECONCILER], app[keys.LIMITS])
        if settings.sandbox:
            app[keys.SANDBOX_MERCHANT_ID] = (await ensure_sandbox_merchant(store, settings)).merchant.id
        yield


async def _background_jobs(app: web.Application) -> AsyncIterator[None]:
    """Expiry and reconciliation run beside the server and stop with it."""
    service, settings = app[keys.PAYMENTS], app[keys.SETTINGS]
    tasks = [asyncio.create_task(_every(settings.expiry_sweep_interval_s, service.expire_due, "expiry sweep")),
             asyncio.create_task(app[keys.RECONCILER].run_forever())]
    yield
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def _every(interval_s: float, job: Callable[[], Awaitable[object]], name: str) -> None:
    while True:
        try:
            await job()
        except Exception:  # one bad round must not stop the next
            log.exception("%s failed", name)
        await asyncio.sleep(interval_s)
