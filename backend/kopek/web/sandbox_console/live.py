"""What the console watches while a payment runs: the sandbox phone (codes the simulators sent)
and the payment's state with its approval link. console.js polls both; the phone page works
without JavaScript."""

from __future__ import annotations

from datetime import datetime, timezone

import aiohttp_jinja2
from aiohttp import web

from kopek import keys
from kopek.errors import NotFound
from kopek.web.requests import read_query
from kopek.web.sandbox_console.forms import NoParameters
from kopek.web.sandbox_console.workspace import LIVEMODE, load_workspace
from kopek.web.pages import page_locale

routes = web.RouteTableDef()
PHONE_PAGE_CSP = "default-src 'none'; style-src 'self'; frame-ancestors 'none'"


async def phone_json(request: web.Request) -> web.Response:
    """Also served by `kopek simulators`, which has no sessions: it stays a plain handler."""
    messages = request.app[keys.PHONE].messages(request.query.get("payment"))
    return web.json_response({"data": [m.to_json() for m in messages]})


routes.get("/sandbox/phone.json")(phone_json)


@routes.get("/sandbox/phone")
async def phone_page(request: web.Request) -> web.Response:
    """Every code, newest first; `?payment=pay_…` shows one payment's."""
    messages = [{**m.to_json(), "sent_at_display": datetime.fromtimestamp(m.sent_at, timezone.utc)
                 .strftime("%H:%M:%S UTC")} for m in request.app[keys.PHONE].messages(request.query.get("payment"))]
    response = aiohttp_jinja2.render_template("phone.html", request,
                                              {"messages": messages, "locale": page_locale(request)})
    response.headers["Content-Security-Policy"] = PHONE_PAGE_CSP
    return response


@routes.get("/sandbox/payments/{id}/state.json")
async def payment_state(request: web.Request) -> web.Response:
    """The status and the approval link of a payment of the console's workspace; others' are 404."""
    read_query(request, NoParameters)
    space = await load_workspace(request)
    payment = await request.app[keys.PAYMENTS].get_for_merchant(space.merchant.id, LIVEMODE,
                                                                request.match_info["id"])
    if not space.owns(payment, request.app[keys.SANDBOX_MERCHANT_ID]):   # another visitor's, on the shared sandbox merchant
        raise NotFound(f"no such payment: {payment.id}", param="id")
    action = payment.next_action or {}
    response = web.json_response({"id": payment.id, "status": payment.status,
                                  "next_action_type": action.get("type"), "next_action_url": action.get("url")})
    response.headers["Cache-Control"] = "no-store"
    return response
