"""Reading HTML forms through marshmallow schemas. A form that does not load is a FormInvalid
with a message per field, which the page shows beside the field it concerns."""

from __future__ import annotations

from typing import Any, Mapping

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate
from multidict import MultiDictProxy

from kopek.web.dashboard.context import CSRF_FIELD


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
