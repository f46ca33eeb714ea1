"""The pre-check in the dashboard: the URL Kopek asks before each attempt, what a timeout means,
and the secret its requests are signed with. Validated by the API's own code (web/merchant.py),
so the SSRF guard is the same: on a live server a private address is refused."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from kopek import keys
from kopek.errors import InvalidRequest
from kopek.payments.precheck import check_secret
from kopek.web.dashboard.access import Form, form_action, member_page
from kopek.web.dashboard.api_forms import form_errors
from kopek.web.dashboard.context import Member
from kopek.web.dashboard.forms import FormInvalid, load_form
from kopek.web.dashboard.render import flash, render, see_other
from kopek.web.dashboard.settings_common import strict_query
from kopek.web.merchant import MerchantUpdateSchema, update_check

routes = web.RouteTableDef()
CHECK = "/dashboard/settings/check"


@routes.get(CHECK)
@member_page
@strict_query
async def check_page(request: web.Request, member: Member) -> web.StreamResponse:
    return _check_page(request, member)


@routes.post(CHECK)
@form_action()
@strict_query
async def set_check(request: web.Request, member: Member, form: Form) -> web.StreamResponse:
    """An empty (or absent) URL turns the check off; the timeout policy stays unless sent."""
    try:
        data = load_form(MerchantUpdateSchema(), form)
        merchant = await update_check(request.app, member.merchant, {"check_url": None, **data})
    except (FormInvalid, InvalidRequest) as exc:
        return _check_page(request, member, errors=form_errors(exc), values=form, status=400)
    if merchant.check_url:
        flash(request, "The check URL is saved.", "Адрес предпроверки сохранён.")
    else:
        flash(request, "The check is off.", "Предпроверка выключена.")
    raise see_other(CHECK)


def _check_page(request: web.Request, member: Member, *, status: int = 200,
                errors: dict[str, list[str]] | None = None, values: Form | None = None) -> web.Response:
    merchant = member.merchant
    secret = None
    if member.is_owner and merchant.check_url:
        secret = check_secret(request.app[keys.KEYRING].purpose("check_secret").current, merchant.id)
    shown: dict[str, Any] = {"check_url": merchant.check_url or "", "check_on_timeout": merchant.check_on_timeout}
    if values is not None:
        shown.update({name: values.get(name, "") for name in shown})
    return render(request, "dashboard/settings_check.html", {
        "merchant": merchant, "secret": secret, "errors": errors or {}, "values": shown}, status=status)
