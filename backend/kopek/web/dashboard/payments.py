"""Dashboard payments: the filtered list, its CSV export, the detail page and refunds."""

from __future__ import annotations

from aiohttp import web

routes = web.RouteTableDef()
