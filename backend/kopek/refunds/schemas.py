"""Request and response schemas for refunds (OpenAPI reads these)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from kopek.payments.schemas import MAX_AMOUNT_MINOR, Currency, StrictInteger
from kopek.openapi_operation import Operation

ID = validate.Regexp(r"^[A-Za-z0-9_]{4,64}$", error="Not a valid id.")


class RefundCreateSchema(Schema):
    payment = fields.String(required=True, validate=ID, metadata={"description": "The payment to refund (pay_...)"})
    amount = StrictInteger(validate=validate.Range(min=1, max=MAX_AMOUNT_MINOR), metadata={
        "description": "Minor units; by default everything still refundable"})
    currency = Currency(metadata={"description": "If given, must be the payment's currency"})
    reason = fields.String(validate=validate.Length(max=500), allow_none=True, load_default=None)


class RefundListQuerySchema(Schema):
    payment = fields.String(required=True, validate=ID, metadata={"description": "The payment's id"})


class RefundSchema(Schema):
    id = fields.String(metadata={"example": "re_..."})
    object = fields.String(metadata={"example": "refund"})
    payment = fields.String()
    amount = fields.Integer()
    currency = fields.String()
    status = fields.String(metadata={"description": "pending, then succeeded or failed"})
    reason = fields.String(allow_none=True)
    failure_code = fields.String(allow_none=True, metadata={
        "description": "refund_declined, not_refundable, amount_exceeds_remaining or provider_error"})
    livemode = fields.Boolean()
    created_at = fields.String()


class RefundListSchema(Schema):
    object = fields.String(metadata={"example": "list"})
    data = fields.List(fields.Nested(RefundSchema))
    has_more = fields.Boolean()


OPERATIONS: list[Operation] = [
    Operation("post", "/v1/refunds", "Refund a succeeded payment, in full (by default) or in part", RefundCreateSchema, 200,
              RefundSchema),
    Operation("get", "/v1/refunds", "A payment's refunds, oldest first", RefundListQuerySchema, 200, RefundListSchema),
    Operation("get", "/v1/refunds/{id}", "Retrieve a refund", None, 200, RefundSchema),
]
