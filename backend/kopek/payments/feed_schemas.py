"""The events feed's query and response schemas (the OpenAPI document is generated from these)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from kopek.payments.feed import EVENT_TYPES, KNOWN_TYPE_PATTERNS, CursorInvalid, decode_cursor, is_known_type
from kopek.payments.schemas import PaymentSchema

MAX_TYPE_FILTERS = 20


class Cursor(fields.String):
    """An opaque `next_cursor` from an earlier page; loads as the position it names."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int:  # type: ignore[override]
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return decode_cursor(text)
        except CursorInvalid as exc:
            raise ValidationError("Not a cursor from this API: pass a next_cursor you received, "
                                  "or leave it out to start from the oldest event.") from exc


class EventTypePattern(fields.String):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(metadata={"enum": list(KNOWN_TYPE_PATTERNS)}, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        pattern = super()._deserialize(value, attr, data, **kwargs)
        if not is_known_type(pattern):
            raise ValidationError(f"Unknown event type {pattern[:100]!r}; use one of "
                                  f"{', '.join(EVENT_TYPES)}, or a prefix such as payment.*.")
        return pattern


class EventFeedQuerySchema(Schema):
    after = Cursor(load_default=None, metadata={"description": "The next_cursor of the previous page; "
                                                            "leave it out to start from the oldest event."})
    type = fields.List(EventTypePattern(), load_default=list, validate=validate.Length(max=MAX_TYPE_FILTERS),
                       metadata={"description": "Only these types; repeat it for several. A prefix such "
                                                "as payment.* matches every type that starts so."})
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class EventFeedDataSchema(Schema):
    object = fields.Nested(PaymentSchema, metadata={"description": "The payment right after the event"})


class EventFeedItemSchema(Schema):
    id = fields.String(metadata={"example": "evt_1x2y3z"})
    object = fields.String(metadata={"example": "event"})
    type = fields.String(metadata={"enum": list(EVENT_TYPES)})
    created_at = fields.String()
    seq = fields.Integer(allow_none=True,
                         metadata={"description": "The event's place in its payment's stream (1, 2, ...)"})
    data = fields.Nested(EventFeedDataSchema)


class EventFeedPageSchema(Schema):
    object = fields.String(metadata={"example": "list"})
    data = fields.List(fields.Nested(EventFeedItemSchema))
    has_more = fields.Boolean(metadata={"description": "More events wait past next_cursor: ask again now"})
    next_cursor = fields.String(metadata={"description": "Pass as `after` in the next request"})
