"""The developer sandbox console at /sandbox (sandbox servers only): start a test payment with a
magic wallet and watch it through the widget's events, the sandbox phone, the approval page and
the built-in webhook receiver; copy snippets filled with the merchant's own test keys; inject
provider faults. Server-rendered, it works without JavaScript; console.js makes it live."""

from __future__ import annotations

from aiohttp import web

from kopek.web.sandbox_console import console, faults, live, receiver

ROUTE_MODULES = (console, faults, live, receiver)
routes = [route for module in ROUTE_MODULES for route in module.routes]


def setup(app: web.Application) -> None:
    """Call after the database's and the webhooks' cleanup contexts are registered."""
    app.router.add_routes(routes)
    app.cleanup_ctx.append(receiver.receiver_context)
