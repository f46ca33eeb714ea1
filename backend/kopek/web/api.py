"""The server API for shops: /v1/payments and /v1/wallets, authorised by a secret key."""

from __future__ import annotations

from aiohttp import web

from kopek import keys
from kopek.errors import NotFound
from kopek.payments.schemas import EventsQuerySchema, PaymentCreateSchema, PaymentListQuerySchema, WalletUpdateSchema
from kopek.payments.views import event_object
from kopek.providers.contract import WalletInfo
from kopek.web.requests import authenticate, read_json, read_query

routes = web.RouteTableDef()


@routes.post("/v1/payments")
async def create_payment(request: web.Request) -> web.Response:
    api_key = await authenticate(request)
    data = await read_json(request, PaymentCreateSchema)
    service = request.app[keys.PAYMENTS]
    payment = await service.create(merchant_id=api_key.merchant_id, livemode=api_key.livemode, data=data)
    return web.json_response(service.public(payment), status=201)


@routes.get("/v1/payments")
async def list_payments(request: web.Request) -> web.Response:
    api_key = await authenticate(request)
    query = read_query(request, PaymentListQuerySchema)
    service = request.app[keys.PAYMENTS]
    rows, has_more = await service.list(merchant_id=api_key.merchant_id, livemode=api_key.livemode, query=query)
    return web.json_response({"object": "list", "data": [service.public(p) for p in rows], "has_more": has_more})


@routes.get("/v1/payments/{id}")
async def get_payment(request: web.Request) -> web.Response:
    api_key = await authenticate(request)
    service = request.app[keys.PAYMENTS]
    payment = await service.get_for_merchant(api_key.merchant_id, api_key.livemode, request.match_info["id"])
    return web.json_response(service.public(payment))


@routes.post("/v1/payments/{id}/cancel")
async def cancel_payment(request: web.Request) -> web.Response:
    api_key = await authenticate(request)
    service = request.app[keys.PAYMENTS]
    payment = await service.get_for_merchant(api_key.merchant_id, api_key.livemode, request.match_info["id"])
    return web.json_response(service.public(await service.cancel(payment)))


@routes.get("/v1/payments/{id}/events")
async def payment_events(request: web.Request) -> web.Response:
    api_key = await authenticate(request)
    query = read_query(request, EventsQuerySchema)
    service = request.app[keys.PAYMENTS]
    payment = await service.get_for_merchant(api_key.merchant_id, api_key.livemode, request.match_info["id"])
    rows, has_more = await service.events(payment, query["after"], query["limit"])
    return web.json_response({"object": "list", "data": [event_object(e) for e in rows], "has_more": has_more})


@routes.get("/v1/wallets")
async def list_wallets(request: web.Request) -> web.Response:
    api_key = await authenticate(request)
    return web.json_response({"object": "list", "data": await merchant_wallets(request, api_key.merchant_id)})


@routes.post("/v1/wallets/{id}")
async def update_wallet(request: web.Request) -> web.Response:
    """Enable or disable a wallet for this merchant: {"enabled": false}."""
    api_key = await authenticate(request)
    data = await read_json(request, WalletUpdateSchema)
    wallet_id = request.match_info["id"]
    if wallet_id not in request.app[keys.PAYMENTS].wallets:
        raise NotFound(f"no such wallet: {wallet_id}", param="id")
    await request.app[keys.STORE].set_wallet_enabled(api_key.merchant_id, wallet_id, data["enabled"])
    wallets = await merchant_wallets(request, api_key.merchant_id)
    return web.json_response(next(w for w in wallets if w["id"] == wallet_id))


async def merchant_wallets(request: web.Request, merchant_id: str) -> list[dict[str, object]]:
    service = request.app[keys.PAYMENTS]
    disabled = await request.app[keys.STORE].disabled_wallets(merchant_id)
    return [{**wallet_object(w), "enabled": w.id not in disabled, "available": service.is_available(w.id)}
            for w in service.wallets.values()]


def wallet_object(wallet: WalletInfo) -> dict[str, object]:
    return {
        "id": wallet.id,
        "object": "wallet",
        "name": {"en": wallet.name_en, "ru": wallet.name_ru},
        "confirmation": wallet.confirmation.value,
        "code_length": wallet.code_length,
        "fields": [field.to_json() for field in wallet.fields],
        "limits": [{"currency": lim.currency, "min_amount": lim.min_amount, "max_amount": lim.max_amount}
                   for lim in wallet.limits],
    }
