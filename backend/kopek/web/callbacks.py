"""Where providers send their notifications: /v1/providers/{wallet}/callback."""

from __future__ import annotations

from aiohttp import web

from kopek import keys
from kopek.limits import Rate
from kopek.web.requests import client_ip

routes = web.RouteTableDef()


@routes.post("/v1/providers/{wallet}/callback")
async def provider_callback(request: web.Request) -> web.Response:
    per_s = request.app[keys.SETTINGS].callbacks_per_source_per_s
    await request.app[keys.LIMITS].take(Rate("callbacks_per_source", per_s, 1.0), client_ip(request))
    body = await request.read()
    reply = await request.app[keys.CALLBACKS].receive(request.match_info["wallet"], body, request.headers)
    return web.Response(status=reply.status, body=reply.body, content_type=reply.content_type)
