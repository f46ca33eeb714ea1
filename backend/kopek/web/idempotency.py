"""Idempotency-Key on every POST of the server API (secret key), as one middleware.

It covers any POST under /v1/ sent with `Authorization: Bearer sk_...` and an
`Idempotency-Key` header, whatever its route, so new endpoints get it for free. Keys are
scoped to the merchant and the mode. The checkout frame (its own per-attempt keys) and
provider callbacks are left alone.

What is kept for replay: every 2xx, and the 4xx answers that state a fact about the
resource (404, 409, ...). Not kept, so the client may fix the request or try again with the
same key: 5xx, 429, and refused input (400, 401, 408, 413, 415, 422), which did nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import AsyncIterator

from aiohttp import web

from kopek import keys
from kopek.errors import InvalidRequest, KopekError
from kopek.idempotency import HEADER, MAX_STORED_BODY, IdempotencyGuard, RequestPrint, check_key
from kopek.store.idempotency import IdempotencyStore, KeyScope, StoredResponse
from kopek.web.middlewares import REQUEST_ID, Handler, error_response
from kopek.web.requests import authenticate

log = logging.getLogger(__name__)

REPLAYED_HEADER = "Idempotent-Replayed"
EXCLUDED_PREFIXES = ("/v1/checkout/", "/v1/providers/")
NOT_STORED_4XX = frozenset({400, 401, 408, 413, 415, 422, 429})
SECRET_FIELDS = ("secret", "check_secret")  # shown once, so never kept for a replay

OPENAPI_PARAMETER = {
    "in": "header", "name": HEADER, "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    "description": "A unique key per operation, e.g. a UUID. Retrying with the same key and the same body "
                   "replays the first response (with `Idempotent-Replayed: true`) instead of acting twice; "
                   "the same key with another body is a 400 idempotency_error. Keys are kept 24 hours.",
}


def setup(app: web.Application) -> None:
    """Call after the database's cleanup context is in place."""
    app.middlewares.append(idempotency_middleware)
    app.cleanup_ctx.append(idempotency_keys)


async def idempotency_keys(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    store = IdempotencyStore(app[keys.STORE])
    released = await store.release_unfinished()
    if released:
        log.warning("released %d idempotency keys whose requests were cut off by the last stop", released)
    guard = IdempotencyGuard(store, ttl_s=settings.idempotency_ttl_s, wait_s=settings.idempotency_wait_s)
    app[keys.IDEMPOTENCY] = guard
    purger = asyncio.create_task(_purge_forever(guard))
    yield
    purger.cancel()
    await asyncio.gather(purger, return_exceptions=True)


async def _purge_forever(guard: IdempotencyGuard) -> None:
    while True:
        try:
            await guard.purge_expired()
        except Exception:  # one bad round must not stop the next
            log.exception("purging expired idempotency keys failed")
        await asyncio.sleep(guard.purge_interval_s)


@web.middleware
async def idempotency_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not _applies(request):
        return await handler(request)
    api_key = await authenticate(request)
    key = check_key(request.headers.getall(HEADER))
    body = await _read_body(request)
    guard = request.config_dict[keys.IDEMPOTENCY]
    outcome = await guard.begin(KeyScope(api_key.merchant_id, api_key.livemode, key),
                                RequestPrint.of(request.method, request.raw_path, body))
    if isinstance(outcome, StoredResponse):
        return _replay(outcome)
    response: web.StreamResponse | None = None
    try:
        response = await _run(handler, request)
    finally:  # also when the handler raised or was cancelled: then the key is released
        await guard.finish(outcome, _to_store(response))
    return response


def _applies(request: web.Request) -> bool:
    if request.method != "POST" or HEADER not in request.headers:
        return False
    route = request.match_info.route
    if request.match_info.http_exception is not None or route.resource is None:
        return False  # 404 or 405: nothing would run
    path = route.resource.canonical
    if not path.startswith("/v1/") or path.startswith(EXCLUDED_PREFIXES):
        return False
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and token.strip().startswith("sk_")


async def _read_body(request: web.Request) -> bytes:
    # The body is read here to be hashed, so the handler's own content-type check (which only
    # looks while the body is unread) must happen here too.
    if request.body_exists and request.content_type != "application/json":
        raise InvalidRequest("send the body as JSON with Content-Type: application/json",
                             code="unsupported_media_type")
    return await request.read()


async def _run(handler: Handler, request: web.Request) -> web.StreamResponse:
    """The handler's response, with an error rendered here so that it can be kept as well."""
    try:
        return await handler(request)
    except KopekError as exc:
        return error_response(exc, request.get(REQUEST_ID, ""))


def _to_store(response: web.StreamResponse | None) -> StoredResponse | None:
    if not isinstance(response, web.Response) or response.prepared:
        return None
    status = response.status
    if not 200 <= status < 500 or status in NOT_STORED_4XX:
        return None
    body = response.body if response.body is not None else b""
    if not isinstance(body, bytes) or len(body) > MAX_STORED_BODY:
        log.warning("a %d response is not kept for replay: its body is not small bytes", status)
        return None
    return StoredResponse(status, response.headers.get("Content-Type"), _without_secrets(body))


def _without_secrets(body: bytes) -> bytes:
    """Secrets are shown once and never stored: a replay says where the secret was, not what."""
    if b'secret"' not in body:
        return body
    try:
        data = json.loads(body)
    except ValueError:
        return body
    if not isinstance(data, dict) or not any(isinstance(data.get(f), str) for f in SECRET_FIELDS):
        return body
    for name in SECRET_FIELDS:
        if isinstance(data.get(name), str):
            data[name] = None
    data["secret_shown_once"] = True
    return json.dumps(data).encode()


def _replay(stored: StoredResponse) -> web.Response:
    headers = {REPLAYED_HEADER: "true"}
    if stored.content_type:
        headers["Content-Type"] = stored.content_type
    return web.Response(status=stored.status, body=stored.body, headers=headers)
