"""GET /v1/events: the merchant's events, oldest first, for shops that poll (secret key)."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from multidict import MultiMapping

from kopek import keys
from kopek.payments.feed import EventFeed
from kopek.payments.feed_schemas import EventFeedQuerySchema
from kopek.web.requests import authenticate, load

routes = web.RouteTableDef()


@routes.get("/v1/events")
async def list_events(request: web.Request) -> web.Response:
    api_key = await authenticate(request)
    query = load(EventFeedQuerySchema, feed_query(request.query))
    page = await EventFeed(request.app[keys.STORE]).page(
        merchant_id=api_key.merchant_id, livemode=api_key.livemode, after=query["after"], types=query["type"],
        limit=query["limit"])
    return web.json_response(page)


def feed_query(query: MultiMapping[str]) -> dict[str, Any]:
    """`type` may repeat; any other parameter given twice stays a list, and the schema refuses it."""
    data: dict[str, Any] = {}
    for name in dict.fromkeys(query):
        values = query.getall(name)
        data[name] = values if name == "type" or len(values) > 1 else values[0]
    return data
