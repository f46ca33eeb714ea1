"""GET /v1/openapi.json, generated from the marshmallow schemas with apispec."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema

from kopek import __version__, keys
from kopek.buttons import OPERATIONS as BUTTON_OPERATIONS
from kopek.ledger import schemas as ledger_schemas
from kopek.payments import feed_schemas, schemas
from kopek.openapi_operation import Operation
from kopek.refunds import schemas as refund_schemas
from kopek.web import merchant
from kopek.web.idempotency import OPENAPI_PARAMETER as IDEMPOTENCY_KEY_PARAMETER
from kopek.web.requests import CLIENT_SECRET_HEADER
from kopek.webhooks import schemas as webhook_schemas

routes = web.RouteTableDef()

ATTEMPT_KEY_PARAMETER = {"in": "header", "name": "Idempotency-Key", "required": True,
                         "schema": {"type": "string", "pattern": "^[A-Za-z0-9_\\-]{8,255}$"},
                         "description": "A fresh key per attempt: a double click makes one attempt"}
ERROR_DESCRIPTIONS = {400: "Bad input", 401: "A missing or wrong key or client secret",
                      403: "Not allowed", 404: "No such object", 409: "Not possible in the current state",
                      410: "No longer active", 429: "Too many requests; retry after retry_after_s",
                      503: "Try again shortly: the database is busy (database_busy, with Retry-After), or the "
                           "wallet's provider is paused after failures (wallet_unavailable)"}
# The checkout frame's errors: bad input, a wrong client secret, an unknown payment, the wrong state
# (attempting a canceled payment), too many guesses.
CHECKOUT_ERRORS = (400, 401, 404, 409, 429)

OPERATIONS: list[Operation] = [
    Operation("post", "/v1/payments", "Create a payment", schemas.PaymentCreateSchema, 201, schemas.PaymentSchema,
              errors=(400, 401, 409, 429)),
    Operation("get", "/v1/payments", "List payments, newest first", schemas.PaymentListQuerySchema, 200,
              schemas.PaymentListSchema),
    Operation("get", "/v1/payments/{id}", "Retrieve a payment", None, 200, schemas.PaymentSchema),
    Operation("post", "/v1/payments/{id}/cancel", "Cancel a payment", None, 200, schemas.PaymentSchema),
    Operation("get", "/v1/payments/{id}/events", "A payment's events in seq order", schemas.EventsQuerySchema, 200,
              schemas.EventListSchema),
    Operation("get", "/v1/wallets", "Every wallet, with whether this merchant enabled it", None, 200, schemas.WalletListSchema),
    Operation("post", "/v1/wallets/{id}", "Enable or disable a wallet for this merchant", schemas.WalletUpdateSchema, 200,
              schemas.WalletSchema),
    Operation("get", "/v1/events", "This merchant's events, oldest first, for polling", feed_schemas.EventFeedQuerySchema,
              200, feed_schemas.EventFeedPageSchema),
    Operation("get", "/v1/checkout/{id}", "The checkout's state and the wallets it offers", None, 200,
              schemas.CheckoutStateSchema, security="clientSecret", errors=(401, 404, 429)),
    Operation("post", "/v1/checkout/{id}/attempts", "Pay with a wallet: start an attempt", schemas.AttemptCreateSchema,
              200, schemas.CheckoutResultSchema, security="clientSecret", errors=CHECKOUT_ERRORS),
    Operation("post", "/v1/checkout/{id}/confirm", "Relay the code the wallet sent", schemas.ConfirmSchema, 200,
              schemas.CheckoutResultSchema, security="clientSecret", errors=CHECKOUT_ERRORS),
    Operation("post", "/v1/checkout/{id}/resend", "Ask the wallet to send the code again", schemas.EmptySchema, 200,
              schemas.CheckoutResultSchema, security="clientSecret", errors=CHECKOUT_ERRORS),
    Operation("post", "/v1/checkout/{id}/cancel", "The shopper cancels the payment", None, 200,
              schemas.CheckoutResultSchema, security="clientSecret", errors=(401, 404, 409, 429)),
    Operation("get", "/v1/checkout/{id}/events", "The payment's events after a seq (polling fallback)",
              schemas.EventsQuerySchema, 200, schemas.CheckoutEventListSchema, security="clientSecret",
              errors=(400, 401, 404, 429)),
    *merchant.OPERATIONS,
    *webhook_schemas.OPERATIONS,
    *BUTTON_OPERATIONS,
    *ledger_schemas.OPERATIONS,
    *refund_schemas.OPERATIONS,
]


def build_spec(public_base_url: str) -> dict[str, Any]:
    marshmallow = MarshmallowPlugin()
    spec = APISpec(title="Kopek API", version=__version__, openapi_version="3.0.3",
                   plugins=[marshmallow], servers=[{"url": public_base_url}])
    spec.components.security_scheme("secretKey", {"type": "http", "scheme": "bearer",
                                                  "description": "Your secret key, sk_test_... or sk_live_..."})
    spec.components.security_scheme("clientSecret", {
        "type": "apiKey", "in": "header", "name": CLIENT_SECRET_HEADER,
        "description": "The payment's client_secret (pay_..._secret_...), for the checkout frame; one payment only. "
                       "Never put it in a URL."})
    spec.components.schema("Error", schema=schemas.ErrorSchema)
    for operation in OPERATIONS:
        spec.path(path=operation.path, operations={operation.method: _operation(operation)})
    document = spec.to_dict()
    _add_cross_field_rules(document, marshmallow.converter)
    return document


def _add_cross_field_rules(document: dict[str, Any], converter: Any) -> None:
    """A schema's OPENAPI_RULE states what its @validates_schema checks, where JSON Schema can say it."""
    for key, name in converter.refs.items():  # key: (schema class, modifiers...)
        rule = getattr(key[0], "OPENAPI_RULE", None)
        if rule:
            document["components"]["schemas"][name].update(rule)


