"""The outbox drain is one transaction: delivery rows and the dispatched mark commit together or not at all."""

from __future__ import annotations

import pytest

from kopek.keyring import PurposeKeys
from kopek.live.hub import LiveHub
from kopek.merchants import create_merchant
from kopek.payments.schemas import PaymentCreateSchema
from kopek.payments.service import PaymentService
from kopek.providers.registry import WALLETS
from kopek.settings import Settings
from kopek.store.sqlite import SqliteStore
from kopek.store.webhooks import WebhookStore
from kopek.webhooks import events
from kopek.webhooks.endpoints import WebhookEndpoints


@pytest.fixture
async def store(tmp_path):
    opened = SqliteStore(tmp_path / "kopek.db")
    await opened.open()
    yield opened
    await opened.close()


async def test_a_failure_midway_through_a_drain_leaves_the_outbox_untouched(store, tmp_path):
    settings = Settings(db_path=tmp_path / "kopek.db")
    merchant = (await create_merchant(store, "Shop", [])).merchant.id
    webhooks = WebhookStore(store)
    await WebhookEndpoints(webhooks, settings, PurposeKeys.single(b"k" * 32, "webhook_secret")).create(
        merchant_id=merchant, livemode=False,
        data={"url": "http://127.0.0.1:9/h", "events": ["payment.created"], "description": ""})
    payments = PaymentService(store=store, hub=LiveHub(10), settings=settings, wallets=WALLETS, client_keys=PurposeKeys.single(b"k" * 32))
    for n in range(2):
        data = PaymentCreateSchema().load({"amount": 100, "currency": "RUB", "order_id": f"TX-{n}"})
        await payments.create(merchant_id=merchant, livemode=False, data=data)

    routed = []

    def crash_on_second(event, endpoints):   # as if the process died in the middle of the drain
        if routed:
            raise RuntimeError("killed midway")
        routed.append(event)
        return events.route(event, endpoints)

    with pytest.raises(RuntimeError):
        await webhooks.dispatch_outbox(10, crash_on_second)
    assert await webhooks.has_undispatched()
    assert (await store._fetchall("SELECT COUNT(*) FROM webhook_deliveries"))[0][0] == 0

    assert await webhooks.dispatch_outbox(10, events.route) == 2
    assert not await webhooks.has_undispatched()
    assert await webhooks.dispatch_outbox(10, events.route) == 0    # drained once: no duplicates
    counts = await store._fetchall("SELECT COUNT(*), COUNT(DISTINCT event_id) FROM webhook_deliveries")
    assert tuple(counts[0]) == (2, 2)
