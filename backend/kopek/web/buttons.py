"""Payment buttons. The shop's API: /v1/buttons (secret key). The shopper's side, reached from a
static page with no script: POST /v1/buttons/{id}/checkout (a form) and the link page /b/{id}."""

from __future__ import annotations

from typing import AsyncIterator

from aiohttp import web

from kopek import clock, keys
from kopek.buttons import (
    ButtonCreateSchema, ButtonListQuerySchema, ButtonService, ButtonUpdateSchema, button_label, checkout_action,
    payment_request,
)
from kopek.money import Money
from kopek.payments.views import hosted_checkout_url
from kopek.providers import registry
from kopek.store.buttons import Button
from kopek.web.pages import PageError, html_errors, render_page
from kopek.web.ratelimit import RateLimiter
from kopek.web.requests import authenticate, client_ip, read_json, read_query

routes = web.RouteTableDef()
WINDOW_S = 60.0


def setup(app: web.Application) -> None:
    """Call after the store's cleanup context is registered: the button service needs the store."""
    settings = app[keys.SETTINGS]
    app[keys.BUTTON_CHECKOUTS_PER_IP] = RateLimiter(settings.button_checkouts_per_ip_per_min, WINDOW_S)
    app[keys.BUTTON_CHECKOUTS_PER_BUTTON] = RateLimiter(settings.button_checkouts_per_button_per_min, WINDOW_S)
    app.cleanup_ctx.append(_button_service)
    app.router.add_routes(routes)


async def _button_service(app: web.Application) -> AsyncIterator[None]:
    app[keys.BUTTONS] = ButtonService(app[keys.STORE], registry.WALLETS, app[keys.SETTINGS].public_base_url)
    yield


# -- the shop's API ------------------------------------------------------------------------

@routes.post("/v1/buttons")
async def create_button(request: web.Request) -> web.Response:
    api_key = await authenticate(request)
    data = await read_json(request, ButtonCreateSchema)
    buttons = request.app[keys.BUTTONS]
    button = await buttons.create(api_key.merchant_id, api_key.livemode, data)
    return web.json_response(await buttons.to_json(button), status=201)


@routes.get("/v1/buttons")
async def list_buttons(request: web.Request) -> web.Response:
    api_key = await authenticate(request)
    query = read_query(request, ButtonListQuerySchema)
    buttons = request.app[keys.BUTTONS]
    rows, has_more = await buttons.list(api_key.merchant_id, api_key.livemode, query)
    return web.json_response({"object": "list", "data": [await buttons.to_json(b) for b in rows],
                              "has_more": has_more})


@routes.get("/v1/buttons/{id}")
async def get_button(request: web.Request) -> web.Response:
    api_key = await authenticate(request)
    buttons = request.app[keys.BUTTONS]
    button = await buttons.get_for_merchant(api_key.merchant_id, api_key.livemode, request.match_info["id"])
    return web.json_response(await buttons.to_json(button))


@routes.post("/v1/buttons/{id}")
async def update_button(request: web.Request) -> web.Response:
    """{"active": false} retires the button: shoppers get a 410 page. {"active": true} brings it back."""
    api_key = await authenticate(request)
    data = await read_json(request, ButtonUpdateSchema)
    buttons = request.app[keys.BUTTONS]
    button = await buttons.get_for_merchant(api_key.merchant_id, api_key.livemode, request.match_info["id"])
    return web.json_response(await buttons.to_json(await buttons.set_active(button, data["active"])))


# -- the shopper's side: HTML pages, strict CSP ----------------------------------------------

@routes.post("/v1/buttons/{id}/checkout")
@html_errors
async def button_checkout(request: web.Request) -> web.Response:
    """The snippet's form lands here: a fresh payment, then 303 to its hosted page."""
    _count(request.app[keys.BUTTON_CHECKOUTS_PER_IP], client_ip(request))
    try:
        form = await request.post()
    except ValueError:  # a multipart body without a boundary, say
        raise PageError(400, "invalid_request", "This form could not be read.", "Не удалось прочитать форму.") from None
    pk = form.get("pk")
    button = await _usable_button(request, pk if isinstance(pk, str) else "")
    _count(request.app[keys.BUTTON_CHECKOUTS_PER_BUTTON], button.id)
    service = request.app[keys.PAYMENTS]
    payment = await service.create(merchant_id=button.merchant_id, livemode=button.livemode,
                                   data=payment_request(button))
    location = hosted_checkout_url(request.app[keys.SETTINGS].public_base_url, payment.id,
                                   service.client_secret(payment))
    return web.Response(status=303, headers={"Location": location, "Cache-Control": "no-store"})


@routes.get("/b/{id}")
@html_errors
async def button_page(request: web.Request) -> web.Response:
    """The link variant (emails): a page with one button that posts to the checkout route.
    A GET never creates a payment, so link scanners and prefetchers do no harm."""
    pk = request.query.get("pk", "")
    button = await _usable_button(request, pk)
    merchant = await request.app[keys.STORE].get_merchant(button.merchant_id)
    return render_page(request, "button.html", {
        "button": button, "merchant_name": merchant.name if merchant else "", "pk": pk,
        "action": checkout_action("", button.id),  # same origin: the page's CSP allows form-action 'self'
        "amount_display": str(Money(button.currency, button.amount)), "label": button_label(button)})


async def _usable_button(request: web.Request, pk: str) -> Button:
    button_id = request.match_info["id"]
    button = await request.app[keys.BUTTONS].buttons.get(button_id) if len(button_id) <= 64 else None
    if button is None:
        raise PageError(404, "resource_missing", "There is no such payment button.", "Такой кнопки оплаты нет.")
    key = await request.app[keys.STORE].find_api_key(pk) if pk.startswith(("pk_test_", "pk_live_")) else None
    if key is None or key.kind != "publishable" or key.merchant_id != button.merchant_id \
            or key.livemode != button.livemode:
        raise PageError(403, "invalid_publishable_key",
                        "This payment button is not set up correctly (its key does not match). "
                        "Tell the shop; no money was taken.",
                        "Кнопка оплаты настроена неверно (ключ не подходит). Сообщите магазину; деньги не списаны.")
    if not button.active or button.expired(clock.now_iso()):
        raise PageError(410, "button_inactive", "This payment button is no longer active: the shop has stopped "
                        "selling this here. No money was taken.",
                        "Эта кнопка оплаты больше не действует: магазин здесь это больше не продаёт. Деньги не списаны.")
    return button


def _count(limiter: RateLimiter, key: str) -> None:
    if not limiter.hit(key):
        raise PageError(429, "rate_limited", "Too many payments were started in a short time. Wait a minute "
                        "and try again.", "Слишком много платежей за короткое время. Подождите минуту и попробуйте снова.",
                        retry_after_s=limiter.retry_after_s(key))
