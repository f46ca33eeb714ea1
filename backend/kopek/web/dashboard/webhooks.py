"""Dashboard webhooks: endpoints, their delivery log, redelivery and test events.

Every action goes through the same services as /v1/webhook_endpoints (WebhookEndpoints,
WebhookSender) and every form through the API's schemas; a secret is shown once, on the page that
answers the creation or the rotation, and never again.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from marshmallow import Schema, fields, validate

from kopek import keys
from kopek.errors import Conflict, InvalidRequest
from kopek.store.webhooks import WebhookEndpoint
from kopek.web.dashboard.access import DashboardError, Form, form_action, member_page
from kopek.web.dashboard.api_forms import FromForm, form_errors, load_query, typed_values
from kopek.web.dashboard.context import Member
from kopek.web.dashboard.forms import FormInvalid, load_form, load_or_refuse
from kopek.web.dashboard.render import flash, render, see_other
from kopek.webhooks.endpoints import WebhookEndpoints, WithSecret
from kopek.webhooks.events import DEFAULT_EVENTS, OPT_IN_EVENTS
from kopek.webhooks.schemas import (
    DeliveryListQuerySchema, EmptySchema, EndpointCreateSchema, EndpointUpdateSchema, RotateSecretSchema,
)
from kopek.webhooks.views import delivery_object, endpoint_object

routes = web.RouteTableDef()
BASE = "/dashboard/settings/webhooks"
ENDPOINT = BASE + "/{id}"
# (seconds, English, Russian): how long the old secret keeps signing after a rotation.
OVERLAPS = ((0, "No overlap: the old secret stops now", "Без перекрытия: старый секрет перестаёт действовать сразу"),
            (3600, "1 hour", "1 час"), (86400, "24 hours", "24 часа"), (7 * 86400, "7 days", "7 дней"))
DEFAULT_OVERLAP_S = 86400


class RotateForm(FromForm, RotateSecretSchema):
    pass


class DeleteForm(Schema):
    """Without `confirm`, the page asks first; the confirmation page's button sends it."""

    confirm = fields.String(validate=validate.Equal("yes"))


# -- the list and the creation --------------------------------------------------------------

@routes.get(BASE)
@member_page
async def endpoints_page(request: web.Request, member: Member) -> web.StreamResponse:
    load_query(request, EmptySchema())
    return await _list_page(request, member)


@routes.post(BASE)
@form_action()
async def create_endpoint(request: web.Request, member: Member, form: Form) -> web.StreamResponse:
    try:
        created = await _service(request).create(merchant_id=member.merchant_id, livemode=member.livemode,
                                                 data=load_form(EndpointCreateSchema(), form))
    except (FormInvalid, InvalidRequest, Conflict) as exc:   # Conflict: the cap on endpoints
        return await _list_page(request, member, errors=form_errors(exc), values=typed_values(form, "events"),
                                status=409 if isinstance(exc, Conflict) else 400)
    return _secret_page(request, created, rotated=False)


async def _list_page(request: web.Request, member: Member, *, status: int = 200, **context: Any) -> web.Response:
    endpoints = await _service(request).list(member.merchant_id, member.livemode)
    return render(request, "dashboard/webhooks.html", {
        "endpoints": endpoints, "errors": {}, "values": {"events": DEFAULT_EVENTS}, **_event_choices(), **context},
        status=status)


# -- one endpoint: its page, its settings, and the actions on it -----------------------------

@routes.get(ENDPOINT)
@member_page
async def endpoint_page(request: web.Request, member: Member) -> web.StreamResponse:
    endpoint = await _endpoint(request, member)
    return await _endpoint_page(request, endpoint, load_query(request, DeliveryListQuerySchema()))


@routes.post(ENDPOINT)
@form_action()
async def update_endpoint(request: web.Request, member: Member, form: Form) -> web.StreamResponse:
    """The settings form: URL, events and description, through the same rules as a creation."""
    endpoint = await _endpoint(request, member)
    try:
        data = load_form(EndpointCreateSchema(), form)
        await _service(request).update(endpoint, {**data, "events": data["events"] or DEFAULT_EVENTS})
    except (FormInvalid, InvalidRequest) as exc:
        return await _endpoint_page(request, endpoint, errors=form_errors(exc), values=typed_values(form, "events"),
                                    status=400)
    flash(request, "The endpoint's settings were saved.", "Настройки адреса сохранены.")
    raise see_other(_path(endpoint))


