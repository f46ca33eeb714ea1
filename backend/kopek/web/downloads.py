"""Files streamed to the client as downloads (CSV reports): the response headers set once, here."""

from __future__ import annotations

from aiohttp import web

from kopek.web.middlewares import REQUEST_ID


async def start_csv(request: web.Request, filename: str) -> web.StreamResponse:
    """A prepared CSV download, ready for `write`; the caller ends it with `write_eof`."""
    response = web.StreamResponse(headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store",
        # Prepared here, so the middlewares cannot add these afterwards.
        "X-Request-Id": request[REQUEST_ID], "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
        "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"})
    await response.prepare(request)
    return response
