"""Payment buttons: a fixed-price product that a static page sells with plain HTML, no script.

The snippet is a form that POSTs the merchant's publishable key to /v1/buttons/{id}/checkout;
each press creates a fresh payment and sends the shopper to its hosted page (/pay/{id}).
"""

from __future__ import annotations

from datetime import timedelta
from html import escape
from typing import Any, Mapping
from urllib.parse import urlencode

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from kopek import clock
from kopek.errors import InvalidRequest, NotFound
from kopek.ids import new_id, random_token
from kopek.money import Money
from kopek.payments.return_url import check_return_url
from kopek.payments.schemas import MAX_AMOUNT_MINOR, Currency, StrictBoolean, StrictInteger
from kopek.providers.contract import WalletInfo
from kopek.providers.registry import WALLETS, wallet_limits_rule
from kopek.store.buttons import Button, ButtonStore
from kopek.store.sqlite import SqliteStore
from kopek.openapi_operation import Operation
from kopek.url_shape import http_url

MAX_LIFETIME_S = 5 * 365 * 86400
MAX_PAGE_SIZE = 100


class ButtonCreateSchema(Schema):
    amount = StrictInteger(required=True, validate=validate.Range(min=1, max=MAX_AMOUNT_MINOR),
                           metadata={"description": "Price in minor units (kopecks, cents)."})
    currency = Currency(required=True, metadata={"description": "ISO 4217 code, e.g. RUB"})
    description = fields.String(required=True, validate=validate.Length(min=1, max=500),
                                metadata={"description": "What the shopper buys; shown on the payment page."})
    return_url = http_url("Where the shopper goes when the payment is over, with kopek_payment_id and "
                          "kopek_status added; on one of your allowed origins.", load_default=None)
    expires_at = fields.AwareDateTime(load_default=None, format="iso",
                                      metadata={"description": "ISO 8601 with a time zone; after it the button "
                                                               "answers 410."})
    expires_in = StrictInteger(load_default=None, validate=validate.Range(min=60, max=MAX_LIFETIME_S),
                               metadata={"description": "Seconds until the button expires (instead of expires_at)."})
    wallets = fields.List(fields.String(validate=validate.Length(min=1, max=40), metadata={"enum": list(WALLETS)}),
                          load_default=None,
                          validate=validate.Length(min=1, max=20),
                          metadata={"description": "Restrict the wallets offered, e.g. [\"webmoney\"]."})

    # For the document: _one_expiry (not both expires_at and expires_in), and ButtonService._check_wallets.
    OPENAPI_RULE = {"not": {"required": ["expires_at", "expires_in"], "properties": {
        "expires_at": {"type": "string"}, "expires_in": {"type": "integer"}}}, **wallet_limits_rule()}

    @validates_schema
    def _one_expiry(self, data: dict[str, Any], **kwargs: Any) -> None:
        expires_at = data.get("expires_at")
        if expires_at is not None and data.get("expires_in") is not None:
            raise ValidationError("Send expires_at or expires_in, not both.", "expires_at")
        if expires_at is not None and not clock.now() < expires_at <= clock.now() + timedelta(seconds=MAX_LIFETIME_S):
            raise ValidationError("Must be in the future, and at most 5 years ahead.", "expires_at")


class ButtonUpdateSchema(Schema):
    active = StrictBoolean(required=True, metadata={"description": "false retires the button (410 to shoppers)."})


class ButtonListQuerySchema(Schema):
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=MAX_PAGE_SIZE))
    starting_after = fields.String(validate=validate.Length(min=5, max=64))


class ButtonSchema(Schema):
    id = fields.String(metadata={"example": "btn_1x2y3z"})
    object = fields.String(metadata={"example": "button"})
    amount = fields.Integer()
    currency = fields.String()
    description = fields.String()
    return_url = fields.String(allow_none=True)
    wallets = fields.List(fields.String(), allow_none=True)
    url = fields.String(allow_none=True, metadata={"description": "A link to a one-button page (for emails)."})
    snippet = fields.String(allow_none=True, metadata={"description": "HTML to paste into a static page."})
    active = fields.Boolean()
    expires_at = fields.String(allow_none=True)
    created_at = fields.String()
    livemode = fields.Boolean()


class ButtonListSchema(Schema):
    object = fields.String(metadata={"example": "list"})
    data = fields.List(fields.Nested(ButtonSchema))
    has_more = fields.Boolean()


class ButtonCheckoutFormSchema(Schema):
    pk = fields.String(required=True, metadata={"description": "The button's publishable key, pk_test_... or pk_live_..."})


# For web/openapi.py. The shopper's POST /v1/buttons/{id}/checkout is public (the form carries the
# publishable key); it answers 303 to the hosted page, and its errors are HTML pages. /b/{id} is not /v1.
OPERATIONS: list[Operation] = [
    Operation("post", "/v1/buttons", "Create a payment button: a snippet for a static page", ButtonCreateSchema, 201,
              ButtonSchema),
    Operation("get", "/v1/buttons", "List payment buttons, newest first", ButtonListQuerySchema, 200, ButtonListSchema),
    Operation("get", "/v1/buttons/{id}", "Retrieve a payment button", None, 200, ButtonSchema),
    Operation("post", "/v1/buttons/{id}", "Retire (active: false) or reactivate a payment button", ButtonUpdateSchema, 200,
              ButtonSchema),
    Operation("post", "/v1/buttons/{id}/checkout", "The snippet's form: a fresh payment, then 303 to its hosted "
              "page", ButtonCheckoutFormSchema, 303, None, security=None, content_type="text/html", error_content_type="text/html",
              request_content_type="application/x-www-form-urlencoded", errors=(400, 403, 404, 410, 429)),
]


