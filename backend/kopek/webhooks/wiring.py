"""Plugging webhooks into the app: their routes, and one cleanup context for the sender."""

from __future__ import annotations

import asyncio
from typing import AsyncIterator

from aiohttp import web

from kopek import keys
from kopek.store.webhooks import WebhookStore
from kopek.web import webhooks as webhook_routes
from kopek.webhooks.endpoints import WebhookEndpoints
from kopek.webhooks.sender import MAX_IN_FLIGHT, WebhookSender
from kopek.webhooks.transport import webhook_session


def setup(app: web.Application) -> None:
    """Call after the database's cleanup context is registered: the sender needs the store."""
    app.router.add_routes(webhook_routes.routes)
    app.cleanup_ctx.append(_webhooks)


async def _webhooks(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    store = WebhookStore(app[keys.STORE])
    secret_keys = app[keys.KEYRING].purpose("webhook_secret")
    # Its own session: redirects are never followed, and in live mode the resolver refuses private addresses.
    async with webhook_session(guard_addresses=not settings.sandbox, max_connections=MAX_IN_FLIGHT) as session:
        sender = WebhookSender(store, session, secret_keys, settings)
        app[keys.WEBHOOK_ENDPOINTS] = WebhookEndpoints(store, settings, secret_keys)
        app[keys.WEBHOOK_SENDER] = sender
        task = asyncio.create_task(sender.run_forever())
        yield
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
