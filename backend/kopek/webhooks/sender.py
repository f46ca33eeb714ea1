"""The webhook sender: drains the outbox into delivery jobs and works through the due ones.

At least once: a delivery is marked done only after its attempt is recorded, so a crash
mid-attempt means one more attempt after the restart, with the same `webhook-id`.
Bounded: at most MAX_IN_FLIGHT attempts at once and PER_ENDPOINT per endpoint, so one slow
receiver cannot hold up the others; a payment's events to one endpoint go one at a time, in
seq order (a failed one is retried later and may be overtaken: receivers order by `seq`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Iterable

import aiohttp

from kopek import clock
from kopek.keyring import PurposeKeys
from kopek.settings import Settings
from kopek.store.webhooks import AttemptOutcome, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookStore
from kopek.waiting import wait_for_event
from kopek.webhooks import events, schedule, signing, transport

log = logging.getLogger(__name__)

MAX_IN_FLIGHT = 8
PER_ENDPOINT = 2
POLL_INTERVAL_S = 0.2
OUTBOX_BATCH = 200
DUE_PER_ENDPOINT = 10       # due deliveries looked at per endpoint and round: a backlog can't hide others
GONE_REASON = "the receiver answered 410 Gone"


@dataclass(frozen=True)
class SenderLimits:
    in_flight: int = MAX_IN_FLIGHT
    per_endpoint: int = PER_ENDPOINT


class WebhookSender:
    def __init__(self, store: WebhookStore, session: aiohttp.ClientSession, secret_keys: PurposeKeys,
                 settings: Settings, limits: SenderLimits = SenderLimits()) -> None:
        self.store = store
        self._session = session
        self._secret_keys = secret_keys
        self._settings = settings
        self._limits = limits
        self._wake = asyncio.Event()
        self._tasks: dict[str, asyncio.Task[None]] = {}            # delivery id -> its attempt
        self._per_endpoint: dict[str, int] = {}
        self._ordering: set[tuple[str, str]] = set()                # (endpoint, payment) in flight
        self._requeue_after: set[str] = set()
        # Finished while a due-list query ran: that list may still show them as open.
        self._just_finished: set[str] = set()

    # -- the loop ---------------------------------------------------------------------

    async def run_forever(self) -> None:
        try:
            while True:
                try:
                    await self.step()
                except Exception:  # one bad round must not stop the next
                    log.exception("webhook sender round failed")
                await self._sleep()
        finally:
            await self._cancel_attempts()

    async def step(self) -> None:
        while await self.store.has_undispatched():
            if await self.store.dispatch_outbox(OUTBOX_BATCH, events.route) < OUTBOX_BATCH:
                break
        if len(self._tasks) < self._limits.in_flight:
            self._just_finished.clear()
            self._start(await self.store.due_deliveries(clock.now_iso(), DUE_PER_ENDPOINT))

    def wake(self) -> None:
        self._wake.set()

    async def _sleep(self) -> None:
        await wait_for_event(self._wake, POLL_INTERVAL_S)
        self._wake.clear()

    async def _cancel_attempts(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- starting attempts ------------------------------------------------------------

    def _start(self, due: Iterable[WebhookDelivery]) -> None:
        for delivery in due:
            if len(self._tasks) >= self._limits.in_flight:
                return
            if self._can_start(delivery):
                self._claim(delivery)

    def _can_start(self, delivery: WebhookDelivery) -> bool:
        return (delivery.id not in self._tasks and delivery.id not in self._just_finished
                and self._per_endpoint.get(delivery.endpoint_id, 0) < self._limits.per_endpoint
                and _ordering_key(delivery) not in self._ordering)

    def _claim(self, delivery: WebhookDelivery) -> None:
        self._per_endpoint[delivery.endpoint_id] = self._per_endpoint.get(delivery.endpoint_id, 0) + 1
        key = _ordering_key(delivery)
        if key is not None:
            self._ordering.add(key)
        task = asyncio.create_task(self._attempt(delivery))
        self._tasks[delivery.id] = task
        task.add_done_callback(lambda _: self._release(delivery))

    def _release(self, delivery: WebhookDelivery) -> None:
        self._tasks.pop(delivery.id, None)
        self._just_finished.add(delivery.id)
        self._per_endpoint[delivery.endpoint_id] -= 1
        if not self._per_endpoint[delivery.endpoint_id]:
            del self._per_endpoint[delivery.endpoint_id]
        key = _ordering_key(delivery)
        if key is not None:
            self._ordering.discard(key)
        self.wake()

    # -- one attempt ------------------------------------------------------------------

    async def _attempt(self, delivery: WebhookDelivery) -> None:
        try:
            endpoint = await self.store.get_endpoint(delivery.endpoint_id)
            if endpoint is None or endpoint.status != "enabled":
                return  # disabled or deleted meanwhile: its open deliveries were abandoned
            started_at, started = clock.now_iso(), time.monotonic()
            reply = await self._send(endpoint, delivery)
            attempt = WebhookAttempt(delivery.id, started_at, round((time.monotonic() - started) * 1000),
                                     reply.http_status, reply.error, reply.excerpt)
            await self.store.record_attempt(delivery, attempt, self._outcome(delivery, reply))
            if delivery.id in self._requeue_after:
                self._requeue_after.discard(delivery.id)
                await self.store.requeue(delivery.id)
        except Exception:
            log.exception("webhook delivery %s failed unexpectedly", delivery.id)

    async def _send(self, endpoint: WebhookEndpoint, delivery: WebhookDelivery) -> transport.Reply:
        body = delivery.body.encode()
        timestamp = int(time.time())
        secrets = signing.signing_secrets(self._secret_keys.accepted(), endpoint)
        headers = {"webhook-id": delivery.event_id, "webhook-timestamp": str(timestamp),
                   "webhook-signature": signing.signature_header(secrets, delivery.event_id, timestamp, body)}
        return await transport.post(self._session, endpoint.url, body, headers, self._settings.webhook_timeout_s)

    def _outcome(self, delivery: WebhookDelivery, reply: transport.Reply) -> AttemptOutcome:
        if reply.delivered:
            return AttemptOutcome("succeeded", None)
        if reply.http_status == 410:
            return AttemptOutcome("abandoned", None, disable_reason=GONE_REASON)
        delay = schedule.next_delay(delivery.attempts + 1, self._settings.webhook_retry_scale,
                                    schedule.parse_retry_after(reply.retry_after))
        if delay is None:
            return AttemptOutcome("abandoned", None)
        return AttemptOutcome("failed", clock.iso_in(delay))

    # -- asked for by the API ---------------------------------------------------------

    async def redeliver(self, delivery_id: str) -> WebhookDelivery | None:
        delivery = await self.store.requeue(delivery_id)
        if delivery_id in self._tasks:
            self._requeue_after.add(delivery_id)  # the attempt in flight would overwrite the request
        self.wake()
        return delivery

    async def send_test(self, endpoint: WebhookEndpoint) -> WebhookDelivery:
        delivery = events.webhook_test_delivery(endpoint)
        await self.store.insert_delivery(delivery)
        self.wake()
        return delivery


def _ordering_key(delivery: WebhookDelivery) -> tuple[str, str] | None:
    return None if delivery.payment_id is None else (delivery.endpoint_id, delivery.payment_id)
