"""Dashboard settings: API keys, allowed origins, the check URL, wallets and fee plans."""

from __future__ import annotations

from aiohttp import web

routes = web.RouteTableDef()
