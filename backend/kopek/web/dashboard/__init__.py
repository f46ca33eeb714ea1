"""The merchant dashboard: server-rendered pages under /dashboard that work without JavaScript."""

from __future__ import annotations

import warnings
from typing import AsyncIterator

import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import session_middleware

from kopek import keys
from kopek.accounts.service import Accounts, LoginThrottle
from kopek.web.dashboard import accounts, buttons, money, payments, settings, webhooks
from kopek.web.dashboard.filters import FILTERS
from kopek.web.dashboard.sessions import SqliteSessionStorage
from kopek.web.dashboard.visitor import VisitorTokens, set_pending_cookies

ROUTE_MODULES = (accounts, payments, money, settings, webhooks, buttons)
# aiohttp-session keeps its storage under string request keys (its own choice, harmless).
warnings.filterwarnings("ignore", category=web.NotAppKeyWarning, module="aiohttp_session")


def setup(app: web.Application) -> None:
    """Call after the database's cleanup context: the sessions and accounts live in the store."""
    config = app[keys.SETTINGS]
    storage = SqliteSessionStorage(lambda: app[keys.ACCOUNTS].store, max_age=config.session_ttl_s)
    # Inside the security headers, outside the JSON errors: a redirect still saves the session.
    app.middlewares.insert(1, session_middleware(storage))
    aiohttp_jinja2.get_env(app).filters.update(FILTERS)
    app.cleanup_ctx.append(_accounts)
    app.on_response_prepare.append(set_pending_cookies)
    for module in ROUTE_MODULES:
        app.router.add_routes(module.routes)


async def _accounts(app: web.Application) -> AsyncIterator[None]:
    config = app[keys.SETTINGS]
    app[keys.ACCOUNTS] = Accounts(app[keys.STORE], LoginThrottle(
        app[keys.LIMITS], config.login_failures_per_email, config.login_failures_per_ip, config.login_failure_window_s))
    app[keys.VISITOR_TOKENS] = VisitorTokens(app[keys.KEYRING].purpose("dashboard_form").current)
    yield
