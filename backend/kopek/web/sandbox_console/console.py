"""The console page (GET /sandbox) and its "Start a test payment" form (POST /sandbox/payments).

Viewing the console writes nothing. The form starts a test payment with the amount picked, at
most `sandbox_payments_per_window` per client address, and shows it at /sandbox?payment=…, which
embeds the widget for it and gathers the phone, webhooks, snippets and fault panels. Only the
workspace that started a payment is shown it. Also the owner's "reveal a new test secret key"
action, which shows the console once with it."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from kopek import keys
from kopek.errors import NotFound
from kopek.limits import Rate
from kopek.merchants import roll_api_key
from kopek.money import Money
from kopek.providers.sandbox.magic import MAGIC_ROWS
from kopek.store.records import Payment
from kopek.web.dashboard.access import Form, form_action, public_action, public_page
from kopek.web.dashboard.context import Member
from kopek.web.dashboard.forms import load_or_refuse
from kopek.web.dashboard.render import render, see_other
from kopek.web.requests import client_ip
from kopek.web.sandbox_console import faults, receiver
from kopek.web.sandbox_console.forms import CURRENCY, DEFAULT_QUERY, ConsoleQuery, NoParameters, StartPaymentForm
from kopek.web.sandbox_console.scenarios import magic_table, scenario
from kopek.web.sandbox_console.snippets import PLACEHOLDER_CLIENT_SECRET, snippets
from kopek.web.sandbox_console.workspace import (
    LIVEMODE, WORKSPACE_METADATA, Workspace, claimed_workspace, console_keys, workspace,
)

routes = web.RouteTableDef()
REVEAL_OVERLAP_S = 24 * 3600


@routes.get("/sandbox")
@public_page
async def console_page(request: web.Request) -> web.StreamResponse:
    query = load_or_refuse(ConsoleQuery(), request.query)
    space = await workspace(request)
    payment = await _shown_payment(request, space, query.get("payment"))
    return await render_console(request, space, payment, query)


@routes.post("/sandbox/payments")
@public_action
async def start_payment(request: web.Request, form: Form) -> web.StreamResponse:
    data = load_or_refuse(StartPaymentForm(), form)
    settings = request.app[keys.SETTINGS]
    await request.app[keys.LIMITS].take(Rate(
        "sandbox_console_payments", settings.sandbox_payments_per_window, settings.sandbox_payments_window_s,
        "Too many test payments from your address; wait and start another."), client_ip(request))
    space = await claimed_workspace(request)
    payment = await _create_payment(request, space, data["amount"])
    raise see_other("/sandbox?" + urlencode({"payment": payment.id, "wallet": data["wallet"],
                                             "scenario": data["scenario"]}))


@routes.post("/sandbox/keys/reveal")
@form_action()
async def reveal_secret_key(request: web.Request, member: Member, form: Form) -> web.StreamResponse:
    """The old key keeps working for a day, so whatever uses it can move to the new one."""
    load_or_refuse(NoParameters(), form)
    space = await workspace(request)
    _, token = await roll_api_key(request.app[keys.STORE], member.merchant_id, "secret", LIVEMODE,
                                  overlap_s=REVEAL_OVERLAP_S)
    return await render_console(request, space, None, DEFAULT_QUERY, revealed_key=token)


async def _shown_payment(request: web.Request, space: Workspace, payment_id: str | None) -> Payment | None:
    if payment_id is None:
        return None
    payment = await request.app[keys.STORE].get_payment(payment_id)
    if payment is None or not space.owns(payment, request.app[keys.SANDBOX_MERCHANT_ID]):
        raise NotFound(f"no such payment: {payment_id}")
    return payment


async def _create_payment(request: web.Request, space: Workspace, amount_minor: int) -> Payment:
    metadata = {"source": "sandbox console"}
    if space.is_shared and space.key:
        metadata[WORKSPACE_METADATA] = space.key
    return await request.app[keys.PAYMENTS].create(
        merchant_id=space.merchant.id, livemode=LIVEMODE,
        data={"amount": amount_minor, "currency": CURRENCY, "order_id": "sandbox-" + secrets.token_hex(6),
              "description": "Sandbox download", "return_url": None, "metadata": metadata,
              "expires_in": None, "wallets": None})


async def render_console(request: web.Request, space: Workspace, payment: Payment | None, query: dict[str, Any], *,
                         revealed_key: str | None = None) -> web.Response:
    base_url = request.app[keys.SETTINGS].public_base_url
    return render(request, "sandbox.html", {
        **_payment_panel(request, payment, query),
        **await _developer_panel(request, space, payment, query, revealed_key),
        "space": space, "faults": faults.view(request.app, space), "fault_knobs": faults.KNOBS, "kopek_url": base_url,
    }, frame_src=base_url)


def _payment_panel(request: web.Request, payment: Payment | None, query: dict[str, Any]) -> dict[str, Any]:
    service = request.app[keys.PAYMENTS]
    return {
        "payment": service.public(payment) if payment else None,
        "client_secret": service.client_secret(payment) if payment else None,
        "amount": _amount(payment, query), "query": query,
        "scenario": scenario(query["wallet"], query["scenario"]), "magic_table": magic_table(),
        "magic_rows": MAGIC_ROWS, "phone_messages": request.app[keys.PHONE].messages(payment.id) if payment else [],
    }


async def _developer_panel(request: web.Request, space: Workspace, payment: Payment | None, query: dict[str, Any],
                           revealed_key: str | None) -> dict[str, Any]:
    base_url = request.app[keys.SETTINGS].public_base_url
    found_keys = await console_keys(request, space.merchant.id)
    client_secret = request.app[keys.PAYMENTS].client_secret(payment) if payment else PLACEHOLDER_CLIENT_SECRET
    return {
        "keys": found_keys, "revealed_key": revealed_key, "reveal_overlap_h": REVEAL_OVERLAP_S // 3600,
        "snippets": snippets(base_url, client_secret, _amount(payment, query), found_keys, revealed_key),
        "receiver": await receiver.view(request, space),
    }


def _amount(payment: Payment | None, query: dict[str, Any]) -> Money:
    return Money(payment.currency, payment.amount) if payment else Money(CURRENCY, query["amount"])
