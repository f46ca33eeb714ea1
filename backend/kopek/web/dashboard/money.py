"""Dashboard money: balances per currency, the daily volume chart, settlements and their CSV."""

from __future__ import annotations

from aiohttp import web

routes = web.RouteTableDef()
