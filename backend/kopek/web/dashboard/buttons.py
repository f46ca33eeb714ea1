"""Dashboard payment buttons: create, list and switch off buttons for static sites.

The same ButtonService and schemas as /v1/buttons. The price is typed in major units ("5.00")
and converted to minor units before the API's schema checks it.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from marshmallow import ValidationError, missing

from kopek import keys
from kopek.buttons import ButtonCreateSchema, ButtonListQuerySchema, ButtonService, ButtonUpdateSchema, button_object
from kopek.errors import InvalidRequest
from kopek.money import CURRENCY_EXPONENTS
from kopek.web.dashboard.access import Form, form_action, member_page
from kopek.web.dashboard.api_forms import (
    FromForm, form_errors, load_query, typed_values,
)
from kopek.web.dashboard.context import Member
from kopek.web.dashboard.forms import FormInvalid, load_form, load_or_refuse, major_to_minor
from kopek.web.dashboard.render import flash, render, see_other

routes = web.RouteTableDef()
BASE = "/dashboard/settings/buttons"
# (seconds or "", English, Russian): the form's choices for expires_in.
LIFETIMES = (("", "Never", "Никогда"), ("3600", "In 1 hour", "Через 1 час"), ("86400", "In 1 day", "Через 1 день"),
             ("2592000", "In 30 days", "Через 30 дней"), ("31536000", "In 1 year", "Через 1 год"))


class ButtonForm(FromForm, ButtonCreateSchema):
    def adapt(self, data: dict[str, Any]) -> dict[str, Any]:
        """The price in minor units of the chosen currency, which the API's own field checks first."""
        if "amount" not in data:
            return data
        try:
            currency = self.fields["currency"].deserialize(data.get("currency", missing))
        except ValidationError as exc:
            raise ValidationError({"currency": exc.messages}) from exc
        try:
            amount = major_to_minor(str(data["amount"]), CURRENCY_EXPONENTS[currency], minimum=1)
        except ValidationError as exc:
            raise ValidationError({"amount": exc.messages}) from exc
        return {**data, "amount": amount}


class ActiveForm(FromForm, ButtonUpdateSchema):
    pass


@routes.get(BASE)
@member_page
async def buttons_page(request: web.Request, member: Member) -> web.StreamResponse:
    return await _list_page(request, member, load_query(request, ButtonListQuerySchema()))


@routes.post(BASE)
@form_action()
async def create_button(request: web.Request, member: Member, form: Form) -> web.StreamResponse:
    try:
        button = await _service(request).create(member.merchant_id, member.livemode, load_form(ButtonForm(), form))
    except (FormInvalid, InvalidRequest) as exc:
        return await _list_page(request, member, errors=form_errors(exc), values=typed_values(form, "wallets"),
                                status=400)
    flash(request, "The button was created: copy its snippet into your page.",
          "Кнопка создана: скопируйте её код на свою страницу.")
    raise see_other(f"{BASE}#button-{button.id}")


@routes.post(BASE + "/{id}/active")
@form_action()
async def set_active(request: web.Request, member: Member, form: Form) -> web.StreamResponse:
    """Off: shoppers who press it get a 410 page and no payment starts. On: it sells again."""
    service = _service(request)
    button = await service.get_for_merchant(member.merchant_id, member.livemode, request.match_info["id"])
    data = load_or_refuse(ActiveForm(), form)
    await service.set_active(button, data["active"])
    if data["active"]:
        flash(request, "The button is on again.", "Кнопка снова включена.")
    else:
        flash(request, "The button is off: shoppers who press it are told it no longer sells.",
              "Кнопка выключена: нажавшим её покупателям сообщается, что она больше не действует.")
    raise see_other(f"{BASE}#button-{button.id}")


async def _list_page(request: web.Request, member: Member, query: dict[str, Any] | None = None, *,
                     status: int = 200, **context: Any) -> web.Response:
    service = _service(request)
    query = query if query is not None else ButtonListQuerySchema().load({})
    rows, has_more = await service.list(member.merchant_id, member.livemode, query)
    publishable_key = await service.publishable_key(member.merchant_id, member.livemode)
    return render(request, "dashboard/buttons.html", {
        "buttons": [button_object(b, service.public_base_url, publishable_key) for b in rows],
        "has_more": has_more, "query": query, "currencies": sorted(CURRENCY_EXPONENTS), "lifetimes": LIFETIMES,
        "wallets": service.wallets.values(), "errors": {}, "values": {"currency": "RUB"}, **context},
        status=status)


def _service(request: web.Request) -> ButtonService:
    return request.app[keys.BUTTONS]
