"""Idempotency keys with Stripe's semantics, apart from HTTP (web/idempotency.py adapts them).

The first request with a key claims it and runs; its response is kept and replayed to every
later request with the same key and the same parameters. A request that arrives while the
first still runs waits for it (bounded), then replays its response. The same key with other
parameters is an error. Keys expire after a TTL.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import unicodedata
from dataclasses import dataclass
from datetime import timedelta

from kopek import clock
from kopek.errors import InvalidRequest, KopekError
from kopek.ids import random_token
from kopek.store.idempotency import IdempotencyStore, KeyRecord, KeyScope, StoredResponse
from kopek.waiting import wait_for_event

log = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
MAX_STORED_BODY = 64 * 1024
PURGE_BATCH = 500
PURGE_BATCHES_PER_ROUND = 20
# How often a waiter looks again when it cannot be woken in-process.
POLL_S = 0.05


class IdempotencyKeyInvalid(InvalidRequest):
    code = "idempotency_key_invalid"


class IdempotencyKeyReused(KopekError):
    status = 400
    type = "idempotency_error"
    code = "idempotency_key_reused"


class IdempotencyKeyInUse(KopekError):
    status = 409
    type = "idempotency_error"
    code = "idempotency_key_in_use"


def check_key(values: list[str]) -> str:
    """The one Idempotency-Key header: 1 to 255 characters of UTF-8 text, no control characters."""
    if len(values) != 1:
        raise IdempotencyKeyInvalid(f"send one {HEADER} header, not {len(values)}", param=HEADER)
    key = values[0]
    if not 1 <= len(key) <= MAX_KEY_LENGTH:
        raise IdempotencyKeyInvalid(f"the {HEADER} must be 1 to {MAX_KEY_LENGTH} characters long "
                                    f"(this one has {len(key)}); a UUID is a good choice", param=HEADER)
    if any(unicodedata.category(char) == "Cc" for char in key):
        raise IdempotencyKeyInvalid(f"the {HEADER} must not contain control characters", param=HEADER)
    if any(unicodedata.category(char) == "Cs" for char in key):  # bytes that were not UTF-8
        raise IdempotencyKeyInvalid(f"the {HEADER} must be UTF-8 text", param=HEADER)
    return key


@dataclass(frozen=True)
class RequestPrint:
    """What makes two requests "the same": method, path (with the query) and the raw body."""

    method: str
    path: str
    fingerprint: str

    @classmethod
    def of(cls, method: str, path: str, body: bytes) -> RequestPrint:
        digest = hashlib.sha256(f"{method}\n{path}\n".encode("utf-8", "surrogateescape"))
        digest.update(body)
        return cls(method, path, digest.hexdigest())


@dataclass(frozen=True)
class Claim:
    """The right to run the request; hand it back with `finish`."""

    scope: KeyScope
    token: str


class IdempotencyGuard:
    def __init__(self, store: IdempotencyStore, *, ttl_s: float, wait_s: float) -> None:
        self.store = store
        self.ttl_s = ttl_s
        self.wait_s = wait_s
        self._running: dict[str, asyncio.Event] = {}  # claim token -> set when its request ends

    @property
    def purge_interval_s(self) -> float:
        return min(max(self.ttl_s / 2, POLL_S), 300.0)

    async def begin(self, scope: KeyScope, request: RequestPrint) -> Claim | StoredResponse:
        """Claim the key, or return the response to replay. Waits while another request holds it."""
        token = random_token(24)
        deadline = asyncio.get_running_loop().time() + self.wait_s
        while True:
            record = await self._current(scope, request, token)
            if record.token == token:
                self._running[token] = asyncio.Event()
                return Claim(scope, token)
            _check_same(record, request)
            if record.response is not None:
                return record.response
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise IdempotencyKeyInUse(
                    f"a request with this {HEADER} is still being processed; retry in a few seconds",
                    param=HEADER)
            await self._wait_for(record.token, remaining)

    async def finish(self, claim: Claim, response: StoredResponse | None) -> None:
        """Keep the response for replays, or (None) release the key so a retry runs again."""
        try:
            if response is None:
                await self.store.release(claim.scope, claim.token)
            elif not await self.store.complete(claim.scope, claim.token, response):
                log.warning("idempotency key claim expired before its request ended")
        except Exception:  # the client still gets its answer; a retry may run the request again
            log.exception("could not record the idempotency key's outcome")
        finally:
            event = self._running.pop(claim.token, None)
            if event is not None:
                event.set()

    async def purge_expired(self) -> int:
        """Delete keys older than the TTL, in bounded batches; returns how many went."""
        purged = 0
        for _ in range(PURGE_BATCHES_PER_ROUND):
            deleted = await self.store.purge(self._oldest_live(), PURGE_BATCH)
            purged += deleted
            if deleted < PURGE_BATCH:
                break
        return purged

    async def _current(self, scope: KeyScope, request: RequestPrint, token: str) -> KeyRecord:
        oldest = self._oldest_live()
        found = await self.store.find(scope, oldest)
        if found is not None:
            return found
        return await self.store.claim(scope, token=token, fingerprint=request.fingerprint,
                                      method=request.method, path=request.path, created_after=oldest)

    async def _wait_for(self, token: str, remaining: float) -> None:
        event = self._running.get(token)
        if event is None:  # it just ended, or another process holds it: look again soon
            await asyncio.sleep(min(remaining, POLL_S))
            return
        await wait_for_event(event, remaining)

    def _oldest_live(self) -> str:
        return clock.to_iso(clock.now() - timedelta(seconds=self.ttl_s))


def _check_same(record: KeyRecord, request: RequestPrint) -> None:
    if record.fingerprint != request.fingerprint:
        raise IdempotencyKeyReused(
            f"this {HEADER} was already used with other parameters (first with {record.method} "
            f"{record.path}); use a new key for a new request", param=HEADER)
