"""Request and response schemas for fee plans, the balance and settlements (OpenAPI reads these)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from kopek.ledger.fees import MAX_BASIS_POINTS, MAX_FIXED_MINOR, FeePlan
from kopek.payments.schemas import StrictInteger
from kopek.openapi_operation import Operation


def _minor(description: str, **kwargs: Any) -> StrictInteger:
    return StrictInteger(validate=validate.Range(min=0, max=MAX_FIXED_MINOR),
                         metadata={"description": description}, **kwargs)


class FeePlanUpdateSchema(Schema):
    basis_points = StrictInteger(required=True, validate=validate.Range(min=0, max=MAX_BASIS_POINTS), metadata={
        "description": "The percentage part in hundredths of a percent: 150 is 1.5 %.", "example": 150})
    fixed = _minor("A fixed fee per payment, in minor units.", required=True)
    minimum = _minor("The smallest fee, in minor units.", required=True)
    maximum = _minor("The largest fee, in minor units; null for none.", load_default=None, allow_none=True)

    @validates_schema
    def _maximum_not_below_minimum(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("maximum") is not None and data.get("minimum") is not None and data["maximum"] < data["minimum"]:
            raise ValidationError("Must not be below the minimum.", "maximum")

    @post_load
    def _plan(self, data: dict[str, Any], **kwargs: Any) -> FeePlan:
        return FeePlan(**data)


class SettlementListQuerySchema(Schema):
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    starting_after = fields.String(validate=validate.Length(min=5, max=64),
                                   metadata={"description": "The last settlement id of the previous page"})


class SettlementQuerySchema(Schema):
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000),
                           metadata={"description": "How many lines to include"})
    starting_after = fields.String(validate=validate.Length(min=5, max=64),
                                   metadata={"description": "The last line's id (pay_...) of the previous page"})


# -- responses (documentation; the objects are built in ledger/views.py) -----------------------

class FeePlanSchema(Schema):
    object = fields.String(metadata={"example": "fee_plan"})
    wallet = fields.String()
    basis_points = fields.Integer()
    fixed = fields.Integer()
    minimum = fields.Integer()
    maximum = fields.Integer(allow_none=True)
    default = fields.Boolean(metadata={"description": "True while the wallet uses Kopek's default plan"})


class FeePlanListSchema(Schema):
    object = fields.String(metadata={"example": "list"})
    data = fields.List(fields.Nested(FeePlanSchema))
    has_more = fields.Boolean()


class AmountSchema(Schema):
    currency = fields.String()
    amount = fields.Integer(metadata={"description": "Minor units"})


class BalanceSchema(Schema):
    object = fields.String(metadata={"example": "balance"})
    livemode = fields.Boolean()
    pending = fields.List(fields.Nested(AmountSchema), metadata={
        "description": "Succeeded payments' net that the wallet providers have not settled yet"})
    available = fields.List(fields.Nested(AmountSchema), metadata={
        "description": "Settled by the providers and not yet paid out"})


class WalletTotalSchema(Schema):
    wallet = fields.String()
    currency = fields.String()
    count = fields.Integer()
    amount = fields.Integer()
    fee = fields.Integer()
    net = fields.Integer()


class SettlementLineSchema(Schema):
    type = fields.String(metadata={"example": "payment"})
    id = fields.String(metadata={"example": "pay_1x2y3z"})
    order_id = fields.String(allow_none=True)
    wallet = fields.String()
    currency = fields.String()
    amount = fields.Integer()
    fee = fields.Integer()
    net = fields.Integer()
    occurred_at = fields.String()


class SettlementLinePageSchema(Schema):
    object = fields.String(metadata={"example": "list"})
    data = fields.List(fields.Nested(SettlementLineSchema))
    has_more = fields.Boolean()


class SettlementSchema(Schema):
    id = fields.String(metadata={"example": "stl_1x2y3z"})
    object = fields.String(metadata={"example": "settlement"})
    livemode = fields.Boolean()
    date = fields.String(metadata={"description": "The UTC day settled, YYYY-MM-DD"})
    period_start = fields.String()
    period_end = fields.String()
    status = fields.String(metadata={"enum": ["open", "paid"]})
    created_at = fields.String()
    paid_at = fields.String(allow_none=True)
    totals = fields.List(fields.Nested(WalletTotalSchema))
    net_payable = fields.List(fields.Nested(AmountSchema))
    lines = fields.Nested(SettlementLinePageSchema, metadata={"description": "Only in GET /v1/settlements/{id}"})


class SettlementListSchema(Schema):
    object = fields.String(metadata={"example": "list"})
    data = fields.List(fields.Nested(SettlementSchema))
    has_more = fields.Boolean()


OPERATIONS: list[Operation] = [
    Operation("get", "/v1/fee_plans", "This merchant's fee plan for every wallet", None, 200, FeePlanListSchema),
    Operation("post", "/v1/fee_plans/{wallet}", "Set the fee plan for one wallet (sandbox servers only)",
              FeePlanUpdateSchema, 200, FeePlanSchema),
    Operation("get", "/v1/balance", "Pending and available amounts per currency", None, 200, BalanceSchema),
    Operation("get", "/v1/settlements", "Settlements, newest day first", SettlementListQuerySchema, 200,
              SettlementListSchema),
    Operation("get", "/v1/settlements/{id}", "A settlement with its totals and a page of its lines",
              SettlementQuerySchema, 200, SettlementSchema),
    Operation("get", "/v1/settlements/{id}/report.csv", "A settlement's lines as a CSV report", None, 200,
              {"type": "string"}, content_type="text/csv"),
]
