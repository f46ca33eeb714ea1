"""The widget's files: the loader at /v1/kopek.js and the frame's assets under /static/widget/."""

from __future__ import annotations

from functools import lru_cache

from aiohttp import web

from kopek.errors import NotFound
from kopek.resources import widget_dir

routes = web.RouteTableDef()
CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css"}
FRAME_ASSETS = frozenset({"checkout.js", "checkout.css", "sandbox-page.js", "pages.css", "hosted-page.js",
                          "dashboard.css", "dashboard.js", "dashboard-live.js", "console.js"})


@lru_cache(maxsize=16)
def _read(name: str) -> bytes:
    return (widget_dir() / name).read_bytes()


def _serve(name: str, max_age_s: int) -> web.Response:
    content_type = CONTENT_TYPES[name[name.rindex("."):]]
    response = web.Response(body=_read(name), content_type=content_type, charset="utf-8")
    response.headers["Cache-Control"] = f"public, max-age={max_age_s}"
    return response


@routes.get("/v1/kopek.js")
async def loader(request: web.Request) -> web.Response:
    response = _serve("loader.js", 300)
    # The loader runs on shops' pages, so any origin may fetch it.
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


@routes.get("/static/widget/{name}")
async def asset(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in FRAME_ASSETS:
        raise NotFound(f"no such file: {name}")
    return _serve(name, 300)
