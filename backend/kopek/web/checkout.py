"""The checkout frame's endpoints, authorised by the payment's client secret (a header, never a URL)."""

from __future__ import annotations

import re

import aiohttp_jinja2
from aiohttp import web

from kopek import keys
from kopek.errors import InvalidRequest, KopekError
from kopek.merchants import normalize_origin
from kopek.payments.schemas import AttemptCreateSchema, ConfirmSchema, EmptySchema, EventsQuerySchema
from kopek.payments.views import checkout_view, event_object
from kopek.store.records import Payment
from kopek.web.api import wallet_object
from kopek.web.compression import gzip_if_accepted
from kopek.web.csp import frame_csp
from kopek.web.inline_assets import inline_asset
from kopek.web.requests import admit_client_secret_guess, client_ip, client_secret, read_json, read_query

routes = web.RouteTableDef()
IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_\-]{8,255}$")


async def checkout_payment(request: web.Request, secret: str | None = None) -> Payment:
    """The payment its client secret opens. A wrong secret counts against the payment and the address;
    the secret is checked (an HMAC, no await) between counting and forgiving, so concurrent guesses
    cannot slip under the limit and right secrets never count."""
    payment_id = request.match_info["id"]
    service = request.app[keys.PAYMENTS]
    ticket = await admit_client_secret_guess(request, payment_id)
    service.check_client_secret(payment_id, secret if secret is not None else client_secret(request))
    await request.app[keys.LIMITS].forgive(ticket)
    return await service.for_client_secret(payment_id)


async def checkout_state(request: web.Request, payment: Payment) -> dict[str, object]:
    service = request.app[keys.PAYMENTS]
    return {"payment": checkout_view(service.snapshot(payment)),
            "wallets": [{**wallet_object(w), "available": up} for w, up in await service.offered_wallets(payment)],
            "seq": payment.last_seq}


@routes.get("/v1/checkout/{id}")
async def get_checkout(request: web.Request) -> web.Response:
    payment = await checkout_payment(request)
    return gzip_if_accepted(request, web.json_response(await checkout_state(request, payment)))


@routes.post("/v1/checkout/{id}/attempts")
async def create_attempt(request: web.Request) -> web.Response:
    payment = await checkout_payment(request)
    data = await read_json(request, AttemptCreateSchema)
    key = request.headers.get("Idempotency-Key", "")
    if not IDEMPOTENCY_KEY.match(key):
        raise InvalidRequest("send a fresh Idempotency-Key header (8-255 letters, digits, - or _) per attempt",
                             param="Idempotency-Key", code="idempotency_key_invalid")
    payment = await request.app[keys.ATTEMPTS].start(payment, data["wallet"], data["details"], key,
                                                      client_ip(request))
    return web.json_response({"payment": checkout_view(request.app[keys.PAYMENTS].snapshot(payment))})


@routes.post("/v1/checkout/{id}/confirm")
async def confirm(request: web.Request) -> web.Response:
    payment = await checkout_payment(request)
    data = await read_json(request, ConfirmSchema)
    payment = await request.app[keys.ATTEMPTS].confirm(payment, data["code"], client_ip(request))
    return web.json_response({"payment": checkout_view(request.app[keys.PAYMENTS].snapshot(payment))})


@routes.post("/v1/checkout/{id}/resend")
async def resend(request: web.Request) -> web.Response:
    payment = await checkout_payment(request)
    await read_json(request, EmptySchema)
    payment = await request.app[keys.ATTEMPTS].resend(payment, client_ip(request))
    return web.json_response({"payment": checkout_view(request.app[keys.PAYMENTS].snapshot(payment))})


@routes.post("/v1/checkout/{id}/cancel")
async def cancel(request: web.Request) -> web.Response:
    service = request.app[keys.PAYMENTS]
    payment = await service.cancel(await checkout_payment(request))
    return web.json_response({"payment": checkout_view(service.snapshot(payment))})


@routes.get("/v1/checkout/{id}/events")
async def events(request: web.Request) -> web.Response:
    payment = await checkout_payment(request)
    query = read_query(request, EventsQuerySchema)
    service = request.app[keys.PAYMENTS]
    rows, has_more = await service.events(payment, query["after"], query["limit"])
    return web.json_response({"data": [event_object(e, shopper_view=True) for e in rows],
                              "has_more": has_more, "payment": checkout_view(service.snapshot(payment))})


@routes.get("/v1/checkout/{id}/frame")
async def frame(request: web.Request) -> web.Response:
    """The iframe page. Only the merchant's allowed origins may frame it (CSP frame-ancestors)."""
    payment = await request.app[keys.STORE].get_payment(request.match_info["id"])
    origins = await _frame_ancestors(request, payment.merchant_id) if payment else ()
    parent_origin = request.query.get("origin", "")
    locale = "ru" if request.query.get("locale") == "ru" else "en"
    if payment is None or parent_origin not in origins:
        error = KopekError("This page may not show the checkout.", code="origin_not_allowed")
        error.status = 403 if payment else 404
        return _error_page(request, error, locale)
    settings = request.app[keys.SETTINGS]
    script, style = inline_asset("checkout.js"), inline_asset("checkout.css")
    response = aiohttp_jinja2.render_template("checkout.html", request, {
        "payment_id": payment.id, "parent_origin": parent_origin, "locale": locale,
        "script": script.text, "style": style.text})
    response.headers["Content-Security-Policy"] = frame_csp(settings.public_base_url, origins, script.source,
                                                            style.source)
    response.headers["Cache-Control"] = "no-store"
    return gzip_if_accepted(request, response)


async def _frame_ancestors(request: web.Request, merchant_id: str) -> tuple[str, ...]:
    """The merchant's allowed origins, and Kopek's own: its hosted page (/pay/{id}) frames every checkout."""
    own_origin = normalize_origin(request.app[keys.SETTINGS].public_base_url)
    return tuple(dict.fromkeys((*await request.app[keys.STORE].merchant_origins(merchant_id), own_origin)))


def _error_page(request: web.Request, error: KopekError, locale: str) -> web.Response:
    response = aiohttp_jinja2.render_template("error.html", request, {
        "status": error.status, "title": "Checkout unavailable", "message": error.message,
        "locale": locale}, status=error.status)
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'self'; frame-ancestors 'none'"
    return response
