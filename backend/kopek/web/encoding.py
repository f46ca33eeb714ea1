"""Text from outside is UTF-8, or the request is refused before any handler sees it.

aiohttp decodes a path or query string with bad percent-escapes (%ED%A0%80 is a UTF-16 surrogate
in UTF-8 dress, %FF is no UTF-8 at all) by replacing or keeping them, and header bytes with
surrogateescape: either way a handler would get a string that is not what was sent, and a lone
surrogate fails at the database. Bodies are checked where they are parsed (kopek.strict_json).
"""

from __future__ import annotations

from urllib.parse import unquote, unquote_to_bytes

from aiohttp import web

from kopek.errors import InvalidRequest
from kopek.web.middlewares import Handler


@web.middleware
async def utf8_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    url = request.rel_url
    if not _is_utf8(unquote_to_bytes(url.raw_path)):
        raise InvalidRequest("the URL's path is not UTF-8", code="invalid_encoding")
    for pair in url.raw_query_string.split("&"):
        name, _, value = pair.partition("=")
        if not (_is_utf8(unquote_to_bytes(name)) and _is_utf8(unquote_to_bytes(value))):
            raise InvalidRequest(f"the query parameter {_printable(unquote(name))!r} is not UTF-8",
                                 param=_printable(unquote(name)), code="invalid_encoding")
    for name, value in request.headers.items():
        if not (_is_text(name) and _is_text(value)):
            raise InvalidRequest("a header is not UTF-8", param=_printable(name), code="invalid_encoding")
    return await handler(request)


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _printable(name: str) -> str:
    """A name fit to quote back: any character that is not printable ASCII becomes '?'."""
    return "".join(c if " " <= c <= "~" else "?" for c in name)[:100]


def _is_text(text: str) -> bool:
    """No lone surrogate, which is what surrogateescape makes of bytes that are not UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