@routes.post(ENDPOINT + "/status")
@form_action()
async def set_status(request: web.Request, member: Member, form: Form) -> web.StreamResponse:
    endpoint = await _endpoint(request, member)
    data = load_or_refuse(EndpointUpdateSchema(only=("status",)), form)
    if "status" not in data:
        raise DashboardError(400, "Nothing was changed: choose enabled or disabled.",
                             "Ничего не изменилось: выберите «включён» или «выключен».")
    await _service(request).update(endpoint, data)
    if data["status"] == "enabled":
        flash(request, "The endpoint is enabled.", "Адрес включён.")
    else:
        flash(request, "The endpoint is disabled: nothing is sent to it, and its pending deliveries were dropped.",
              "Адрес выключен: на него ничего не отправляется, ожидавшие доставки отменены.")
    raise see_other(_path(endpoint))


@routes.post(ENDPOINT + "/rotate")
@form_action()
async def rotate_secret(request: web.Request, member: Member, form: Form) -> web.StreamResponse:
    endpoint = await _endpoint(request, member)
    try:
        data = load_form(RotateForm(), form)
    except FormInvalid as exc:
        return await _endpoint_page(request, endpoint, errors=exc.errors, status=400)
    return _secret_page(request, await _service(request).rotate_secret(endpoint, data["overlap_s"]), rotated=True)


@routes.post(ENDPOINT + "/test")
@form_action()
async def send_test(request: web.Request, member: Member, form: Form) -> web.StreamResponse:
    endpoint = await _endpoint(request, member)
    load_or_refuse(EmptySchema(), form)
    await _service(request).require_can_test(endpoint)
    await request.app[keys.WEBHOOK_SENDER].send_test(endpoint)
    flash(request, "A webhook.test event is on its way; it appears in the delivery log below.",
          "Событие webhook.test отправляется; оно появится в журнале доставок ниже.")
    raise see_other(_path(endpoint))


@routes.post(ENDPOINT + "/deliveries/{delivery_id}/redeliver")
@form_action()
async def redeliver(request: web.Request, member: Member, form: Form) -> web.StreamResponse:
    endpoint = await _endpoint(request, member)
    load_or_refuse(EmptySchema(), form)
    service = _service(request)
    delivery = await service.delivery(endpoint, request.match_info["delivery_id"])
    service.require_enabled(endpoint)
    await request.app[keys.WEBHOOK_SENDER].redeliver(delivery.id)
    flash(request, f"{delivery.event_type} is being sent again, with the same webhook-id.",
          f"{delivery.event_type} отправляется снова, с тем же webhook-id.")
    raise see_other(_path(endpoint))


@routes.post(ENDPOINT + "/delete")
@form_action()
async def delete_endpoint(request: web.Request, member: Member, form: Form) -> web.StreamResponse:
    endpoint = await _endpoint(request, member)
    if load_or_refuse(DeleteForm(), form).get("confirm") != "yes":
        return render(request, "dashboard/webhook_delete.html", {"endpoint": endpoint})
    await _service(request).delete(endpoint)
    flash(request, f"The endpoint {endpoint.url} was deleted.", f"Адрес {endpoint.url} удалён.")
    raise see_other(BASE)


async def _endpoint_page(request: web.Request, endpoint: WebhookEndpoint, query: dict[str, Any] | None = None, *,
                         status: int = 200, **context: Any) -> web.Response:
    query = query if query is not None else DeliveryListQuerySchema().load({})
    rows, has_more = await _service(request).deliveries(endpoint, query["limit"], query.get("starting_after"))
    deliveries = [delivery_object(delivery, attempts) for delivery, attempts in rows]
    return render(request, "dashboard/webhook.html", {
        "endpoint": endpoint_object(endpoint), "deliveries": deliveries, "has_more": has_more, "query": query,
        "overlaps": OVERLAPS, "default_overlap_s": DEFAULT_OVERLAP_S, "errors": {},
        "values": {"url": endpoint.url, "description": endpoint.description, "events": endpoint.events},
        **_event_choices(), **context}, status=status)


# -- shared pieces ---------------------------------------------------------------------------

def _secret_page(request: web.Request, shown: WithSecret, *, rotated: bool) -> web.Response:
    """The only time the secret is in a page: after a creation (201) or a rotation."""
    return render(request, "dashboard/webhook_secret.html", {
        "endpoint": endpoint_object(shown.endpoint), "secret": shown.secret, "rotated": rotated},
        status=200 if rotated else 201)


async def _endpoint(request: web.Request, member: Member) -> WebhookEndpoint:
    """Another merchant's endpoint, or one of the other mode, is a 404 like a missing one."""
    return await _service(request).get(member.merchant_id, member.livemode, request.match_info["id"])


def _service(request: web.Request) -> WebhookEndpoints:
    return request.app[keys.WEBHOOK_ENDPOINTS]


def _path(endpoint: WebhookEndpoint) -> str:
    return f"{BASE}/{endpoint.id}"


def _event_choices() -> dict[str, Any]:
    return {"default_events": DEFAULT_EVENTS, "opt_in_events": OPT_IN_EVENTS}
