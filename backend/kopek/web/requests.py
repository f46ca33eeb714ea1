"""Reading and checking what a request carries: JSON bodies, query strings, keys, secrets."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from marshmallow import Schema, ValidationError

from kopek import keys, strict_json
from kopek.errors import AuthenticationFailed, InvalidRequest, RateLimited, ValidationFailed
from kopek.ids import hash_secret
from kopek.store.records import ApiKey

CLIENT_SECRET_HEADER = "Kopek-Client-Secret"


async def read_json(request: web.Request, schema: Schema) -> dict[str, Any]:
    if request.content_type != "application/json" and request.can_read_body:
        raise InvalidRequest("send the body as JSON with Content-Type: application/json",
                             code="unsupported_media_type")
    raw = await request.read()
    try:
        body = strict_json.loads(raw) if raw.strip() else {}
    except strict_json.MalformedJson as exc:
        raise InvalidRequest(f"the body is not valid JSON: {exc}", code="invalid_json") from None
    if not isinstance(body, dict):
        raise InvalidRequest("the body must be a JSON object", code="invalid_json")
    return load(schema, body)


def read_query(request: web.Request, schema: Schema) -> dict[str, Any]:
    return load(schema, dict(request.query))


def load(schema: Schema, data: dict[str, Any]) -> dict[str, Any]:
    try:
        return schema.load(data)
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        raise ValidationFailed(messages) from exc


def client_ip(request: web.Request) -> str:
    return request.remote or "unknown"


async def authenticate(request: web.Request) -> ApiKey:
    """A secret key in `Authorization: Bearer sk_...`, of this server's mode."""
    limiter = request.app[keys.AUTH_FAILURES]
    ip = client_ip(request)
    if limiter.blocked(ip):
        raise RateLimited("too many requests with invalid keys; wait and retry",
                          extra={"retry_after_s": limiter.retry_after_s(ip)})
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.startswith(("sk_test_", "sk_live_")):
        limiter.hit(ip)
        raise AuthenticationFailed("send your secret key as 'Authorization: Bearer sk_...'")
    api_key = await request.app[keys.STORE].find_api_key(hash_secret(token.strip()))
    if api_key is None or api_key.kind != "secret":
        limiter.hit(ip)
        raise AuthenticationFailed("invalid API key")
    live_server = not request.app[keys.SETTINGS].sandbox
    if api_key.livemode != live_server:
        raise AuthenticationFailed(
            f"{'live' if api_key.livemode else 'test'} keys do not work on a "
            f"{'live' if live_server else 'sandbox'} server", code="key_mode_mismatch")
    return api_key


def client_secret(request: web.Request) -> str | None:
    return request.headers.get(CLIENT_SECRET_HEADER)
