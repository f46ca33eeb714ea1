"""Event fan-out to live subscribers, each with a bounded queue.

Two kinds of topic: one payment (the checkout frame's socket), and one merchant in one mode
(the dashboard's payment list). Publishing never waits: a subscriber whose queue is full is
marked as lagging, and its socket handler drops it; the client reconnects and catches up from
the store (the frame with its last seq, the dashboard by reloading the list).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from kopek.store.records import Event


def merchant_topic(merchant_id: str, livemode: bool) -> str:
    return f"merchant:{merchant_id}:{'live' if livemode else 'test'}"


@dataclass(eq=False)
class Subscription:
    topic: str          # a payment id, or merchant_topic(...)
    queue: asyncio.Queue[Event]
    lagging: asyncio.Event = field(default_factory=asyncio.Event)


class LiveHub:
    def __init__(self, queue_max: int) -> None:
        self._queue_max = queue_max
        self._subscriptions: dict[str, set[Subscription]] = {}

    def subscribe(self, payment_id: str) -> Subscription:
        return self._subscribe(payment_id)

    def subscribe_merchant(self, merchant_id: str, livemode: bool) -> Subscription:
        """Every event of this merchant's payments in this mode."""
        return self._subscribe(merchant_topic(merchant_id, livemode))

    def _subscribe(self, topic: str) -> Subscription:
        subscription = Subscription(topic, asyncio.Queue(self._queue_max))
        self._subscriptions.setdefault(topic, set()).add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        subscribers = self._subscriptions.get(subscription.topic)
        if subscribers is not None:
            subscribers.discard(subscription)
            if not subscribers:
                del self._subscriptions[subscription.topic]

    def publish(self, event: Event, *, merchant_id: str | None = None, livemode: bool | None = None) -> None:
        """To the payment's subscribers and, when the merchant is named, to the merchant's."""
        self._deliver(event.payment_id, event)
        if merchant_id is not None and livemode is not None:
            self._deliver(merchant_topic(merchant_id, livemode), event)

    def _deliver(self, topic: str, event: Event) -> None:
        for subscription in self._subscriptions.get(topic, ()):
            try:
                subscription.queue.put_nowait(event)
            except asyncio.QueueFull:
                subscription.lagging.set()

    def subscriber_count(self, topic: str) -> int:
        """Subscribers of a payment id (or of a merchant_topic)."""
        return len(self._subscriptions.get(topic, ()))
