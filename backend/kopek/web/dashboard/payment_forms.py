"""What the payment pages accept: the list's query string (also the CSV's) and the refund form,
each a marshmallow schema; amounts typed in major units ("5", "5.00", "0,01") become minor units.
Also the labels the pages (and the live list) show for statuses and wallets.

Anything the schemas do not know is refused, never ignored: a tampered query string is a 400.
"""

from __future__ import annotations

import functools
import re
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Iterable, Mapping

from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

from kopek import clock
from kopek.money import CURRENCY_EXPONENTS
from kopek.payments.states import STATUSES
from kopek.providers.contract import WalletInfo
from kopek.store.payment_history import NEWER, OLDER, PaymentFilter
from kopek.web.dashboard.context import LOCALES
from kopek.web.dashboard.forms import MajorAmount

# The list's amount filter compares minor units across currencies (the page says so beside the
# fields), so it reads major units with the finest exponent Kopek knows: 2 (kopecks, cents).
FILTER_EXPONENT = max(CURRENCY_EXPONENTS.values())
PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX = 25, 100
PAYMENT_ID = validate.Regexp(r"^pay_[A-Za-z0-9]{1,60}$", error="Not a payment id (pay_...).")
REFUND_KEY = validate.Regexp(r"^[A-Za-z0-9_-]{20,64}$", error="Not a refund key from the confirmation page.")
_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")

STATUS_LABELS: dict[str, tuple[str, str]] = {
    "requires_wallet": ("Waiting for a wallet", "Ожидает кошелёк"),
    "requires_confirmation": ("Waiting for confirmation", "Ожидает подтверждения"),
    "processing": ("Processing", "Обрабатывается"),
    "succeeded": ("Succeeded", "Успешно"),
    "failed": ("Failed", "Не удался"),
    "canceled": ("Canceled", "Отменён"),
    "expired": ("Expired", "Истёк"),
}
assert set(STATUS_LABELS) == set(STATUSES), "every status needs a label"


def status_label(status: str, locale: str) -> str:
    en, ru = STATUS_LABELS.get(status, (status, status))
    return ru if locale == "ru" else en


def wallet_label(wallets: Mapping[str, WalletInfo], wallet_id: str | None, locale: str) -> str:
    info = wallets.get(wallet_id or "")
    if info is None:
        return wallet_id or "—"
    return info.name_ru if locale == "ru" else info.name_en


class Day(fields.Date):
    """A date as YYYY-MM-DD, nothing looser."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> date:
        if not isinstance(value, str) or not _DAY.match(value):
            raise ValidationError("Use the form YYYY-MM-DD.")
        return super()._deserialize(value, attr, data, **kwargs)


class PaymentFilters(Schema):
    """The list's filters: the query string of the CSV export, and part of the list page's."""

    status = fields.String(validate=validate.OneOf(STATUSES))
    wallet = fields.String()
    created_from = Day()
    created_to = Day()
    amount_min = MajorAmount(FILTER_EXPONENT)
    amount_max = MajorAmount(FILTER_EXPONENT)
    q = fields.String(validate=validate.Length(min=1, max=200))
    locale = fields.String(validate=validate.OneOf(LOCALES))   # the language links keep the page

    def __init__(self, wallets: Iterable[str]) -> None:
        super().__init__()
        self.wallets = tuple(wallets)

    @validates("wallet")
    def _known_wallet(self, value: str, **kwargs: Any) -> None:
        if value not in self.wallets:
            raise ValidationError(f"Must be one of: {', '.join(self.wallets)}.")

    @validates_schema
    def _ranges_in_order(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "created_from" in data and "created_to" in data and data["created_from"] > data["created_to"]:
            raise ValidationError("Must not be before created_from.", "created_to")
        if "amount_min" in data and "amount_max" in data and data["amount_min"] > data["amount_max"]:
            raise ValidationError("Must not be below amount_min.", "amount_max")


class PaymentPageQuery(PaymentFilters):
    """The list page: the filters, a page size and a cursor (a payment of the page before)."""

    limit = fields.Integer(load_default=PAGE_SIZE_DEFAULT, validate=validate.Range(min=1, max=PAGE_SIZE_MAX))
    starting_after = fields.String(validate=PAYMENT_ID)
    ending_before = fields.String(validate=PAYMENT_ID)

    @validates_schema
    def _one_cursor(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "starting_after" in data and "ending_before" in data:
            raise ValidationError("Give starting_after or ending_before, not both.", "ending_before")


class RefundForm(Schema):
    """Without `confirm` the form asks for the confirmation page; with confirm=yes and the
    confirmation page's refund_key it refunds. The amount's field depends on the currency."""

    reason = fields.String(validate=validate.Length(max=500))
    refund_key = fields.String(validate=REFUND_KEY)
    confirm = fields.String(validate=validate.Equal("yes"))

    @validates_schema
    def _confirmed_with_key(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "confirm" in data and "refund_key" not in data:
            raise ValidationError("The confirmation is incomplete, so nothing was refunded. "
                                  "Start again from this page.")


@functools.cache
def refund_form(exponent: int) -> type[Schema]:
    """The refund form for a currency with this exponent of its minor unit."""
    return RefundForm.from_dict({"amount": MajorAmount(exponent, minimum=1, required=True)},
                                name=f"RefundForm{exponent}")


def payment_filter(data: dict[str, Any]) -> PaymentFilter:
    return PaymentFilter(
        status=data.get("status"), wallet=data.get("wallet"),
        created_from=_start_of(data["created_from"]) if "created_from" in data else None,
        created_before=_start_of(data["created_to"] + timedelta(days=1)) if "created_to" in data else None,
        amount_min=data.get("amount_min"), amount_max=data.get("amount_max"), search=data.get("q"))


def cursor_of(data: dict[str, Any]) -> tuple[str | None, str]:
    """(the cursor payment id or None, the direction to read in)."""
    if "ending_before" in data:
        return data["ending_before"], NEWER
    return data.get("starting_after"), OLDER


def _start_of(day: date) -> str:
    return clock.to_iso(datetime.combine(day, time(), tzinfo=timezone.utc))
