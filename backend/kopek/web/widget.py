"""The widget's files: the loader at /v1/kopek.js and the frame's assets under /static/widget/.

They are served from widget/built (minified by `./dev build`), gzipped once at first use."""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from functools import lru_cache

from aiohttp import web

from kopek.errors import NotFound
from kopek.web.compression import accepts_gzip, vary_on_encoding
from kopek.resources import widget_dir

routes = web.RouteTableDef()
CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css"}
# checkout.js and checkout.css are not here: they are inlined into the frame (web/inline_assets.py).
FRAME_ASSETS = frozenset({"sandbox-page.js", "pages.css", "hosted-page.js",
                          "dashboard.css", "dashboard.js", "dashboard-live.js", "console.js"})


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes
    content_type: str


@lru_cache(maxsize=16)
def read_asset(name: str) -> Asset:
    body = (widget_dir() / name).read_bytes()
    # mtime=0: the same bytes on every start, so caches and ETags agree across instances.
    return Asset(body, gzip.compress(body, compresslevel=9, mtime=0), CONTENT_TYPES[name[name.rindex("."):]])


def _serve(request: web.Request, name: str, max_age_s: int) -> web.Response:
    asset = read_asset(name)
    wants_gzip = accepts_gzip(request)
    response = web.Response(body=asset.gzipped if wants_gzip else asset.body, content_type=asset.content_type,
                            charset="utf-8")
    if wants_gzip:
        response.headers["Content-Encoding"] = "gzip"
    vary_on_encoding(response)
    response.headers["Cache-Control"] = f"public, max-age={max_age_s}"
    return response


@routes.get("/v1/kopek.js")
async def loader(request: web.Request) -> web.Response:
    response = _serve(request, "loader.js", 300)
    # The loader runs on shops' pages, so any origin may fetch it.
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


@routes.get("/static/widget/{name}")
async def asset(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in FRAME_ASSETS:
        raise NotFound(f"no such file: {name}")
    return _serve(request, name, 300)
