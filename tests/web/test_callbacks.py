"""Provider callbacks: only a verified, matching, first notification changes anything."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlencode

import pytest

from kopek import keys
from kopek.providers.webmoney import protocol
from support import SLOW, attempt, confirm, event_types, make_settings

CALLBACK = "/v1/providers/webmoney/callback"


@pytest.fixture
def kopek_settings(tmp_path, unused_tcp_port):
    # Real time: the slow wallet's own notification is two minutes away, so the test sends its own.
    return make_settings(tmp_path, unused_tcp_port, sandbox_time_scale=1.0)


@pytest.fixture
async def processing(kopek):
    payment = await kopek.create_payment(order_id="CB-1", amount=500)
    await attempt(kopek, payment, SLOW)
    await confirm(kopek, payment, await kopek.phone_code(payment["id"]))
    stored = await kopek.app[keys.STORE].get_payment(payment["id"])
    assert stored.status == "processing"
    return payment, await kopek.app[keys.STORE].get_attempt(stored.current_attempt_id)


def notification(attempt, *, amount="5.00", state="paid", payment_no=None, secret=None):
    purse, invoice_id = protocol.split_provider_ref(attempt.provider_ref)
    creds = protocol.SANDBOX_CREDENTIALS
    if secret:
        creds = protocol.MerchantCredentials(**{**creds.__dict__, "notify_secret": secret})
    fields = protocol.notification_fields(
        creds, purse=purse, amount=amount, payment_no=payment_no or attempt.id, invoice_id=invoice_id,
        trans_id="1234567890", trans_date=time.strftime("%Y%m%d %H:%M:%S", time.gmtime()),
        payer_purse="R000000000004", payer_wm="100000000004", state=state, description="test")
    return urlencode(fields).encode()


async def post(kopek, body):
    return await kopek.client.post(CALLBACK, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"})


async def status_of(kopek, payment):
    return (await kopek.app[keys.STORE].get_payment(payment["id"])).status


async def test_a_verified_notification_completes_the_payment_once(kopek, processing):
    payment, attempt_row = processing
    body = notification(attempt_row)
    first = await post(kopek, body)
    assert first.status == 200 and await first.text() == "YES"
    assert await status_of(kopek, payment) == "succeeded"
    events_before = await event_types(kopek, payment)

    for _ in range(2):  # the provider resends it, or someone replays it
        again = await post(kopek, body)
        assert again.status == 200
    assert await event_types(kopek, payment) == events_before
    assert events_before.count("payment.succeeded") == 1
    results = [row["result"] for row in await kopek.app[keys.STORE].callbacks("webmoney")]
    assert results == ["applied", "no_change", "no_change"]


async def test_a_late_failure_after_success_changes_nothing(kopek, processing):
    payment, attempt_row = processing
    await post(kopek, notification(attempt_row))
    late = await post(kopek, notification(attempt_row, state="declined"))
    assert late.status == 200
    assert await status_of(kopek, payment) == "succeeded"


@pytest.mark.parametrize("tamper", ["secret", "amount_after_signing", "no_hash", "garbage", "empty"])
async def test_a_bad_signature_changes_nothing(kopek, processing, tamper):
    payment, attempt_row = processing
    body = {
        "secret": lambda: notification(attempt_row, secret="not-the-secret"),
        "amount_after_signing": lambda: notification(attempt_row).replace(b"5.00", b"0.01"),
        "no_hash": lambda: b"&".join(p for p in notification(attempt_row).split(b"&") if not p.startswith(b"LMI_HASH")),
        "garbage": lambda: b"\x00\xff not a form",
        "empty": lambda: b"",
    }[tamper]()
    response = await post(kopek, body)
    assert response.status == 401
    assert (await response.json())["error"]["code"] == "bad_signature"
    assert await status_of(kopek, payment) == "processing"
    rows = await kopek.app[keys.STORE].callbacks("webmoney")
    assert [(r["verified"], r["result"]) for r in rows] == [(0, "bad_signature")]


async def test_a_correctly_signed_but_different_amount_is_refused(kopek, processing):
    payment, attempt_row = processing
    response = await post(kopek, notification(attempt_row, amount="0.01"))
    assert response.status == 400
    assert (await response.json())["error"]["code"] == "amount_mismatch"
    assert await status_of(kopek, payment) == "processing"


async def test_a_notification_for_an_unknown_attempt_is_404(kopek, processing):
    payment, attempt_row = processing
    response = await post(kopek, notification(attempt_row, payment_no="att_unknown"))
    assert response.status == 404
    assert await status_of(kopek, payment) == "processing"


async def test_unknown_wallet_is_404(kopek):
    response = await kopek.client.post("/v1/providers/paypal/callback", data=b"x=1")
    assert response.status == 404


async def test_a_verified_result_before_the_code_still_counts(kopek):
    """The provider is the authority on its own money: a verified 'paid' settles the payment."""
    payment = await kopek.create_payment(order_id="CB-early")
    await attempt(kopek, payment, SLOW)
    stored = await kopek.app[keys.STORE].get_payment(payment["id"])
    early = await post(kopek, notification(await kopek.app[keys.STORE].get_attempt(stored.current_attempt_id)))
    assert early.status == 200
    assert await status_of(kopek, payment) == "succeeded"
    assert (await event_types(kopek, payment))[-2:] == ["payment.processing", "payment.succeeded"]


async def test_a_stale_processing_notice_after_success_changes_nothing(kopek, processing):
    payment, attempt_row = processing
    await post(kopek, notification(attempt_row))
    stale = await post(kopek, notification(attempt_row, state="processing"))
    assert stale.status == 200
    assert await status_of(kopek, payment) == "succeeded"


async def test_a_notification_while_the_attempt_is_starting_is_not_acknowledged(kopek, processing):
    payment, attempt_row = processing
    store = kopek.app[keys.STORE]
    async with store._transaction() as db:  # as if the start call had not been recorded yet
        await db.execute("UPDATE attempts SET status='starting' WHERE id=?", (attempt_row.id,))
    early = await post(kopek, notification(attempt_row))
    assert early.status == 409
    assert (await early.json())["error"]["code"] == "callback_out_of_order"
    assert await status_of(kopek, payment) == "processing"


async def test_a_mismatched_amount_flags_the_attempt_for_review(kopek, processing):
    payment, attempt_row = processing
    await post(kopek, notification(attempt_row, amount="0.01"))
    flagged = await kopek.app[keys.STORE].get_attempt(attempt_row.id)
    assert flagged.needs_review == "amount_mismatch" and flagged.status == "processing"


async def test_a_success_for_an_attempt_that_already_ended_is_flagged_not_applied(kopek, processing):
    payment, attempt_row = processing
    await post(kopek, notification(attempt_row, state="declined"))
    assert await status_of(kopek, payment) == "requires_wallet"
    late = await post(kopek, notification(attempt_row))
    assert late.status == 200
    assert await status_of(kopek, payment) == "requires_wallet"
    assert (await kopek.app[keys.STORE].get_attempt(attempt_row.id)).needs_review == "paid_after_failure"


async def test_forged_callbacks_buy_no_writes_and_no_provider_calls(kopek, processing):
    payment, attempt_row = processing
    asked: list[str] = []
    reconciler = kopek.app[keys.RECONCILER]
    original = reconciler.check_soon

    async def counting_check_soon(wallet: str) -> None:
        asked.append(wallet)
        await original(wallet)

    reconciler.check_soon = counting_check_soon  # observes, and still asks the provider
    statuses = [(await post(kopek, notification(attempt_row, secret=f"forged-{n}"))).status for n in range(300)]
    assert set(statuses) <= {401, 429} and statuses.count(401) >= 200
    assert asked == ["webmoney"], "one provider re-fetch for the whole burst"
    rows = await kopek.app[keys.STORE].callbacks("webmoney")
    assert [(r["verified"], r["result"]) for r in rows] == [(0, "bad_signature")], "a bounded log"
    await asyncio.sleep(1.1)  # the burst shared the provider's address: its one-second window passes
    assert (await post(kopek, notification(attempt_row))).status == 200, "the real provider still gets through"
    assert await status_of(kopek, payment) == "succeeded"


async def test_callbacks_from_one_source_are_rate_limited(kopek, processing):
    _, attempt_row = processing
    per_s = kopek.app[keys.SETTINGS].callbacks_per_source_per_s
    forged = notification(attempt_row, secret="forged")
    responses = await asyncio.gather(*(post(kopek, forged) for _ in range(per_s * 2)))
    statuses = [r.status for r in responses]
    assert statuses.count(401) <= per_s and statuses.count(429) >= per_s, "over the limit is a 429"
    assert all(r.headers["Retry-After"] == "1" for r in responses if r.status == 429)