class ButtonService:
    def __init__(self, store: SqliteStore, wallets: Mapping[str, WalletInfo], public_base_url: str) -> None:
        self.store = store
        self.buttons = ButtonStore(store)
        self.wallets = wallets
        self.public_base_url = public_base_url

    async def create(self, merchant_id: str, livemode: bool, data: dict[str, Any]) -> Button:
        allowed = self._check_wallets(data["wallets"], data["amount"], data["currency"])
        await check_return_url(self.store, merchant_id, data["return_url"])
        now = clock.now_iso()
        if data["expires_in"] is not None:
            expires_at: str | None = clock.iso_in(data["expires_in"])
        else:
            expires_at = clock.to_iso(data["expires_at"]) if data["expires_at"] else None
        return await self.buttons.insert(Button(
            id=new_id("btn"), merchant_id=merchant_id, livemode=livemode, amount=data["amount"],
            currency=data["currency"], description=data["description"], return_url=data["return_url"],
            allowed_wallets=allowed, active=True, expires_at=expires_at, created_at=now, updated_at=now))

    def _check_wallets(self, requested: list[str] | None, amount: int, currency: str) -> tuple[str, ...] | None:
        for wallet_id in requested or ():
            if wallet_id not in self.wallets:
                raise InvalidRequest(f"unknown wallet {wallet_id!r}; see GET /v1/wallets",
                                     param="wallets", code="wallet_unknown")
        names = requested or list(self.wallets)
        if not any(self.wallets[name].accepts(amount, currency) for name in names):
            raise InvalidRequest(f"no wallet accepts {amount} {currency} minor units; see the limits in "
                                 "GET /v1/wallets", param="amount", code="amount_outside_wallet_limits")
        return tuple(dict.fromkeys(requested)) if requested else None

    async def get_for_merchant(self, merchant_id: str, livemode: bool, button_id: str) -> Button:
        button = await self.buttons.get(button_id)
        if button is None or button.merchant_id != merchant_id or button.livemode != livemode:
            raise NotFound(f"no such button: {button_id}", param="id")
        return button

    async def list(self, merchant_id: str, livemode: bool, query: dict[str, Any]) -> tuple[list[Button], bool]:
        cursor = None
        if query.get("starting_after"):
            cursor = await self.get_for_merchant(merchant_id, livemode, query["starting_after"])
        rows = await self.buttons.list(merchant_id=merchant_id, livemode=livemode, limit=query["limit"] + 1,
                                       starting_after=cursor)
        return rows[:query["limit"]], len(rows) > query["limit"]

    async def set_active(self, button: Button, active: bool) -> Button:
        updated = await self.buttons.set_active(button.id, active)
        assert updated is not None
        return updated

    async def publishable_key(self, merchant_id: str, livemode: bool) -> str | None:
        """The merchant's newest publishable key of this mode; the snippet carries it."""
        found = sorted((k for k in await self.store.publishable_keys(merchant_id) if k.livemode == livemode),
                       key=lambda k: k.created_at)
        return found[-1].lookup if found else None

    async def to_json(self, button: Button) -> dict[str, Any]:
        return button_object(button, self.public_base_url,
                             await self.publishable_key(button.merchant_id, button.livemode))


def button_label(button: Button) -> str:
    return f"Pay {Money(button.currency, button.amount)}"


def checkout_action(public_base_url: str, button_id: str) -> str:
    return f"{public_base_url}/v1/buttons/{button_id}/checkout"


def snippet(button: Button, public_base_url: str, publishable_key: str) -> str:
    """Copy-paste HTML for a static page: a form, no script."""
    return (f'<form action="{escape(checkout_action(public_base_url, button.id))}" method="post">'
            f'<input type="hidden" name="pk" value="{escape(publishable_key)}">'
            f'<button type="submit">{escape(button_label(button))}</button></form>')


def button_object(button: Button, public_base_url: str, publishable_key: str | None) -> dict[str, Any]:
    return {
        "id": button.id,
        "object": "button",
        "amount": button.amount,
        "currency": button.currency,
        "description": button.description,
        "return_url": button.return_url,
        "wallets": list(button.allowed_wallets) if button.allowed_wallets else None,
        "url": f"{public_base_url}/b/{button.id}?{urlencode({'pk': publishable_key})}" if publishable_key else None,
        "snippet": snippet(button, public_base_url, publishable_key) if publishable_key else None,
        "active": button.active,
        "expires_at": button.expires_at,
        "created_at": button.created_at,
        "livemode": button.livemode,
    }


def payment_request(button: Button) -> dict[str, Any]:
    """What PaymentService.create needs for one press: a fresh order id every time."""
    return {"amount": button.amount, "currency": button.currency, "order_id": f"{button.id}-{random_token(12)}",
            "description": button.description, "return_url": button.return_url, "metadata": {"button": button.id},
            "expires_in": None, "wallets": list(button.allowed_wallets) if button.allowed_wallets else None}
