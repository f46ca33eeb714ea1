"""Reading HTML forms through marshmallow schemas. A form that does not load is a FormInvalid
with a message per field, which the page shows beside the field it concerns."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any, Mapping

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate
from multidict import MultiDictProxy

from kopek.payments.schemas import MAX_AMOUNT_MINOR
from kopek.web.dashboard.context import CSRF_FIELD
from kopek.web.dashboard.messages_ru import errors_in_russian

_MAJOR = re.compile(r"^[0-9]{1,13}(?:[.,][0-9]{1,13})?$")
_SPACES = re.compile(r"[ \u00a0\u202f]")


class FormInvalid(Exception):
    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("the form has errors")
        self.errors = errors


def load_form(schema: Schema, form: MultiDictProxy[Any] | Mapping[str, Any]) -> dict[str, Any]:
    """Empty fields count as absent; a field sent twice or a field the form does not have is refused."""
    data: dict[str, Any] = {}
    for name in set(form.keys()) - {CSRF_FIELD}:
        values = form.getall(name) if isinstance(form, MultiDictProxy) else [form[name]]
        if len(values) > 1 and not isinstance(schema.fields.get(name), fields.List):
            raise FormInvalid({name: ["sent more than once"]})
        text = [v for v in values if isinstance(v, str) and v.strip() != ""]
        if text:
            data[name] = text if isinstance(schema.fields.get(name), fields.List) else text[0].strip()
    try:
        return schema.load(data)
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        raise FormInvalid({k: [str(m) for m in (v if isinstance(v, list) else [v])]
                           for k, v in messages.items()}) from exc


def load_or_refuse(schema: Schema, form: MultiDictProxy[Any] | Mapping[str, Any]) -> dict[str, Any]:
    """For forms and query strings that have no page to show their errors on: a 400 page names
    each problem, and nothing changes."""
    try:
        return load_form(schema, form)
    except FormInvalid as exc:
        raise refusal(exc) from exc


def refusal(exc: FormInvalid) -> Exception:
    """The 400 page for a form or query string that did not load, naming each problem."""
    from kopek.web.dashboard.access import DashboardError  # access imports this module

    detail = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in sorted(exc.errors.items()))
    detail_ru = "; ".join(f"{name}: {' '.join(messages)}"
                          for name, messages in sorted(errors_in_russian(exc.errors).items()))
    return DashboardError(400, f"Nothing was changed: the request is not valid ({detail}).",
                          f"Ничего не изменилось: запрос неверен ({detail_ru}).")


def major_to_minor(text: str, exponent: int, *, minimum: int) -> int:
    """'5', '5.00', '5,00' or '1 000' -> minor units (500 with exponent 2). Refuses more decimals
    than the currency has, signs, exponents, NaN and amounts beyond what a payment can be."""
    text = _SPACES.sub("", text)
    if not _MAJOR.match(text):
        raise ValidationError("Type an amount such as 5 or 5.00.")
    try:
        amount = Decimal(text.replace(",", "."))
    except InvalidOperation as exc:
        raise ValidationError("Type an amount such as 5 or 5.00.") from exc
    if -int(amount.as_tuple().exponent) > exponent:
        raise ValidationError(f"At most {exponent} digits after the decimal point.")
    minor = int(amount.scaleb(exponent))
    if minor < minimum:
        raise ValidationError("Must be more than 0." if minimum else "Must not be negative.")
    if minor > MAX_AMOUNT_MINOR:
        raise ValidationError("Too large.")
    return minor


class MajorAmount(fields.String):
    """An amount typed by a person, loaded as minor units."""

    def __init__(self, exponent: int, *, minimum: int = 0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.exponent, self.minimum = exponent, minimum

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int:
        return major_to_minor(super()._deserialize(value, attr, data, **kwargs), self.exponent, minimum=self.minimum)


class Email(fields.Email):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        return str(super()._deserialize(value, attr, data, **kwargs)).strip().lower()


class LoginForm(Schema):
    email = Email(required=True, validate=validate.Length(max=254))
    password = fields.String(required=True, validate=validate.Length(max=256))
    next = fields.String(load_default="")


class SignupForm(Schema):
    email = Email(required=True, validate=validate.Length(max=254))
    password = fields.String(required=True, validate=validate.Length(min=10, max=256))
    shop_name = fields.String(validate=validate.Length(min=1, max=200))
    invite_code = fields.String(validate=validate.Length(min=8, max=100))


class InviteForm(Schema):
    email = Email(required=True, validate=validate.Length(max=254))
    role = fields.String(required=True, validate=validate.OneOf(["owner", "viewer"]))


class ModeForm(Schema):
    mode = fields.String(required=True, validate=validate.OneOf(["test", "live"]))
    next = fields.String(load_default="")


class EmptyForm(Schema):
    class Meta:
        unknown = EXCLUDE
