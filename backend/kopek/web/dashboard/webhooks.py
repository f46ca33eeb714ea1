"""Dashboard webhooks: endpoints, their delivery log, redelivery and test events.

from __future__ import annotations

from aiohttp import web

routes = web.RouteTableDef()
