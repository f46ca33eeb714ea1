"""Per-payment event fan-out to live subscribers, each with a bounded queue.

Publishing never waits: a subscriber whose queue is full is marked as lagging, and its
socket handler drops it; the client reconnects with its last seq and catches up from the store.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from kopek.store.records import Event


@dataclass(eq=False)
class Subscription:
    payment_id: str
    queue: asyncio.Queue[Event]
    lagging: asyncio.Event = field(default_factory=asyncio.Event)


class LiveHub:
    def __init__(self, queue_max: int) -> None:
        self._queue_max = queue_max
        self._subscriptions: dict[str, set[Subscription]] = {}

    def subscribe(self, payment_id: str) -> Subscription:
        subscription = Subscription(payment_id, asyncio.Queue(self._queue_max))
        self._subscriptions.setdefault(payment_id, set()).add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        subscribers = self._subscriptions.get(subscription.payment_id)
        if subscribers is not None:
            subscribers.discard(subscription)
            if not subscribers:
                del self._subscriptions[subscription.payment_id]

    def publish(self, event: Event) -> None:
        for subscription in self._subscriptions.get(event.payment_id, ()):
            try:
                subscription.queue.put_nowait(event)
            except asyncio.QueueFull:
                subscription.lagging.set()

    def subscriber_count(self, payment_id: str) -> int:
        return len(self._subscriptions.get(payment_id, ()))
