"""The refunds API, authorised by a secret key."""

from __future__ import annotations

from aiohttp import web

from kopek import keys
from kopek.refunds.schemas import RefundCreateSchema, RefundListQuerySchema
from kopek.refunds.service import refund_object
from kopek.web.requests import authenticate, read_json, read_query

routes = web.RouteTableDef()


@routes.post("/v1/refunds")
async def create_refund(request: web.Request) -> web.Response:
    api_key = await authenticate(request)
    data = await read_json(request, RefundCreateSchema)
    payment = await request.app[keys.PAYMENTS].get_for_merchant(api_key.merchant_id, api_key.livemode,
                                                                data["payment"])
    refund = await request.app[keys.REFUNDS].create(payment, data)
    return web.json_response(refund_object(refund), status=200 if refund.status != "pending" else 202)


@routes.get("/v1/refunds/{id}")
async def get_refund(request: web.Request) -> web.Response:
    api_key = await authenticate(request)
    refunds = request.app[keys.REFUNDS]
    refund = await refunds.get_for_merchant(api_key.merchant_id, api_key.livemode, request.match_info["id"])
    return web.json_response(refund_object(await refunds.refresh(refund)))


@routes.get("/v1/refunds")
async def list_refunds(request: web.Request) -> web.Response:
    api_key = await authenticate(request)
    query = read_query(request, RefundListQuerySchema)
    payment = await request.app[keys.PAYMENTS].get_for_merchant(api_key.merchant_id, api_key.livemode,
                                                                query["payment"])
    rows = await request.app[keys.REFUNDS].refunds.for_payment(payment.id)
    return web.json_response({"object": "list", "data": [refund_object(r) for r in rows], "has_more": False})
