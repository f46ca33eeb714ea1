"""Request and response schemas for payments. The OpenAPI document is generated from these."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from kopek.money import CURRENCY_EXPONENTS
from kopek.payments.states import STATUSES
from kopek.providers.registry import WALLETS, wallet_limits_rule
from kopek.url_shape import http_url

MAX_AMOUNT_MINOR = 10**12
MAX_METADATA_KEYS = 20
MAX_SEQ = 2**63 - 1   # SQLite's INTEGER: a larger cursor could name no event


class StrictInteger(fields.Integer):
    """An integer that refuses booleans, floats and numeric strings."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool):
            raise ValidationError("Not a valid integer.")
        return super()._deserialize(value, attr, data, **kwargs)


class StrictBoolean(fields.Boolean):
    """true or false, and nothing that merely looks like them (0, "no")."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise ValidationError("Not a valid boolean: send true or false.")
        return value


class Currency(fields.String):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {}).setdefault("enum", sorted(CURRENCY_EXPONENTS))
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        code = super()._deserialize(value, attr, data, **kwargs).upper()
        if code not in CURRENCY_EXPONENTS:
            raise ValidationError(f"Unknown currency; use one of {', '.join(sorted(CURRENCY_EXPONENTS))}.")
        return code


class PaymentCreateSchema(Schema):
    amount = StrictInteger(required=True, validate=validate.Range(min=1, max=MAX_AMOUNT_MINOR),
                           metadata={"description": "Amount in minor units (kopecks, cents). 1 is valid."})
    currency = Currency(required=True, metadata={"description": "ISO 4217 code, e.g. RUB"})
    order_id = fields.String(required=True, validate=validate.Length(min=1, max=200),
                             metadata={"description": "The shop's order id; paid at most once."})
    description = fields.String(load_default="", validate=validate.Length(max=500))
    return_url = http_url("Where the hosted page sends the shopper back; http(s), on one of your allowed "
                          "origins.", load_default=None)
    metadata = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=40)),
                           values=fields.String(validate=validate.Length(max=500)),
                           load_default=dict,
                           metadata={"maxProperties": MAX_METADATA_KEYS,
                                     "description": f"Up to {MAX_METADATA_KEYS} keys of 1 to 40 characters, each "
                                                    "with a string of up to 500; returned as sent."})
    expires_in = StrictInteger(load_default=None, validate=validate.Range(min=60, max=7 * 86400),
                               metadata={"description": "Seconds until the payment expires."})
    wallets = fields.List(fields.String(metadata={"enum": list(WALLETS)}), load_default=None,
                          validate=validate.Length(min=1, max=20),
                          metadata={"description": "Restrict the wallets offered, e.g. [\"webmoney\"]."})

    # PaymentService._check_wallets for the document: some offered wallet takes the amount (GET /v1/wallets).
    OPENAPI_RULE = wallet_limits_rule()

    @validates_schema
    def _bounded_metadata(self, data: dict[str, Any], **kwargs: Any) -> None:
        if len(data.get("metadata") or {}) > MAX_METADATA_KEYS:
            raise ValidationError(f"At most {MAX_METADATA_KEYS} keys.", "metadata")


class PaymentListQuerySchema(Schema):
    status = fields.String(validate=validate.OneOf(STATUSES))
    order_id = fields.String(validate=validate.Length(min=1, max=200))
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    starting_after = fields.String(validate=validate.Length(min=5, max=64))


class EventsQuerySchema(Schema):
    after = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_SEQ),
                           metadata={"description": "The last seq seen; events after it are returned."})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class AttemptCreateSchema(Schema):
    wallet = fields.String(required=True, validate=validate.Length(min=1, max=40))
    details = fields.Dict(keys=fields.String(validate=validate.Length(max=40)),
                          values=fields.String(validate=validate.Length(max=200)),
                          required=True, validate=validate.Length(max=10))


class ConfirmSchema(Schema):
    code = fields.String(required=True, validate=validate.Regexp(r"^[0-9]{4,8}$", error="The code is 4 to 8 digits."))


class EmptySchema(Schema):
    pass


class WalletUpdateSchema(Schema):
    enabled = StrictBoolean(required=True)


# -- responses (documentation; the objects are built in payments/views.py) -------------

class NextActionSchema(Schema):
    type = fields.String(metadata={"enum": ["enter_code", "approve_in_wallet"]})
    code_length = fields.Integer(allow_none=True)
    sent_to = fields.String(allow_none=True)
    tries_left = fields.Integer(allow_none=True)
    url = fields.String(allow_none=True)
    expires_at = fields.String()


class PaymentErrorSchema(Schema):
    code = fields.String()
    message = fields.String()


class PaymentSchema(Schema):
    id = fields.String(metadata={"example": "pay_1x2y3z"})
    object = fields.String(metadata={"example": "payment"})
    status = fields.String(metadata={"enum": list(STATUSES)})
    amount = fields.Integer()
    currency = fields.String()
    fee = fields.Integer(allow_none=True, metadata={"description": "Kopek's fee in minor units; null until succeeded"})
    net = fields.Integer(allow_none=True, metadata={"description": "amount - fee: what the shop is owed"})
    amount_refunded = fields.Integer(metadata={"description": "Reserved by pending and succeeded refunds"})
    order_id = fields.String()
    description = fields.String()
    client_secret = fields.String()
    checkout_url = fields.String(metadata={"description": "Kopek's hosted payment page; the client secret "
                                                          "rides in its #fragment, so send shoppers there as is."})
    wallet = fields.String(allow_none=True)
    next_action = fields.Nested(NextActionSchema, allow_none=True)
    last_error = fields.Nested(PaymentErrorSchema, allow_none=True)
    attempts_left = fields.Integer(metadata={"description": "Wrong codes the shopper may still enter"})
    return_url = fields.String(allow_none=True)
    expires_at = fields.String()
    created_at = fields.String()
    livemode = fields.Boolean()
    metadata = fields.Dict()


class PaymentListSchema(Schema):
    object = fields.String(metadata={"example": "list"})
    data = fields.List(fields.Nested(PaymentSchema))
    has_more = fields.Boolean()


class EventFieldsSchema(Schema):
    """What an event says in both views; the payment in it is the shop's or the shopper's."""
    id = fields.String()
    object = fields.String(metadata={"example": "event"})
    type = fields.String()
    seq = fields.Integer()
    created_at = fields.String()


class EventSchema(EventFieldsSchema):
    payment = fields.Nested(PaymentSchema)


class EventListSchema(Schema):
    object = fields.String()
    data = fields.List(fields.Nested(EventSchema))
    has_more = fields.Boolean()


class WalletFieldSchema(Schema):
    name = fields.String()
    label = fields.Dict(keys=fields.String(), values=fields.String())
    hint = fields.Dict(keys=fields.String(), values=fields.String())
    type = fields.String()
    pattern = fields.String()
    required = fields.Boolean()
    placeholder = fields.String()
    autocomplete = fields.String()


class WalletLimitSchema(Schema):
    currency = fields.String()
    min_amount = fields.Integer()
    max_amount = fields.Integer()


class WalletSchema(Schema):
    id = fields.String()
    object = fields.String()
    enabled = fields.Boolean(metadata={"description": "Whether this merchant offers it"})
    available = fields.Boolean(metadata={"description": "False while its provider keeps failing"})
    name = fields.Dict(keys=fields.String(), values=fields.String())
    confirmation = fields.String()
    code_length = fields.Integer(allow_none=True)
    fields_ = fields.List(fields.Nested(WalletFieldSchema), data_key="fields")
    limits = fields.List(fields.Nested(WalletLimitSchema))


class WalletListSchema(Schema):
    object = fields.String()
    data = fields.List(fields.Nested(WalletSchema))


class ErrorBodySchema(Schema):
    type = fields.String()
    code = fields.String()
    message = fields.String()
    param = fields.String()
    fields_ = fields.Dict(data_key="fields")
    retry_after_s = fields.Integer(metadata={"description": "With 429: seconds to wait before retrying"})
    payment = fields.String(metadata={"description": "With duplicate_order: the order's open or paid payment"})
    status = fields.String(metadata={"description": "With invalid_state: the payment's status"})
    wallet = fields.String(metadata={"description": "With wallet_unavailable: the wallet"})
    tries_left = fields.Integer(metadata={"description": "With a wrong code: how many more the attempt allows"})
    available = fields.Integer(metadata={"description": "With insufficient_available_balance, in minor units"})
    refundable = fields.Integer(metadata={"description": "With a refund above what is left, in minor units"})
    settlement = fields.String(metadata={"description": "With a settlement conflict: the settlement"})
    request_id = fields.String()


class ErrorSchema(Schema):
    error = fields.Nested(ErrorBodySchema)


# -- what the checkout frame's endpoints answer (payments/views.py checkout_view, web/checkout.py) --

class CheckoutPaymentSchema(Schema):
    """The shopper's view of a payment: no order id, metadata or client secret."""
    id = fields.String()
    status = fields.String(metadata={"enum": list(STATUSES)})
    amount = fields.Integer()
    currency = fields.String()
    description = fields.String(allow_none=True)
    expires_at = fields.String(allow_none=True)
    wallet = fields.String(allow_none=True)
    next_action = fields.Nested(NextActionSchema, allow_none=True)
    last_error = fields.Nested(PaymentErrorSchema, allow_none=True)
    attempts_left = fields.Integer(allow_none=True)
    return_url = fields.String(allow_none=True)


class CheckoutStateSchema(Schema):
    payment = fields.Nested(CheckoutPaymentSchema)
    wallets = fields.List(fields.Nested(WalletSchema), metadata={"description": "The wallets this payment offers"})
    seq = fields.Integer(metadata={"description": "The payment's last event seq"})


class CheckoutResultSchema(Schema):
    payment = fields.Nested(CheckoutPaymentSchema)


class CheckoutEventSchema(EventFieldsSchema):
    payment = fields.Nested(CheckoutPaymentSchema)


class CheckoutEventListSchema(Schema):
    data = fields.List(fields.Nested(CheckoutEventSchema))
    has_more = fields.Boolean()
    payment = fields.Nested(CheckoutPaymentSchema)
