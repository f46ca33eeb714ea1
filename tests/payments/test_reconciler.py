"""The reconciler: attempts cut off by a crash end cleanly, and a late success still counts."""

from __future__ import annotations

import time
from urllib.parse import urlencode

from kopek import keys
from kopek.ids import new_id
from kopek.providers.webmoney import protocol
from kopek.store.records import Attempt
from support import event_types


async def interrupted_attempt(kopek, payment) -> Attempt:
    """An attempt whose start call never got recorded, as after a kill -9."""
    long_ago = "2000-01-01T00:00:00.000000Z"
    attempt = Attempt(id=new_id("att"), payment_id=payment["id"], wallet="webmoney", idempotency_key="k" * 16,
                      status="starting", provider_ref=None, account_hint="R100…0001", code_tries=0,
                      failure_code=None, failure_message=None, created_at=long_ago, updated_at=long_ago)
    return await kopek.app[keys.STORE].insert_attempt(attempt)


def paid_notice(attempt_id: str) -> bytes:
    creds = protocol.SANDBOX_CREDENTIALS
    fields = protocol.notification_fields(
        creds, purse=creds.purse_for("RUB"), amount="5.00", payment_no=attempt_id, invoice_id="123456789",
        trans_id="1234567890", trans_date=time.strftime("%Y%m%d %H:%M:%S", time.gmtime()),
        payer_purse="R000000000001", payer_wm="100000000001", state="paid", description="late")
    return urlencode(fields).encode()


async def test_an_interrupted_attempt_returns_the_payment_to_the_shopper(kopek):
    payment = await kopek.create_payment(order_id="RC-1")
    attempt = await interrupted_attempt(kopek, payment)
    assert await kopek.app[keys.RECONCILER].run_once() >= 1
    stored = await kopek.app[keys.STORE].get_payment(payment["id"])
    assert stored.status == "requires_wallet" and stored.last_error["code"] == "interrupted"
    assert (await kopek.app[keys.STORE].get_attempt(attempt.id)).status == "failed"
    assert await event_types(kopek, payment) == ["payment.created", "payment.attempt_failed"]


async def test_a_late_success_for_an_interrupted_attempt_still_pays_the_order(kopek):
    payment = await kopek.create_payment(order_id="RC-2")
    attempt = await interrupted_attempt(kopek, payment)
    await kopek.app[keys.RECONCILER].run_once()
    response = await kopek.client.post("/v1/providers/webmoney/callback", data=paid_notice(attempt.id),
                                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status == 200
    stored = await kopek.app[keys.STORE].get_payment(payment["id"])
    assert stored.status == "succeeded" and stored.current_attempt_id == attempt.id
    assert (await event_types(kopek, payment))[-1] == "payment.succeeded"


async def test_a_fresh_starting_attempt_is_left_alone(kopek):
    payment = await kopek.create_payment(order_id="RC-3")
    attempt = await interrupted_attempt(kopek, payment)
    store = kopek.app[keys.STORE]
    async with store._transaction() as db:
        await db.execute("UPDATE attempts SET created_at=? WHERE id=?", ("2999-01-01T00:00:00.000000Z", attempt.id))
    await kopek.app[keys.RECONCILER].run_once()
    assert (await store.get_attempt(attempt.id)).status == "starting"
