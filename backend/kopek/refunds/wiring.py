"""Plugging refunds into the app."""

from __future__ import annotations

from typing import AsyncIterator

from aiohttp import web

from kopek import keys
from kopek.refunds import views
from kopek.refunds.service import RefundService


def setup(app: web.Application) -> None:
    """Call after the services' cleanup context: refunds need the store and the connectors."""
    app.router.add_routes(views.routes)
    app.cleanup_ctx.append(_refunds)


async def _refunds(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    app[keys.REFUNDS] = RefundService(app[keys.STORE], app[keys.CONNECTORS], settings.max_attempts_per_payment)
    yield
