"""What the console accepts: its query string and its forms, one schema each. Anything else,
a malformed value or an unknown or repeated parameter, is a 400 page that says why."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from kopek.money import CURRENCY_EXPONENTS
from kopek.providers.registry import PLUGINS
from kopek.web.dashboard.context import LOCALES
from kopek.web.dashboard.forms import MajorAmount
from kopek.web.sandbox_console.scenarios import DEFAULT_SCENARIO, DEFAULT_WALLET, ROWS_BY_SCENARIO

CURRENCY = "RUB"
DEFAULT_AMOUNT_MINOR = 500               # 5.00 RUB
# More than any wallet accepts is refused by the form (and the page), before any payment is made.
MAX_AMOUNT_MINOR = max(limits.max_amount for plugin in PLUGINS.values() for limits in plugin.info.limits
                       if limits.currency == CURRENCY)


class StartPaymentForm(Schema):
    """The "Start a test payment" form: the amount, and the magic wallet and outcome to show."""

    amount = MajorAmount(CURRENCY_EXPONENTS[CURRENCY], minimum=1, load_default=DEFAULT_AMOUNT_MINOR,
                         validate=validate.Range(max=MAX_AMOUNT_MINOR, error="more than any wallet accepts"))
    wallet = fields.String(load_default=DEFAULT_WALLET, validate=validate.OneOf(list(PLUGINS)))
    scenario = fields.String(load_default=DEFAULT_SCENARIO, validate=validate.OneOf(list(ROWS_BY_SCENARIO)))


class ConsoleQuery(StartPaymentForm):
    """The console page: the form's values, and the started payment to show, if any."""

    locale = fields.String(validate=validate.OneOf(LOCALES))
    payment = fields.String(validate=validate.Regexp(r"^pay_[A-Za-z0-9]{1,64}$", error="a payment id, pay_…"))


DEFAULT_QUERY: dict[str, Any] = {"amount": DEFAULT_AMOUNT_MINOR, "wallet": DEFAULT_WALLET,
                                 "scenario": DEFAULT_SCENARIO}


class NoParameters(Schema):
    """A JSON endpoint or a one-button form: nothing may come with it (but the CSRF token)."""


SHARE = validate.Range(0, 1, error="a share from 0 to 1, e.g. 0.1")


class FaultsForm(Schema):
    """The knobs as KOPEK_SANDBOX_FAULTS spells them; FaultSettings.parse makes the final check."""

    action = fields.String(load_default="set", validate=validate.OneOf(["set", "clear"]))
    latency_ms = fields.String(validate=validate.Regexp(r"^\d{1,5}(-\d{1,5})?$",
                                                        error="milliseconds as LOW-HIGH, e.g. 5-50, or one number"))
    error_rate = fields.Float(validate=SHARE)
    duplicate_callbacks = fields.Float(validate=SHARE)
    out_of_order_callbacks = fields.Float(validate=SHARE)
    bad_signatures = fields.Float(validate=SHARE)
