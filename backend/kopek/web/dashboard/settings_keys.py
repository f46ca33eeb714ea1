"""API keys in the dashboard: the keys that work now, and rolling one. A new key is shown once,
on the page the roll answers with; Kopek keeps only a hint (and, for a secret key, its hash)."""

from __future__ import annotations

from aiohttp import web
from marshmallow import Schema, fields, validate

from kopek import keys
from kopek.merchants import KEY_KINDS, roll_api_key
from kopek.store.records import ApiKey
from kopek.web.dashboard.access import Form, form_action, member_page
from kopek.web.dashboard.context import Member
from kopek.web.dashboard.forms import FormInvalid, load_form
from kopek.web.dashboard.render import render
from kopek.web.dashboard.settings_common import strict_query

routes = web.RouteTableDef()
KEYS = "/dashboard/settings/keys"
MODES = {"test": False, "live": True}
# How long the replaced key keeps working, so a shop can deploy the new one without an outage.
OVERLAPS = ((0, "Now", "Сразу"), (3600, "1 hour", "1 час"), (86400, "24 hours", "24 часа"),
            (7 * 86400, "7 days", "7 дней"))


class RollForm(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(KEY_KINDS))
    mode = fields.String(required=True, validate=validate.OneOf(list(MODES)))
    overlap = fields.Integer(required=True, validate=validate.OneOf([seconds for seconds, _, _ in OVERLAPS]))


@routes.get(KEYS)
@member_page
@strict_query
async def keys_page(request: web.Request, member: Member) -> web.StreamResponse:
    return await _keys_page(request, member)


@routes.post(KEYS + "/roll")
@form_action()
@strict_query
async def roll_key(request: web.Request, member: Member, form: Form) -> web.StreamResponse:
    try:
        data = load_form(RollForm(), form)
    except FormInvalid as exc:
        return await _keys_page(request, member, errors=exc.errors, status=400)
    livemode = MODES[data["mode"]]
    record, token = await roll_api_key(request.app[keys.STORE], member.merchant_id, data["kind"], livemode,
                                       data["overlap"])
    replaced = [k for k in await _working(request, member)
                if (k.kind, k.livemode) == (record.kind, livemode) and k.id != record.id]
    return render(request, "dashboard/settings_key_new.html",
                  {"key": record, "token": token, "replaced": replaced}, status=201)


async def _working(request: web.Request, member: Member) -> list[ApiKey]:
    return await request.app[keys.STORE].working_api_keys(member.merchant_id)


async def _keys_page(request: web.Request, member: Member, *, status: int = 200,
                     errors: dict[str, list[str]] | None = None) -> web.Response:
    working = await _working(request, member)
    groups = [(mode, [k for k in working if k.livemode == livemode]) for mode, livemode in MODES.items()]
    return render(request, "dashboard/settings_keys.html", {
        "groups": groups, "kinds": sorted(KEY_KINDS, reverse=True),  # secret first, as listed
        "overlaps": OVERLAPS, "errors": errors or {}}, status=status)
