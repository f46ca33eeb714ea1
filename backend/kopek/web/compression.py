"""gzip for what browsers load, when they accept it: the widget's files (gzipped once, web/widget.py),
the checkout frame and the checkout state it asks for first. The shop's server-to-server API is
left uncompressed: its answers are small, and compressing them would cost CPU on every request."""

from __future__ import annotations

from aiohttp import web

MIN_COMPRESSED_BYTES = 1024   # below this, gzip's header and the CPU cost more than it saves


def accepts_gzip(request: web.Request) -> bool:
    """Whether Accept-Encoding admits gzip (RFC 9110 12.5.3): named, or covered by `*`, with q > 0."""
    weights: dict[str, float] = {}
    for item in request.headers.get("Accept-Encoding", "").lower().split(","):
        coding, *parameters = (part.strip() for part in item.split(";"))
        weights[coding] = _weight(parameters)
    return weights.get("gzip", weights.get("x-gzip", weights.get("*", 0.0))) > 0


def _weight(parameters: list[str]) -> float:
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip() == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0


def vary_on_encoding(response: web.StreamResponse) -> None:
    response.headers["Vary"] = "Accept-Encoding"


def gzip_if_accepted(request: web.Request, response: web.Response) -> web.Response:
    if accepts_gzip(request) and response.body is not None and len(response.body) >= MIN_COMPRESSED_BYTES:
        response.enable_compression(web.ContentCoding.gzip)
    vary_on_encoding(response)
    return response
