"""Dashboard settings: API keys, allowed origins, the check URL, wallets and fee plans.

Each area has its own module; this one gathers their routes, so the dashboard registers one
module for all of settings."""

from __future__ import annotations

from aiohttp import web

from kopek.web.dashboard import settings_check, settings_keys, settings_origins, settings_wallets
from kopek.web.dashboard.access import member_page
from kopek.web.dashboard.context import Member
from kopek.web.dashboard.render import see_other
from kopek.web.dashboard.settings_common import strict_query

_own = web.RouteTableDef()


@_own.get("/dashboard/settings")
@member_page
@strict_query
async def settings_home(request: web.Request, member: Member) -> web.StreamResponse:
    raise see_other(settings_keys.KEYS)


routes = [*_own, *settings_keys.routes, *settings_origins.routes, *settings_check.routes, *settings_wallets.routes]
