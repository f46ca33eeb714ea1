"""Every typed application key in one place."""

from __future__ import annotations

import aiohttp
from aiohttp import web

from kopek.accounts.service import Accounts
from kopek.buttons import ButtonService
from kopek.idempotency import IdempotencyGuard
from kopek.keyring import Keyring
from kopek.ledger.service import Ledger
from kopek.live.hub import LiveHub
from kopek.payments.attempts import AttemptFlow
from kopek.payments.callbacks import CallbackReceiver
from kopek.payments.reconciler import Reconciler
from kopek.payments.service import PaymentService
from kopek.refunds.service import RefundService
from kopek.providers.breaker import GuardedConnector
from kopek.providers.sandbox.faults import FaultInjector
from kopek.providers.sandbox.phone import SandboxPhone
from kopek.settings import Settings
from kopek.store.sqlite import SqliteStore
from kopek.limits import Limits
from kopek.web.ratelimit import RateLimiter
from kopek.webhooks.endpoints import WebhookEndpoints
from kopek.webhooks.sender import WebhookSender
from kopek.webhooks.test_receiver import BuiltInReceiver
from kopek.web.dashboard.visitor import VisitorTokens

SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey("store", SqliteStore)
KEYRING = web.AppKey("keyring", Keyring)
HTTP = web.AppKey("http", aiohttp.ClientSession)
HUB = web.AppKey("hub", LiveHub)
PHONE = web.AppKey("phone", SandboxPhone)
SANDBOX_FAULTS = web.AppKey("sandbox_faults", FaultInjector)
CONNECTORS = web.AppKey("connectors", dict[str, GuardedConnector])
PAYMENTS = web.AppKey("payments", PaymentService)
ATTEMPTS = web.AppKey("attempts", AttemptFlow)
CALLBACKS = web.AppKey("callbacks", CallbackReceiver)
RECONCILER = web.AppKey("reconciler", Reconciler)
LIMITS = web.AppKey("limits", Limits)
TRUSTED_PROXIES = web.AppKey("trusted_proxies", tuple)
SANDBOX_MERCHANT_ID = web.AppKey("sandbox_merchant_id", str)
IDEMPOTENCY = web.AppKey("idempotency", IdempotencyGuard)
WEBHOOK_ENDPOINTS = web.AppKey("webhook_endpoints", WebhookEndpoints)
WEBHOOK_SENDER = web.AppKey("webhook_sender", WebhookSender)
BUTTONS = web.AppKey("buttons", ButtonService)
BUTTON_CHECKOUTS_PER_IP = web.AppKey("button_checkouts_per_ip", RateLimiter)
BUTTON_CHECKOUTS_PER_BUTTON = web.AppKey("button_checkouts_per_button", RateLimiter)
LEDGER = web.AppKey("ledger", Ledger)
REFUNDS = web.AppKey("refunds", RefundService)
ACCOUNTS = web.AppKey("accounts", Accounts)
VISITOR_TOKENS = web.AppKey("dashboard_visitor_tokens", VisitorTokens)
BUILT_IN_RECEIVER = web.AppKey("built_in_webhook_receiver", BuiltInReceiver)
