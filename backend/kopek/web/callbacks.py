"""Where providers send their notifications: /v1/providers/{wallet}/callback."""

from __future__ import annotations

from aiohttp import web

from kopek import keys

routes = web.RouteTableDef()


@routes.post("/v1/providers/{wallet}/callback")
async def provider_callback(request: web.Request) -> web.Response:
    body = await request.read()
    reply = await request.app[keys.CALLBACKS].receive(request.match_info["wallet"], body, request.headers)
    return web.Response(status=reply.status, body=reply.body, content_type=reply.content_type)
