"""HTML forms loaded through the API's own marshmallow schemas, so that the dashboard and the API
share one set of rules. A form only has strings, while the API's strict fields refuse them: the
`FromForm` mixin types the strings first, and the API schema still decides what is valid.

Also: a page's query string through a schema (a tampered query is a 400 page, never ignored)."""

from __future__ import annotations

import re
from typing import Any, Callable

from aiohttp import web
from marshmallow import Schema, fields, pre_load, validate
from multidict import MultiDict, MultiDictProxy

from kopek.errors import KopekError
from kopek.payments.schemas import StrictBoolean, StrictInteger
from kopek.web.dashboard.context import CSRF_FIELD, LOCALES
from kopek.web.dashboard.access import Form
from kopek.web.dashboard.forms import FormInvalid, load_or_refuse

INTEGER = re.compile(r"-?[0-9]{1,18}")
# The language links on every page add ?locale=...: allowed on any page, but only with a known value.
LocaleQuery = Schema.from_dict({"locale": fields.String(validate=validate.OneOf(LOCALES))})


class FromForm(Schema):
    """Mix in before an API schema: `class RotateForm(FromForm, RotateSecretSchema)`."""

    @pre_load
    def _from_form(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return {name: typed(self.fields.get(name), value) for name, value in self.adapt(dict(data)).items()}

    def adapt(self, data: dict[str, Any]) -> dict[str, Any]:
        """A form's own conversions (an amount in major units...), before the strings are typed."""
        return data


def typed(field: fields.Field | None, value: Any) -> Any:
    """'3600' for a strict integer, 'true'/'false' for a strict boolean; anything else is left
    for the API's field to refuse with its own message."""
    if not isinstance(value, str):
        return value
    if isinstance(field, StrictInteger) and INTEGER.fullmatch(value):
        return int(value)
    if isinstance(field, StrictBoolean) and value in ("true", "false"):
        return value == "true"
    return value


def load_query(request: web.Request, schema: Schema) -> dict[str, Any]:
    load_or_refuse(LocaleQuery(), _only(request, lambda name: name == "locale"))
    return load_or_refuse(schema, _only(request, lambda name: name != "locale"))


def _only(request: web.Request, keep: Callable[[str], bool]) -> MultiDictProxy[str]:
    return MultiDictProxy(MultiDict((k, v) for k, v in request.query.items() if keep(k)))


def form_errors(exc: FormInvalid | KopekError) -> dict[str, list[str]]:
    """Errors by field, whether the form's schema or the service refused."""
    if isinstance(exc, FormInvalid):
        return exc.errors
    return {exc.param or "_form": [exc.message]}


def typed_values(form: Form, *lists: str) -> dict[str, Any]:
    """What was typed, to show again beside the errors; `lists` are the checkbox groups."""
    values: dict[str, Any] = {k: v for k, v in form.items() if k != CSRF_FIELD and k not in lists}
    return {**values, **{name: form.getall(name, []) for name in lists}}
