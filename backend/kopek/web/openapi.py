"""GET /v1/openapi.json, generated from the marshmallow schemas with apispec."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from kopek import __version__, keys
from kopek.buttons import OPERATIONS as BUTTON_OPERATIONS
from kopek.ledger import schemas as ledger_schemas
from kopek.payments import feed_schemas, schemas
from kopek.refunds import schemas as refund_schemas
from kopek.web.idempotency import OPENAPI_PARAMETER as IDEMPOTENCY_KEY_PARAMETER
from kopek.webhooks import schemas as webhook_schemas

routes = web.RouteTableDef()

# (method, path, summary, request schema or None, response status, response schema)
OPERATIONS: list[tuple[str, str, str, Any, int, Any]] = [
    ("post", "/v1/payments", "Create a payment", schemas.PaymentCreateSchema, 201, schemas.PaymentSchema),
    ("get", "/v1/payments", "List payments, newest first", schemas.PaymentListQuerySchema, 200,
     schemas.PaymentListSchema),
    ("get", "/v1/payments/{id}", "Retrieve a payment", None, 200, schemas.PaymentSchema),
    ("post", "/v1/payments/{id}/cancel", "Cancel a payment", None, 200, schemas.PaymentSchema),
    ("get", "/v1/payments/{id}/events", "A payment's events in seq order", schemas.EventsQuerySchema, 200,
     schemas.EventListSchema),
    ("get", "/v1/wallets", "Every wallet, with whether this merchant enabled it", None, 200, schemas.WalletListSchema),
    ("post", "/v1/wallets/{id}", "Enable or disable a wallet for this merchant", schemas.WalletUpdateSchema, 200,
     schemas.WalletSchema),
    ("get", "/v1/events", "This merchant's events, oldest first, for polling", feed_schemas.EventFeedQuerySchema,
     200, feed_schemas.EventFeedPageSchema),
    *webhook_schemas.OPERATIONS,
    *BUTTON_OPERATIONS,
    *ledger_schemas.OPERATIONS,
    *refund_schemas.OPERATIONS,
]


def build_spec(public_base_url: str) -> dict[str, Any]:
    spec = APISpec(title="Kopek API", version=__version__, openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin()], servers=[{"url": public_base_url}])
    spec.components.security_scheme("secretKey", {"type": "http", "scheme": "bearer",
                                                  "description": "Your secret key, sk_test_... or sk_live_..."})
    spec.components.schema("Error", schema=schemas.ErrorSchema)
    for method, path, summary, request_schema, status, response_schema in OPERATIONS:
        spec.path(path=path, operations={method: _operation(method, path, summary, request_schema,
                                                            status, response_schema)})
    return spec.to_dict()


def _operation(method: str, path: str, summary: str, request_schema: Any, status: int,
               response_schema: Any) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "security": [{"secretKey": []}],
        "responses": {
            str(status): {"description": "OK", "content": {"application/json": {"schema": response_schema}}},
            "default": {"description": "An error", "content": {"application/json": {"schema": "Error"}}},
        },
    }
    parameters = []
    for name in re.findall(r"{(\w+)}", path):
        parameters.append({"in": "path", "name": name, "required": True, "schema": {"type": "string"}})
    if method == "post":
        parameters.append({**IDEMPOTENCY_KEY_PARAMETER})
    if request_schema is not None and method == "get":
        parameters.append({"in": "query", "schema": request_schema})
    elif request_schema is not None:
        operation["requestBody"] = {"required": True,
                                    "content": {"application/json": {"schema": request_schema}}}
    if parameters:
        operation["parameters"] = parameters
    return operation


@routes.get("/v1/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    return web.json_response(build_spec(request.app[keys.SETTINGS].public_base_url))
