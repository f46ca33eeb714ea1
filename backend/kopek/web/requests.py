"""Reading and checking what a request carries: JSON bodies, query strings, keys, secrets."""

from __future__ import annotations

from functools import cache
from typing import Any

from aiohttp import web
from marshmallow import Schema, ValidationError

from kopek import keys, strict_json
from kopek.client_address import client_address
from kopek.errors import AuthenticationFailed, InvalidRequest, ValidationFailed
from kopek.ids import hash_secret
from kopek.limits import Backoff, Ticket
from kopek.store.records import ApiKey

CLIENT_SECRET_HEADER = "Kopek-Client-Secret"


async def read_json(request: web.Request, schema: type[Schema]) -> dict[str, Any]:
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


def read_query(request: web.Request, schema: type[Schema]) -> dict[str, Any]:
    return load(schema, dict(request.query))


def load(schema: type[Schema], data: dict[str, Any]) -> dict[str, Any]:
    try:
        return _instance(schema).load(data)
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        raise ValidationFailed(messages) from exc


@cache
def _instance(schema: type[Schema]) -> Schema:
    """One instance per schema class: building a marshmallow schema costs more than loading with it."""
    return schema()


def client_ip(request: web.Request) -> str:
    trusted = request.config_dict[keys.TRUSTED_PROXIES]
    return client_address(request.remote, request.headers.getall("X-Forwarded-For", ()), trusted)


# Wrong secret keys and wrong client secrets are throttled apart, each keyed by what it guards, so
# neither kind of failure slows the other kind of credential (kopek.limits: counted before the check).
API_KEY_GUESSES = Backoff("api_key_guesses", free=20, window_s=60, delay_s=1, delay_s_max=60,
                          message="too many requests with invalid keys; wait and retry")
CLIENT_SECRET_GUESSES_PER_PAYMENT = Backoff("client_secret_per_payment", free=5, window_s=600, delay_s=2,
                                            delay_s_max=300, message="too many invalid client secrets; wait and retry")
CLIENT_SECRET_GUESSES_PER_IP = Backoff("client_secret_per_ip", free=20, window_s=600, delay_s=1,
                                       delay_s_max=300, message="too many invalid client secrets; wait and retry")


async def authenticate(request: web.Request) -> ApiKey:
    """A secret key in `Authorization: Bearer sk_...`, of this server's mode.

    A wrong key counts once it is found wrong. Concurrent guesses are all looked up, but each is
    answered in turn after its lookup, and a right key is answered 429 too while the address must
    wait, so the answers tell a guesser no more than the limit allows."""
    limits, ip = request.app[keys.LIMITS], client_ip(request)
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    well_formed = scheme.lower() == "bearer" and token.startswith(("sk_test_", "sk_live_"))
    found = await request.app[keys.STORE].find_api_key(hash_secret(token.strip())) if well_formed else None
    if found is None or found.kind != "secret":
        await limits.admit(API_KEY_GUESSES, ip)
        raise AuthenticationFailed("invalid API key" if well_formed else
                                   "send your secret key as 'Authorization: Bearer sk_...'")
    await limits.check(API_KEY_GUESSES, ip)
    live_server = not request.app[keys.SETTINGS].sandbox
    if found.livemode != live_server:
        raise AuthenticationFailed(
            f"{'live' if found.livemode else 'test'} keys do not work on a "
            f"{'live' if live_server else 'sandbox'} server", code="key_mode_mismatch")
    return found


async def admit_client_secret_guess(request: web.Request, payment_id: str) -> Ticket:
    ip = client_ip(request)
    return await request.app[keys.LIMITS].admit_each(
        ((CLIENT_SECRET_GUESSES_PER_PAYMENT, f"{payment_id}|{ip}"), (CLIENT_SECRET_GUESSES_PER_IP, ip)))


def client_secret(request: web.Request) -> str | None:
    return request.headers.get(CLIENT_SECRET_HEADER)
