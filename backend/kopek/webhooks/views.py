"""Webhook endpoints and deliveries as API clients see them."""

from __future__ import annotations

import json
from typing import Any

from kopek import clock
from kopek.store.webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint


def endpoint_object(endpoint: WebhookEndpoint) -> dict[str, Any]:
    overlap_until = endpoint.previous_secret_expires_at
    return {
        "id": endpoint.id,
        "object": "webhook_endpoint",
        "url": endpoint.url,
        "events": list(endpoint.events),
        "description": endpoint.description,
        "status": endpoint.status,
        "disabled_reason": endpoint.disabled_reason,
        "livemode": endpoint.livemode,
        "previous_secret_expires_at": overlap_until if overlap_until and overlap_until > clock.now_iso() else None,
        "created_at": endpoint.created_at,
        "updated_at": endpoint.updated_at,
    }


def delivery_object(delivery: WebhookDelivery, attempts: list[WebhookAttempt]) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "object": "webhook_delivery",
        "endpoint_id": delivery.endpoint_id,
        "event_id": delivery.event_id,
        "event_type": delivery.event_type,
        "payment_id": delivery.payment_id,
        "seq": delivery.seq,
        "status": delivery.status,
        "attempt_count": delivery.attempts,
        "next_attempt_at": delivery.next_attempt_at,
        "last_attempt_at": delivery.last_attempt_at,
        "created_at": delivery.created_at,
        "payload": json.loads(delivery.body),
        "attempts": [attempt_object(a) for a in attempts],
    }


def attempt_object(attempt: WebhookAttempt) -> dict[str, Any]:
    return {"started_at": attempt.started_at, "duration_ms": attempt.duration_ms,
            "http_status": attempt.http_status, "error": attempt.error,
            "response_excerpt": attempt.response_excerpt}
