"""The merchant's own settings through the API: today, the pre-check URL."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from marshmallow import Schema, fields, validate

from kopek import keys
from kopek.errors import InvalidRequest
from kopek.openapi_operation import Operation
from kopek.payments.precheck import check_secret
from kopek.webhooks.guard import UrlNotAllowed, check_url_target
from kopek.url_shape import url_metadata
from kopek.webhooks.schemas import SecretShownOnceSchema, valid_url
from kopek.store.records import Merchant
from kopek.web.requests import authenticate, read_json

routes = web.RouteTableDef()


class MerchantUpdateSchema(Schema):
    check_url = fields.String(allow_none=True, validate=valid_url, metadata=url_metadata(
        "Asked before each attempt; null turns the check off. http(s), at most 2048 characters; "
        "on a live server it must not reach a private, loopback, link-local or reserved address."))
    check_on_timeout = fields.String(validate=validate.OneOf(["allow", "refuse"]),
                                     metadata={"description": "What a timeout or a bad answer means"})


class MerchantSchema(SecretShownOnceSchema):
    """What merchant_object answers; POST adds check_secret while a check URL is set."""
    id = fields.String()
    object = fields.String(metadata={"example": "merchant"})
    name = fields.String()
    origins = fields.List(fields.String(), metadata={"description": "Origins allowed to frame the checkout"})
    check_url = fields.String(allow_none=True)
    check_on_timeout = fields.String(metadata={"enum": ["allow", "refuse"]})
    check_secret = fields.String(allow_none=True, metadata={
        "description": "Signs the pre-check requests; POST only, when set; null in an idempotent replay"})


OPERATIONS: list[Operation] = [
    Operation("get", "/v1/merchant", "This merchant's settings", None, 200, MerchantSchema),
    Operation("post", "/v1/merchant", "Set or clear the pre-check URL; answers the check's signing secret",
              MerchantUpdateSchema, 200, MerchantSchema, errors=(400, 401, 429)),
]


def merchant_object(merchant: Merchant) -> dict[str, Any]:
    return {"id": merchant.id, "object": "merchant", "name": merchant.name, "origins": list(merchant.origins),
            "check_url": merchant.check_url, "check_on_timeout": merchant.check_on_timeout}


async def update_check(app: web.Application, merchant: Merchant, data: dict[str, Any]) -> Merchant:
    """Set or clear the pre-check from MerchantUpdateSchema's data; what the data leaves out stays.
    The API and the dashboard both come here, so a check URL is validated in one place."""
    check_url = data.get("check_url", merchant.check_url)
    if check_url and "check_url" in data:
        await _refuse_private(app, check_url)
    store = app[keys.STORE]
    await store.set_merchant_check(merchant.id, check_url, data.get("check_on_timeout", merchant.check_on_timeout))
    updated = await store.get_merchant(merchant.id)
    assert updated is not None
    return updated


async def _refuse_private(app: web.Application, url: str) -> None:
    """In live mode the check URL passes the same SSRF guard as webhook endpoints."""
    try:
        await check_url_target(url, allow_private=app[keys.SETTINGS].sandbox)
    except UrlNotAllowed as exc:
        raise InvalidRequest(str(exc), param="check_url", code="url_not_allowed") from exc


@routes.get("/v1/merchant")
async def get_merchant(request: web.Request) -> web.Response:
    api_key = await authenticate(request)
    merchant = await request.app[keys.STORE].get_merchant(api_key.merchant_id)
    assert merchant is not None
    return web.json_response(merchant_object(merchant))


@routes.post("/v1/merchant")
async def update_merchant(request: web.Request) -> web.Response:
    """Set the pre-check. The answer carries the check's signing secret (derived, shown on request)."""
    api_key = await authenticate(request)
    data = await read_json(request, MerchantUpdateSchema)
    merchant = await request.app[keys.STORE].get_merchant(api_key.merchant_id)
    assert merchant is not None
    merchant = await update_check(request.app, merchant, data)
    body = merchant_object(merchant)
    if merchant.check_url:
        body["check_secret"] = check_secret(request.app[keys.KEYRING].purpose("check_secret").current, merchant.id)
    return web.json_response(body)
