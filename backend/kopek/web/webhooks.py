"""/v1/webhook_endpoints: a shop's webhook endpoints and their delivery log, by secret key."""

from __future__ import annotations

from aiohttp import web

from kopek import keys
from kopek.store.webhooks import WebhookEndpoint
from kopek.web.requests import authenticate, read_json, read_query
from kopek.webhooks.schemas import (
    DeliveryListQuerySchema, EmptySchema, EndpointCreateSchema, EndpointUpdateSchema, RotateSecretSchema,
)
from kopek.webhooks.views import delivery_object, endpoint_object

routes = web.RouteTableDef()
BASE = "/v1/webhook_endpoints"


@routes.post(BASE)
async def create_endpoint(request: web.Request) -> web.Response:
    api_key = await authenticate(request)
    data = await read_json(request, EndpointCreateSchema)
    created = await request.app[keys.WEBHOOK_ENDPOINTS].create(
        merchant_id=api_key.merchant_id, livemode=api_key.livemode, data=data)
    return web.json_response({**endpoint_object(created.endpoint), "secret": created.secret}, status=201)


@routes.get(BASE)
async def list_endpoints(request: web.Request) -> web.Response:
    api_key = await authenticate(request)
    found = await request.app[keys.WEBHOOK_ENDPOINTS].list(api_key.merchant_id, api_key.livemode)
    return web.json_response({"object": "list", "data": [endpoint_object(e) for e in found]})


@routes.get(BASE + "/{id}")
async def get_endpoint(request: web.Request) -> web.Response:
    return web.json_response(endpoint_object(await _endpoint(request)))


@routes.post(BASE + "/{id}")
async def update_endpoint(request: web.Request) -> web.Response:
    endpoint = await _endpoint(request)
    data = await read_json(request, EndpointUpdateSchema)
    return web.json_response(endpoint_object(await request.app[keys.WEBHOOK_ENDPOINTS].update(endpoint, data)))


@routes.delete(BASE + "/{id}")
async def delete_endpoint(request: web.Request) -> web.Response:
    endpoint = await _endpoint(request)
    await request.app[keys.WEBHOOK_ENDPOINTS].delete(endpoint)
    return web.json_response({"id": endpoint.id, "object": "webhook_endpoint", "deleted": True})


@routes.post(BASE + "/{id}/rotate_secret")
async def rotate_secret(request: web.Request) -> web.Response:
    endpoint = await _endpoint(request)
    data = await read_json(request, RotateSecretSchema)
    rotated = await request.app[keys.WEBHOOK_ENDPOINTS].rotate_secret(endpoint, data["overlap_s"])
    return web.json_response({**endpoint_object(rotated.endpoint), "secret": rotated.secret})


@routes.post(BASE + "/{id}/test")
async def send_test(request: web.Request) -> web.Response:
    endpoint = await _endpoint(request)
    await read_json(request, EmptySchema)
    await request.app[keys.WEBHOOK_ENDPOINTS].require_can_test(endpoint)
    delivery = await request.app[keys.WEBHOOK_SENDER].send_test(endpoint)
    return web.json_response(delivery_object(delivery, []), status=202)


@routes.get(BASE + "/{id}/deliveries")
async def list_deliveries(request: web.Request) -> web.Response:
    endpoint = await _endpoint(request)
    query = read_query(request, DeliveryListQuerySchema)
    rows, has_more = await request.app[keys.WEBHOOK_ENDPOINTS].deliveries(
        endpoint, query["limit"], query.get("starting_after"))
    return web.json_response({"object": "list", "data": [delivery_object(d, a) for d, a in rows],
                              "has_more": has_more})


@routes.post(BASE + "/{id}/deliveries/{delivery_id}/redeliver")
async def redeliver(request: web.Request) -> web.Response:
    endpoint = await _endpoint(request)
    await read_json(request, EmptySchema)
    service = request.app[keys.WEBHOOK_ENDPOINTS]
    delivery = await service.delivery(endpoint, request.match_info["delivery_id"])
    service.require_enabled(endpoint)
    requeued = await request.app[keys.WEBHOOK_SENDER].redeliver(delivery.id) or delivery
    return web.json_response(delivery_object(requeued, []), status=202)


async def _endpoint(request: web.Request) -> WebhookEndpoint:
    api_key = await authenticate(request)
    return await request.app[keys.WEBHOOK_ENDPOINTS].get(api_key.merchant_id, api_key.livemode,
                                                         request.match_info["id"])
