"""gzip for what browsers load, when they accept it: the widget's files (gzipped once, web/widget.py),
the checkout frame and the checkout state it asks for first. The shop's server-to-server API is
left uncompressed: its answers are small, and compressing them would cost CPU on every request."""

from __future__ import annotations

from aiohttp import web

MIN_COMPRESSED_BYTES = 1024   # below this, gzip's header and the CPU cost more than it saves


def accepts_gzip(request: web.Request) -> bool:
    return "gzip" in request.headers.get("Accept-Encoding", "").lower()


def gzip_if_accepted(request: web.Request, response: web.Response) -> web.Response:
    if accepts_gzip(request) and response.body is not None and len(response.body) >= MIN_COMPRESSED_BYTES:
        response.enable_compression(web.ContentCoding.gzip)
    response.headers["Vary"] = "Accept-Encoding"
    return response
