"""Request and response schemas for webhook endpoints and their delivery log (OpenAPI reads these)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from kopek.payments.schemas import StrictInteger
from kopek.webhooks.events import DEFAULT_EVENTS, EVENT_TYPES
from kopek.webhooks.guard import url_problem
from kopek.openapi_operation import Operation
from kopek.url_shape import url_metadata

MAX_OVERLAP_S = 7 * 86400
STATUSES = ("enabled", "disabled")


def valid_url(value: str) -> None:
    """The shape every URL Kopek calls must have (webhook endpoints, the pre-check)."""
    problem = url_problem(value)
    if problem:
        raise ValidationError(problem)


def _url_field(**kwargs: Any) -> fields.String:
    return fields.String(validate=valid_url, metadata=url_metadata(
        "http(s) URL, at most 2048 characters; in live mode it must not reach a "
        "private, loopback, link-local or reserved address."), **kwargs)


def _events_field(**kwargs: Any) -> fields.List:
    # load_default=None only marks "left out"; the document shows the list that then applies.
    default = {"default": list(DEFAULT_EVENTS)} if "load_default" in kwargs else {}
    return fields.List(fields.String(validate=validate.OneOf(EVENT_TYPES)),
                       validate=validate.Length(min=1, max=len(EVENT_TYPES)),
                       metadata={"description": f"Event types; default {', '.join(DEFAULT_EVENTS)}.",
                                 "example": ["payment.succeeded"], **default}, **kwargs)


class EndpointCreateSchema(Schema):
    url = _url_field(required=True)
    events = _events_field(load_default=None, allow_none=False)
    description = fields.String(load_default="", validate=validate.Length(max=500))


class EndpointUpdateSchema(Schema):
    url = _url_field()
    events = _events_field()
    description = fields.String(validate=validate.Length(max=500))
    status = fields.String(validate=validate.OneOf(STATUSES))


class RotateSecretSchema(Schema):
    overlap_s = StrictInteger(load_default=86400, validate=validate.Range(min=0, max=MAX_OVERLAP_S), metadata={
        "description": "For how long the old secret keeps signing beside the new one (seconds, at most 7 days)."})


class DeliveryListQuerySchema(Schema):
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    starting_after = fields.String(validate=validate.Length(min=5, max=64))


class EmptySchema(Schema):
    pass


# -- responses (documentation; the objects are built in webhooks/views.py) -------------

class EndpointSchema(Schema):
    id = fields.String(metadata={"example": "we_1x2y3z"})
    object = fields.String(metadata={"example": "webhook_endpoint"})
    url = fields.String()
    events = fields.List(fields.String())
    description = fields.String()
    status = fields.String(metadata={"enum": list(STATUSES)})
    disabled_reason = fields.String(allow_none=True)
    livemode = fields.Boolean()
    previous_secret_expires_at = fields.String(allow_none=True, metadata={
        "description": "While set, the previous secret signs too (after a rotation)."})
    created_at = fields.String()
    updated_at = fields.String()


class SecretShownOnceSchema(Schema):
    """An idempotent replay (web/idempotency.py) never holds a secret: it answers null there and says so."""
    secret_shown_once = fields.Boolean(metadata={
        "description": "Only in a replayed response: the secret was shown in the first one and is null here."})


class EndpointWithSecretSchema(EndpointSchema, SecretShownOnceSchema):
    secret = fields.String(allow_none=True, metadata={
        "description": "whsec_...: shown only here, once; null in an idempotent replay.",
        "example": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})


class EndpointListSchema(Schema):
    object = fields.String(metadata={"example": "list"})
    data = fields.List(fields.Nested(EndpointSchema))


class DeletedSchema(Schema):
    id = fields.String()
    object = fields.String()
    deleted = fields.Boolean()


class AttemptSchema(Schema):
    started_at = fields.String()
    duration_ms = fields.Integer()
    http_status = fields.Integer(allow_none=True)
    error = fields.String(allow_none=True)
    response_excerpt = fields.String(allow_none=True, metadata={"description": "At most 1 KB of the answer."})


class DeliverySchema(Schema):
    id = fields.String(metadata={"example": "whd_1x2y3z"})
    object = fields.String(metadata={"example": "webhook_delivery"})
    endpoint_id = fields.String()
    event_id = fields.String(metadata={"description": "Sent as webhook-id on every attempt."})
    event_type = fields.String()
    payment_id = fields.String(allow_none=True)
    seq = fields.Integer(allow_none=True)
    status = fields.String(metadata={"enum": ["pending", "succeeded", "failed", "abandoned"]})
    attempt_count = fields.Integer()
    next_attempt_at = fields.String(allow_none=True)
    last_attempt_at = fields.String(allow_none=True)
    created_at = fields.String()
    payload = fields.Dict(metadata={"description": "The event body as sent."})
    attempts = fields.List(fields.Nested(AttemptSchema), metadata={"description": "Newest first (20 at most)."})


class DeliveryListSchema(Schema):
    object = fields.String(metadata={"example": "list"})
    data = fields.List(fields.Nested(DeliverySchema))
    has_more = fields.Boolean()


_ENDPOINT = "/v1/webhook_endpoints/{id}"
# For web/openapi.py: (method, path, summary, request schema or None, response status, response schema)
OPERATIONS: list[Operation] = [
    Operation("post", "/v1/webhook_endpoints", "Create a webhook endpoint (its secret is shown only here)",
              EndpointCreateSchema, 201, EndpointWithSecretSchema, errors=(400, 401, 409, 429)),
    Operation("get", "/v1/webhook_endpoints", "List webhook endpoints", None, 200, EndpointListSchema),
    Operation("get", _ENDPOINT, "Retrieve a webhook endpoint", None, 200, EndpointSchema),
    Operation("post", _ENDPOINT, "Update a webhook endpoint's URL, events, description or status", EndpointUpdateSchema,
              200, EndpointSchema),
    Operation("delete", _ENDPOINT, "Delete a webhook endpoint (its open deliveries are abandoned)", None, 200,
              DeletedSchema),
    Operation("post", _ENDPOINT + "/rotate_secret", "Rotate the signing secret; the old one signs too during the overlap",
              RotateSecretSchema, 200, EndpointWithSecretSchema),
    Operation("post", _ENDPOINT + "/test", "Send a webhook.test event to this endpoint", None, 202, DeliverySchema),
    Operation("get", _ENDPOINT + "/deliveries", "This endpoint's deliveries, newest first, each with its attempts",
              DeliveryListQuerySchema, 200, DeliveryListSchema),
    Operation("post", _ENDPOINT + "/deliveries/{delivery_id}/redeliver", "Attempt a delivery again now (same webhook-id)",
              None, 202, DeliverySchema),
]
