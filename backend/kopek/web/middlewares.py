"""Request ids, the one error envelope, and security headers."""

from __future__ import annotations

import logging
from typing import Awaitable, Callable

from aiohttp import web

from kopek import keys
from kopek.errors import KopekError
from kopek.ids import random_token
from kopek.store.records import DatabaseBusy

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

REQUEST_ID = web.RequestKey("request_id", str)
HSTS = "max-age=31536000; includeSubDomains"
HTTP_ERROR_CODES = {
    400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "payload_too_large",
    415: "unsupported_media_type",
}


def error_response(error: KopekError, request_id: str) -> web.Response:
    response = web.json_response(error.to_dict(request_id), status=error.status)
    if error.status in (429, 503) and "retry_after_s" in error.extra:
        response.headers["Retry-After"] = str(error.extra["retry_after_s"])
    return response


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    request_id = request.headers.get("X-Request-Id", "")
    if not (8 <= len(request_id) <= 64 and request_id.replace("-", "").replace("_", "").isalnum()):
        request_id = "req_" + random_token(20)
    request[REQUEST_ID] = request_id
    try:
        response = await handler(request)
    except KopekError as exc:
        response = error_response(exc, request_id)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        response = error_response(_from_http_exception(exc), request_id)
        if "Allow" in exc.headers:  # a 405 says which methods the route serves (RFC 9110)
            response.headers["Allow"] = exc.headers["Allow"]
    except DatabaseBusy:
        log.warning("database busy in %s %s [%s]", request.method, request.path, request_id)
        response = error_response(_busy(), request_id)
    except Exception:
        log.exception("unexpected error in %s %s [%s]", request.method, request.path, request_id)
        response = error_response(_internal(), request_id)
    if not response.prepared:
        response.headers["X-Request-Id"] = request_id
    return response


def _from_http_exception(exc: web.HTTPException) -> KopekError:
    error = KopekError(exc.reason if exc.status != 413 else "request body is too large (64 KB at most)")
    error.status = exc.status
    error.code = HTTP_ERROR_CODES.get(exc.status, "http_error")
    return error


def _busy() -> KopekError:
    error = KopekError("The database is busy; retry the request in a moment.", extra={"retry_after_s": 1})
    error.status, error.type, error.code = 503, "api_error", "database_busy"
    return error


def _internal() -> KopekError:
    error = KopekError("Something went wrong on our side; the request id identifies it in our logs.")
    error.status, error.type, error.code = 500, "api_error", "internal_error"
    return error


@web.middleware
async def security_headers_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as redirect:   # a raised redirect gets the same headers
        _add_security_headers(request, redirect)
        raise
    _add_security_headers(request, response)
    return response


def _add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    if not response.prepared:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("Content-Security-Policy",
                                    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'")
        # Browsers ignore HSTS over http, and a TLS proxy in front of Kopek talks http to it:
        # the configured public URL says whether the site is https.
        settings = request.config_dict.get(keys.SETTINGS)
        if settings is not None and settings.public_base_url.startswith("https://"):
            response.headers.setdefault("Strict-Transport-Security", HSTS)
