"""The console page (GET /sandbox): it starts a test payment with the amount and magic wallet
picked, embeds the widget for it, and gathers the phone, webhooks, snippets and fault panels.
Also the owner's "reveal a new test secret key" action, which shows the console once with it."""

from __future__ import annotations

import secrets
from typing import Any

from aiohttp import web

from kopek import keys
from kopek.merchants import roll_api_key
from kopek.money import Money
from kopek.providers.sandbox.magic import MAGIC_ROWS
from kopek.store.records import Payment
from kopek.web.dashboard.access import Form, form_action, public_page
from kopek.web.dashboard.context import Member
from kopek.web.dashboard.forms import load_or_refuse
from kopek.web.dashboard.render import render
from kopek.web.sandbox_console import faults, receiver
from kopek.web.sandbox_console.forms import CURRENCY, DEFAULT_QUERY, ConsoleQuery, NoParameters
from kopek.web.sandbox_console.scenarios import magic_table, scenario
from kopek.web.sandbox_console.snippets import snippets
from kopek.web.sandbox_console.workspace import LIVEMODE, Workspace, console_keys, workspace

routes = web.RouteTableDef()
REVEAL_OVERLAP_S = 24 * 3600


@routes.get("/sandbox")
@public_page
async def console_page(request: web.Request) -> web.StreamResponse:
    query = load_or_refuse(ConsoleQuery(), request.query)
    space = await workspace(request)
    return await render_console(request, space, await start_payment(request, space, query["amount"]), query)


@routes.post("/sandbox/keys/reveal")
@form_action()
async def reveal_secret_key(request: web.Request, member: Member, form: Form) -> web.StreamResponse:
    """The old key keeps working for a day, so whatever uses it can move to the new one. The payment
    is made first: once the key is rolled, nothing may keep the page that shows it from rendering."""
    load_or_refuse(NoParameters(), form)
    space = await workspace(request)
    payment = await start_payment(request, space, DEFAULT_QUERY["amount"])
    _, token = await roll_api_key(request.app[keys.STORE], member.merchant_id, "secret", LIVEMODE,
                                  overlap_s=REVEAL_OVERLAP_S)
    return await render_console(request, space, payment, DEFAULT_QUERY, revealed_key=token)


async def render_console(request: web.Request, space: Workspace, payment: Payment, query: dict[str, Any], *,
                         revealed_key: str | None = None) -> web.Response:
    base_url = request.app[keys.SETTINGS].public_base_url
    return render(request, "sandbox.html", {
        **_payment_panel(request, payment, query),
        **await _developer_panel(request, space, payment, revealed_key),
        "space": space, "faults": faults.view(request.app), "fault_knobs": faults.KNOBS, "kopek_url": base_url,
    }, frame_src=base_url)


async def start_payment(request: web.Request, space: Workspace, amount_minor: int) -> Payment:
    return await request.app[keys.PAYMENTS].create(
        merchant_id=space.merchant.id, livemode=LIVEMODE,
        data={"amount": amount_minor, "currency": CURRENCY, "order_id": "sandbox-" + secrets.token_hex(6),
              "description": "Sandbox download", "return_url": None, "metadata": {"source": "sandbox console"},
              "expires_in": None, "wallets": None})


def _payment_panel(request: web.Request, payment: Payment, query: dict[str, Any]) -> dict[str, Any]:
    service = request.app[keys.PAYMENTS]
    return {
        "payment": service.public(payment), "client_secret": service.client_secret(payment),
        "amount": Money(payment.currency, payment.amount), "query": query,
        "scenario": scenario(query["wallet"], query["scenario"]), "magic_table": magic_table(),
        "magic_rows": MAGIC_ROWS, "phone_messages": request.app[keys.PHONE].messages(payment.id),
    }


async def _developer_panel(request: web.Request, space: Workspace, payment: Payment,
                           revealed_key: str | None) -> dict[str, Any]:
    base_url = request.app[keys.SETTINGS].public_base_url
    found_keys = await console_keys(request, space.merchant.id)
    client_secret = request.app[keys.PAYMENTS].client_secret(payment)
    return {
        "keys": found_keys, "revealed_key": revealed_key, "reveal_overlap_h": REVEAL_OVERLAP_S // 3600,
        "snippets": snippets(base_url, client_secret, Money(payment.currency, payment.amount), found_keys,
                             revealed_key),
        "receiver": await receiver.view(request, space),
    }
