"""Dashboard payment buttons: create, list and switch off buttons for static sites."""

from __future__ import annotations

from aiohttp import web

routes = web.RouteTableDef()
