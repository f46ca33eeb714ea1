"""Widget origins in the dashboard: the sites allowed to frame the checkout (CSP frame-ancestors).
The checkout frame reads the list on every request, so a change here takes effect at once."""

from __future__ import annotations

from aiohttp import web
from marshmallow import Schema, fields, validate

from kopek import keys
from kopek.merchants import InvalidOrigin, normalize_origin
from kopek.store.origins import OriginListFull, OriginStore
from kopek.web.dashboard.access import DashboardError, Form, form_action, member_page
from kopek.web.dashboard.forms import FormInvalid, load_form, load_or_refuse
from kopek.web.dashboard.context import Member
from kopek.web.dashboard.render import flash, render, see_other
from kopek.web.dashboard.settings_common import say, strict_query

routes = web.RouteTableDef()
ORIGINS = "/dashboard/settings/origins"
MAX_ORIGINS = 50   # every one goes into each checkout frame's CSP header
MAX_ORIGIN_CHARS = 300


class OriginForm(Schema):
    origin = fields.String(required=True, validate=validate.Length(max=MAX_ORIGIN_CHARS))


@routes.get(ORIGINS)
@member_page
@strict_query
async def origins_page(request: web.Request, member: Member) -> web.StreamResponse:
    return _origins_page(request, member)


@routes.post(ORIGINS)
@form_action()
@strict_query
async def add_origin(request: web.Request, member: Member, form: Form) -> web.StreamResponse:
    try:
        origin = normalize_origin(load_form(OriginForm(), form)["origin"])
        added = await OriginStore(request.app[keys.STORE]).add(member.merchant_id, origin, MAX_ORIGINS)
    except FormInvalid as exc:
        return _origins_page(request, member, errors=exc.errors, values=form, status=400)
    except InvalidOrigin as exc:
        return _origins_page(request, member, errors={"origin": [_not_an_origin(request, exc)]}, values=form,
                             status=400)
    except OriginListFull:
        raise DashboardError(409, f"You already have {MAX_ORIGINS} origins, the most allowed. Remove one first; "
                             "nothing was added.", f"У вас уже {MAX_ORIGINS} источников — это предел. "
                             "Сначала удалите один; ничего не добавлено.") from None
    flash(request, f"{origin} may now show the checkout." if added else f"{origin} was already on the list.",
          f"{origin} теперь может показывать оплату." if added else f"{origin} уже был в списке.")
    raise see_other(ORIGINS)


@routes.post(ORIGINS + "/remove")
@form_action()
@strict_query
async def remove_origin(request: web.Request, member: Member, form: Form) -> web.StreamResponse:
    origin = load_or_refuse(OriginForm(), form)["origin"]
    if not await OriginStore(request.app[keys.STORE]).remove(member.merchant_id, origin):
        raise DashboardError(404, "That origin is not on your list; nothing was changed.",
                             "Этого источника нет в вашем списке; ничего не изменилось.")
    flash(request, f"{origin} may no longer show the checkout.", f"{origin} больше не может показывать оплату.")
    raise see_other(ORIGINS)


def _not_an_origin(request: web.Request, exc: InvalidOrigin) -> str:
    return say(request, f"Not added: an origin is scheme://host[:port] only, such as https://shop.example ({exc}).",
               f"Не добавлено: источник — это только схема://хост[:порт], например https://shop.example ({exc}).")


def _origins_page(request: web.Request, member: Member, *, status: int = 200,
                  errors: dict[str, list[str]] | None = None, values: Form | None = None) -> web.Response:
    return render(request, "dashboard/settings_origins.html", {
        "origins": member.merchant.origins, "max_origins": MAX_ORIGINS, "max_chars": MAX_ORIGIN_CHARS,
        "errors": errors or {}, "values": {"origin": (values or {}).get("origin", "")}}, status=status)
