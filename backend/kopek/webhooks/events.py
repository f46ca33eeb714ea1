"""Which events go to which endpoint, and the exact body each delivery sends."""

from __future__ import annotations

import json
from typing import Any

from kopek import clock
from kopek.ids import new_id
from kopek.payments.feed import EVENT_TYPES as OUTBOX_EVENT_TYPES
from kopek.store.webhooks import OutboxEvent, WebhookDelivery, WebhookEndpoint

# What an endpoint receives when it names no events.
DEFAULT_EVENTS = ("payment.requires_confirmation", "payment.processing", "payment.succeeded",
                  "payment.failed", "payment.canceled", "payment.expired")
# The rest of what the outbox carries goes only to endpoints that ask for it by name.
OPT_IN_EVENTS = tuple(t for t in OUTBOX_EVENT_TYPES if t not in DEFAULT_EVENTS)
EVENT_TYPES = DEFAULT_EVENTS + OPT_IN_EVENTS
TEST_EVENT = "webhook.test"


def body(event_id: str, event_type: str, created_at: str, data: dict[str, Any]) -> str:
    """Serialized once and stored, so every attempt signs and sends the same bytes."""
    return json.dumps({"id": event_id, "type": event_type, "created_at": created_at, "data": data},
                      separators=(",", ":"), ensure_ascii=False)


def route(event: OutboxEvent, endpoints: list[WebhookEndpoint]) -> list[WebhookDelivery]:
    """One delivery per endpoint subscribed to the event's type (the store's dispatch callback)."""
    now = clock.now_iso()
    text = body(event.event_id, event.type, event.created_at, {"object": event.payload, "seq": event.seq})
    return [_delivery(endpoint.id, event.event_id, event.type, text, now, event.payment_id, event.seq)
            for endpoint in endpoints if event.type in endpoint.events]


def webhook_test_delivery(endpoint: WebhookEndpoint) -> WebhookDelivery:
    """A `webhook.test` event for one endpoint, whatever it subscribes to."""
    now = clock.now_iso()
    event_id = new_id("evt")
    data = {"object": {"id": endpoint.id, "object": "webhook_endpoint", "url": endpoint.url,
                       "livemode": endpoint.livemode}}
    return _delivery(endpoint.id, event_id, TEST_EVENT, body(event_id, TEST_EVENT, now, data), now)


def _delivery(endpoint_id: str, event_id: str, event_type: str, text: str, now: str,
              payment_id: str | None = None, seq: int | None = None) -> WebhookDelivery:
    return WebhookDelivery(id=new_id("whd"), endpoint_id=endpoint_id, event_id=event_id, event_type=event_type,
                           payment_id=payment_id, seq=seq, body=text, status="pending", attempts=0,
                           next_attempt_at=now, last_attempt_at=None, created_at=now, updated_at=now)
