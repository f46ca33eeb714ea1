"""Kopek's hosted payment page, /pay/{id}#<client secret>, and the way back to the shop.

The client secret rides in the URL's #fragment, which browsers never send to a server, so
it reaches no log: the page's script reads it from location.hash and mounts the widget.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus, urlencode, urlsplit, urlunsplit

from aiohttp import web

from kopek import keys
from kopek.money import Money
from kopek.payments.return_url import on_allowed_origin
from kopek.payments.states import TERMINAL
from kopek.store.records import Payment
from kopek.web.csp import page_csp
from kopek.web.pages import PageError, html_errors, page_locale, render_page

routes = web.RouteTableDef()
RETURN_PARAMS = ("kopek_payment_id", "kopek_status")
# (heading en, heading ru, text en, text ru) for each state the page can show.
STATE_TEXTS: dict[str, tuple[str, str, str, str]] = {
    "succeeded": ("Payment successful", "Оплата прошла успешно", "{amount} paid.", "Оплачено {amount}."),
    "failed": ("Payment failed", "Оплата не прошла", "The payment could not be completed.",
               "Платёж не удалось провести."),
    "canceled": ("Payment canceled", "Оплата отменена", "No money was taken.", "Деньги не списаны."),
    "expired": ("Payment expired", "Время на оплату истекло", "The time to pay ran out. Return to the shop to "
                "start again.", "Вернитесь в магазин, чтобы начать заново."),
    "pending": ("Payment not finished yet", "Оплата ещё не завершена", "Finish paying on the payment page, "
                "then you will return to the shop.", "Завершите оплату на странице платежа, и вы вернётесь в магазин."),
}


def setup(app: web.Application) -> None:
    app.router.add_routes(routes)


def return_url_for(return_url: str, payment_id: str, status: str) -> str:
    """The shop's return_url with kopek_payment_id and kopek_status added to its query string.
    The shop's own parameters are kept byte for byte (an earlier kopek_* is replaced) and any
    #fragment stays at the end."""
    parts = urlsplit(return_url)
    kept = [pair for pair in parts.query.split("&")
            if pair and unquote_plus(pair.partition("=")[0]) not in RETURN_PARAMS]
    ours = urlencode({"kopek_payment_id": payment_id, "kopek_status": status})
    return urlunsplit(parts._replace(query="&".join([*kept, ours])))


@routes.get("/pay/{id}")
@html_errors
async def hosted_page(request: web.Request) -> web.Response:
    payment = await _payment(request)
    settings = request.app[keys.SETTINGS]
    view = "final" if payment.status in TERMINAL else "checkout"
    context = await _page_context(request, payment, view)
    context["kopek_js_url"] = f"{settings.public_base_url}/v1/kopek.js"
    return render_page(request, "hosted.html", context, csp=page_csp(settings.public_base_url))


@routes.get("/pay/{id}/return")
@html_errors
async def return_to_shop(request: web.Request) -> web.Response:
    """Where the page sends a shopper once the payment is over: 303 to the shop's return_url.
    A payment not finished yet, or one whose return_url is missing or no longer on the merchant's
    allowed origins, shows its state instead."""
    payment = await _payment(request)
    if payment.status not in TERMINAL:
        return render_page(request, "hosted.html", await _page_context(request, payment, "pending"), status=409)
    if not await _may_return(request, payment):
        return render_page(request, "hosted.html", await _page_context(request, payment, "final"))
    location = return_url_for(payment.return_url, payment.id, payment.status)
    return web.Response(status=303, headers={"Location": location, "Cache-Control": "no-store"})


async def _may_return(request: web.Request, payment: Payment) -> bool:
    if not payment.return_url:
        return False
    return on_allowed_origin(payment.return_url, await request.app[keys.STORE].merchant_origins(payment.merchant_id))


async def _payment(request: web.Request) -> Payment:
    payment_id = request.match_info["id"]
    payment = await request.app[keys.STORE].get_payment(payment_id) if len(payment_id) <= 64 else None
    if payment is None:
        raise PageError(404, "resource_missing", "There is no such payment. Check the link the shop gave you.",
                        "Такого платежа нет. Проверьте ссылку, которую дал магазин.")
    return payment


async def _page_context(request: web.Request, payment: Payment, view: str) -> dict[str, Any]:
    merchant = await request.app[keys.STORE].get_merchant(payment.merchant_id)
    amount = str(Money(payment.currency, payment.amount))
    state = "pending" if view == "pending" else payment.status
    heading_en, heading_ru, text_en, text_ru = STATE_TEXTS.get(state, STATE_TEXTS["pending"])
    ru = page_locale(request) == "ru"
    return {
        "view": view, "payment": payment, "merchant_name": merchant.name if merchant else "",
        "amount_display": amount, "has_return": await _may_return(request, payment),
        "state_heading": heading_ru if ru else heading_en,
        "state_text": (text_ru if ru else text_en).format(amount=amount),
    }