def _operation(op: Operation) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": op.summary,
        "security": [{op.security: []}] if op.security else [],
        "responses": {str(op.status): _success(op), **_errors(op)},
    }
    parameters = [{"in": "path", "name": name, "required": True, "schema": {"type": "string"}}
                  for name in re.findall(r"{(\w+)}", op.path)]
    if op.method == "post" and op.security == "secretKey":
        parameters.append({**IDEMPOTENCY_KEY_PARAMETER})
    if op.path == "/v1/checkout/{id}/attempts":
        parameters.append({**ATTEMPT_KEY_PARAMETER})
    if op.request_schema is not None and op.method == "get":
        parameters.append({"in": "query", "schema": op.request_schema})
    elif op.request_schema is not None:
        operation["requestBody"] = {"required": _requires_a_body(op.request_schema),
                                    "content": {op.request_content_type: {"schema": op.request_schema}}}
    if parameters:
        operation["parameters"] = parameters
    return operation


def _requires_a_body(schema: Any) -> bool:
    """An update whose fields are all optional takes no body too (read_json treats it as {})."""
    instance = schema() if isinstance(schema, type) else schema
    return not isinstance(instance, Schema) or any(field.required for field in instance.fields.values())


def _success(op: Operation) -> dict[str, Any]:
    if op.status == 303:
        return {"description": "See Other: the hosted payment page", "headers": {
            "Location": {"schema": {"type": "string"}, "description": "The hosted page's URL"}}}
    return {"description": "OK", "content": {op.content_type: {"schema": op.response_schema}}}


def _errors(op: Operation) -> dict[str, Any]:
    schema: Any = "Error" if op.error_content_type == "application/json" else {"type": "string"}
    body = {"content": {op.error_content_type: {"schema": schema}}}
    # Any write may find the database's lock held by another process for too long (web/middlewares.py).
    statuses = (*op.errors, 503) if op.method != "get" else op.errors
    return {**{str(status): {"description": ERROR_DESCRIPTIONS[status], **body} for status in statuses},
            "default": {"description": "An error", **body}}


@routes.get("/v1/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    return web.json_response(build_spec(request.app[keys.SETTINGS].public_base_url))
