import asyncio

from kopek.live.hub import LiveHub
from kopek.store.records import Event


def event(seq: int, payment_id: str = "pay_1") -> Event:
    return Event(f"evt_{seq}", payment_id, seq, "payment.created", "requires_wallet", {}, "now")


async def test_each_subscriber_gets_its_payments_events():
    hub = LiveHub(queue_max=10)
    mine, other = hub.subscribe("pay_1"), hub.subscribe("pay_2")
    hub.publish(event(1))
    assert (await asyncio.wait_for(mine.queue.get(), 1)).seq == 1
    assert other.queue.empty()


async def test_a_subscriber_that_falls_behind_is_marked_lagging_and_publish_never_blocks():
    hub = LiveHub(queue_max=2)
    slow, fast = hub.subscribe("pay_1"), hub.subscribe("pay_1")
    for seq in (1, 2):
        hub.publish(event(seq))
    await fast.queue.get(), await fast.queue.get()
    hub.publish(event(3))
    assert slow.lagging.is_set() and slow.queue.qsize() == 2
    assert not fast.lagging.is_set() and (await fast.queue.get()).seq == 3


async def test_unsubscribe_forgets_empty_payments():
    hub = LiveHub(queue_max=2)
    subscription = hub.subscribe("pay_1")
    hub.unsubscribe(subscription)
    assert hub.subscriber_count("pay_1") == 0
    hub.publish(event(1))
