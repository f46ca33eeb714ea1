"""The built-in webhook receiver on the web: where Kopek's sender posts the console merchant's
test webhooks, the console button that points a test endpoint at it, and the list the console
polls. The checking and the memory are in kopek.webhooks.test_receiver."""

from __future__ import annotations

from dataclasses import dataclass
from typing import AsyncIterator

from aiohttp import web

from kopek import keys
from kopek.errors import InvalidRequest, NotFound
from kopek.store.webhooks import WebhookEndpoint
from kopek.web.dashboard.access import Form, public_action
from kopek.web.dashboard.forms import load_or_refuse
from kopek.web.dashboard.render import flash, see_other
from kopek.web.requests import read_query
from kopek.web.sandbox_console.forms import NoParameters
from kopek.web.sandbox_console.workspace import LIVEMODE, Workspace, load_workspace, workspace
from kopek.webhooks.events import EVENT_TYPES
from kopek.webhooks.test_receiver import RECEIVER_PATH, BuiltInReceiver, Received, receiver_url

routes = web.RouteTableDef()
DESCRIPTION = "Sandbox console: the built-in test receiver"


async def receiver_context(app: web.Application) -> AsyncIterator[None]:
    """After the database: the receiver derives endpoint secrets from the webhooks' instance key."""
    app[keys.BUILT_IN_RECEIVER] = BuiltInReceiver(app[keys.KEYRING].purpose("webhook_secret"))
    yield


@dataclass(frozen=True)
class ReceiverView:
    url: str
    endpoint: WebhookEndpoint | None
    received: list[Received]


async def view(request: web.Request, space: Workspace) -> ReceiverView:
    merchant_id = space.merchant.id
    found = await endpoints_aimed_here(request.app, merchant_id)
    return ReceiverView(_url(request.app, merchant_id), found[0] if found else None,
                        request.app[keys.BUILT_IN_RECEIVER].received(merchant_id))


async def endpoints_aimed_here(app: web.Application, merchant_id: str) -> list[WebhookEndpoint]:
    url = _url(app, merchant_id)
    return [e for e in await app[keys.WEBHOOK_ENDPOINTS].list(merchant_id, LIVEMODE) if e.url == url]


def _url(app: web.Application, merchant_id: str) -> str:
    return receiver_url(app[keys.SETTINGS].public_base_url, merchant_id)


@routes.post("/sandbox/receiver")
@public_action
async def use_receiver(request: web.Request, form: Form) -> web.StreamResponse:
    load_or_refuse(NoParameters(), form)
    space = await workspace(request)
    space.require_configure()
    created = await ensure_endpoint(request.app, space.merchant.id)
    if created:
        flash(request, "Test webhooks now go to the built-in receiver too.",
              "Тестовые вебхуки теперь приходят и во встроенный приёмник.")
    else:
        flash(request, "The built-in receiver was already in use.", "Встроенный приёмник уже подключён.")
    raise see_other("/sandbox#webhooks")


async def ensure_endpoint(app: web.Application, merchant_id: str) -> bool:
    """A test endpoint aimed at the receiver, enabled; True when one had to be made or enabled again."""
    endpoints = app[keys.WEBHOOK_ENDPOINTS]
    found = await endpoints_aimed_here(app, merchant_id)
    if not found:
        await endpoints.create(merchant_id=merchant_id, livemode=LIVEMODE, data={
            "url": _url(app, merchant_id), "description": DESCRIPTION, "events": list(EVENT_TYPES)})
        return True
    if found[0].status != "enabled":
        await endpoints.update(found[0], {"status": "enabled"})
        return True
    return False


@routes.post(RECEIVER_PATH)
async def receive(request: web.Request) -> web.Response:
    """204 when the signature holds; 400 when it does not (still listed, as "signature invalid")."""
    merchant_id = request.match_info["merchant_id"]
    if await request.app[keys.STORE].get_merchant(merchant_id) is None:
        raise NotFound(f"no such merchant: {merchant_id}")
    body = await request.read()      # at most the app's client_max_size, else 413
    aimed = await endpoints_aimed_here(request.app, merchant_id)
    if not request.app[keys.BUILT_IN_RECEIVER].receive(merchant_id, aimed, request.headers, body).verified:
        raise InvalidRequest("the webhook signature is invalid", code="invalid_signature")
    return web.Response(status=204)


@routes.get("/sandbox/webhooks.json")
async def received_json(request: web.Request) -> web.Response:
    read_query(request, NoParameters)
    space = await load_workspace(request)
    received = request.app[keys.BUILT_IN_RECEIVER].received(space.merchant.id)
    response = web.json_response({"data": [r.to_json() for r in received]})
    response.headers["Cache-Control"] = "no-store"
    return response
