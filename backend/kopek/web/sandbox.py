"""Sandbox helpers: a demo shop page that embeds the widget, and the sandbox phone."""

from __future__ import annotations

import secrets
from datetime import datetime, timezone

import aiohttp_jinja2
from aiohttp import web

from kopek import keys
from kopek.errors import InvalidRequest
from kopek.money import Money
from kopek.providers.registry import PLUGINS
from kopek.providers.sandbox.magic import MAGIC_ROWS
from kopek.web.csp import page_csp

routes = web.RouteTableDef()
DEFAULT_AMOUNT = 500  # 5 roubles
MAGIC_WALLETS = [{"name": plugin.info.name_en, "accounts": {row.ending: plugin.example_account(row.ending)
                                                              for row in MAGIC_ROWS}}
                 for plugin in PLUGINS.values()]


def _locale(request: web.Request) -> str:
    wanted = request.query.get("locale") or request.headers.get("Accept-Language", "")
    return "ru" if wanted.lower().startswith("ru") else "en"


@routes.get("/sandbox")
async def sandbox_page(request: web.Request) -> web.Response:
    amount_text = request.query.get("amount", str(DEFAULT_AMOUNT))
    if not amount_text.isdigit() or not 1 <= int(amount_text) <= 10**9:
        raise InvalidRequest("amount is a whole number of kopecks from 1", param="amount")
    service = request.app[keys.PAYMENTS]
    payment = await service.create(
        merchant_id=request.app[keys.SANDBOX_MERCHANT_ID], livemode=False,
        data={"amount": int(amount_text), "currency": "RUB", "order_id": "sandbox-" + secrets.token_hex(6),
              "description": "Sandbox download", "return_url": None, "metadata": {},
              "expires_in": None, "wallets": None})
    settings = request.app[keys.SETTINGS]
    response = aiohttp_jinja2.render_template("sandbox.html", request, {
        "locale": _locale(request), "kopek_js_url": f"{settings.public_base_url}/v1/kopek.js",
        "client_secret": service.client_secret(payment), "payment": service.public(payment),
        "amount_display": str(Money(payment.currency, payment.amount)), "magic_wallets": MAGIC_WALLETS, "magic_rows": MAGIC_ROWS,
        "phone_url": "/sandbox/phone", "static_base": "/static/widget"})
    response.headers["Content-Security-Policy"] = page_csp(settings.public_base_url)
    response.headers["Cache-Control"] = "no-store"
    return response


@routes.get("/sandbox/phone.json")
async def phone_json(request: web.Request) -> web.Response:
    messages = request.app[keys.PHONE].messages(request.query.get("payment"))
    return web.json_response({"data": [m.to_json() for m in messages]})


@routes.get("/sandbox/phone")
async def phone_page(request: web.Request) -> web.Response:
    messages = [{**m.to_json(), "sent_at_display": datetime.fromtimestamp(m.sent_at, timezone.utc)
                 .strftime("%H:%M:%S UTC")} for m in request.app[keys.PHONE].messages()]
    response = aiohttp_jinja2.render_template("phone.html", request,
                                              {"messages": messages, "locale": _locale(request)})
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'self'; frame-ancestors 'none'"
    return response
