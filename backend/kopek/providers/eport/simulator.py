"""A fake e-port server for sandbox mode, mounted at /sandbox/providers/eport/.

Routes (relative to the mount): `POST /api/v1/debits` and `POST /api/v1/debits/status`,
speaking the JSON of protocol.py with the sandbox credentials
(`protocol.SANDBOX_CREDENTIALS`); a request that is not signed by them gets result 63
(HTTP 401). Debits live in memory (at most 10,000; the oldest are forgotten first). The
PIN is checked and forgotten: a debit never holds it, and nothing here logs a body.

The sandbox PIN is 1234 (any other PIN is wrong, 55), and with the magic ending 05 every PIN is wrong. The last two digits
of the account choose the outcome (sandbox/magic.py, the same for every wallet):

| Ending | Result |
|--------|--------|
| `01` (and any ending not listed) | Accepted (0), completed 1 s × time scale later, then notified |
| `02` | Declined at once (57, `declined`), notified as failed |
| `03` | Insufficient funds at once (51), notified as failed |
| `04` | Slow: completes after 120 s × time scale |
| `05` | Every PIN is wrong (55, `incorrect_pin`), notified as failed |
| `06` | The first 2 requests for the merchant_reference answer 503 (91), then it works |
| `07` | The debit request stalls for an hour (until shutdown) |
| `08` | Completes; the notification is sent twice at once |
| `09` | No such account (14, `wallet_not_found`), notified as failed |
| `10` | Completes; a stale `processing` notice follows the final one |
| `11` | Accepted, then stays processing forever, with no notification |

An amount outside e-port's limits is refused with 61 (`limit_exceeded`). Notifications
go through the shared CallbackSender, so the sandbox faults (duplicates, stale notices,
broken signatures) apply to them, and the fault middleware adds latency and 503s.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Mapping

from aiohttp import web

from kopek.providers.eport import protocol, refunds
from kopek.providers.eport.protocol import DebitState, Result
from kopek.providers.plugin import SimulatorContext
from kopek.providers.sandbox.callbacks import Notice
from kopek.providers.sandbox.magic import SANDBOX_PIN, Magic, magic_of, processing_delay_s
from kopek.providers.sandbox.runtime import FlakyCounter, SimulatorRuntime

log = logging.getLogger(__name__)

MAX_DEBITS = 10_000

# Magic endings answered at once with a failure.
IMMEDIATE_FAILURES: Mapping[Magic, Result] = {
    Magic.NOT_FOUND: Result.ACCOUNT_NOT_FOUND,
    Magic.WRONG_SECRET: Result.INCORRECT_PIN,
    Magic.INSUFFICIENT_FUNDS: Result.INSUFFICIENT_FUNDS,
    Magic.DECLINE: Result.DECLINED,
}


@dataclass
class Debit:
    debit_id: str
    merchant_reference: str
    account: str
    amount: int
    currency: str
    payment_id: str
    notify_url: str
    magic: Magic
    result: Result = Result.PROCESSING

    @property
    def state(self) -> DebitState:
        return protocol.state_of(self.result)

    def operation(self) -> protocol.Operation:
        return protocol.Operation(self.debit_id, self.merchant_reference, self.amount, self.currency,
                                  self.state.value)

    def same_request(self, other: Debit) -> bool:
        return (self.account, self.amount, self.currency) == (other.account, other.amount, other.currency)


@dataclass(frozen=True)
class Answer:
    result: Result
    message: str = ""
    debit: Debit | None = None

    def response(self) -> web.Response:
        operation = self.debit.operation() if self.debit else None
        return web.Response(status=protocol.http_status(self.result), content_type=protocol.CONTENT_TYPE,
                            body=protocol.answer_json(self.result, self.message, operation))


class _Refusal(Exception):
    def __init__(self, result: Result, message: str) -> None:
        super().__init__(message)
        self.answer = Answer(result, message)


class Simulator(SimulatorRuntime):
    def __init__(self, context: SimulatorContext) -> None:
        super().__init__(context.faults, context.time_scale, wallet="eport", log=log)
        self.context = context
        self.credentials = protocol.SANDBOX_CREDENTIALS
        self.debits: dict[str, Debit] = {}
        self._by_reference: dict[str, str] = {}
        self._busy_answers = FlakyCounter(MAX_DEBITS)   # merchant_reference -> 503s sent (magic 06)

    # ---- the two operations ----

    def authenticate(self, body: bytes, headers: Mapping[str, str]) -> dict[str, Any]:
        creds = self.credentials
        if not protocol.authentic(body, headers, creds.merchant_id, creds.secret):
            raise _Refusal(Result.SECURITY_VIOLATION, "signature or merchant rejected")
        return protocol.load_object(body, "the request", _FormatError)

    async def debit(self, payload: dict[str, Any]) -> Answer:
        debit, pin_ok = _new_debit(payload, f"dbt_{secrets.token_hex(12)}")
        if debit.magic is Magic.FLAKY and self._busy_answers.fail_next(debit.merchant_reference):
            raise _Refusal(Result.SYSTEM_BUSY, "system busy, try again")
        existing = self._existing(debit)
        if existing is not None:
            return Answer(existing.result, _MESSAGES[existing.result], existing)
        if debit.magic is Magic.TIMEOUT:
            await self.stall.wait()
            raise _Refusal(Result.SYSTEM_BUSY, "system busy, try again")
        debit.result = self._decide(debit, pin_ok)
        self._store(debit)
        self._after_decision(debit)
        fresh = Result.ACCEPTED if debit.state is DebitState.PROCESSING else debit.result
        return Answer(fresh, _MESSAGES[fresh], debit)

    async def status(self, payload: dict[str, Any]) -> Answer:
        debit = self.debits.get(payload.get("debit_id")) if isinstance(payload.get("debit_id"), str) else None
        if debit is None:
            raise _Refusal(Result.DEBIT_NOT_FOUND, "no such debit")
        return Answer(debit.result, _MESSAGES[debit.result], debit)

    # ---- helpers ----

    def _existing(self, debit: Debit) -> Debit | None:
        debit_id = self._by_reference.get(debit.merchant_reference)
        existing = self.debits.get(debit_id) if debit_id else None
        if existing is not None and not existing.same_request(debit):
            raise _Refusal(Result.REFERENCE_CONFLICT, "merchant_reference already used for another debit")
        return existing

    def _decide(self, debit: Debit, pin_ok: bool) -> Result:
        failure = IMMEDIATE_FAILURES.get(debit.magic)
        if failure is not None:
            return failure
        if not pin_ok:
            return Result.INCORRECT_PIN
        limits = next((lim for lim in protocol.LIMITS if lim.currency == debit.currency), None)
        if limits is None or not limits.allows(debit.amount, debit.currency):
            return Result.LIMIT_EXCEEDED
        return Result.PROCESSING

    def _store(self, debit: Debit) -> None:
        while len(self.debits) >= MAX_DEBITS:
            oldest = self.debits.pop(next(iter(self.debits)))
            self._by_reference.pop(oldest.merchant_reference, None)
        self.debits[debit.debit_id] = debit
        self._by_reference[debit.merchant_reference] = debit.debit_id

    def _after_decision(self, debit: Debit) -> None:
        if debit.state is DebitState.FAILED:
            self._spawn(self._notify(debit))
        elif debit.magic is not Magic.NEVER_ANSWERS:
            self._spawn(self._complete(debit, processing_delay_s(debit.magic, self.context.time_scale)))

    async def _complete(self, debit: Debit, delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        debit.result = Result.COMPLETED
        await self._notify(debit)

    async def _notify(self, debit: Debit) -> None:
        if not debit.notify_url:
            return
        await self.sender.send(
            debit.notify_url, lambda state, forged: self._render(debit, state, forged),
            final_state=debit.state.value, stale_state=DebitState.PROCESSING.value,
            magic=debit.magic, accepted=_delivered,
        )

    def _render(self, debit: Debit, state: str, forged: bool) -> Notice:
        failed = state == DebitState.FAILED.value
        body = protocol.notice_body(protocol.Notice(
            debit.debit_id, debit.merchant_reference, state, debit.amount, debit.currency,
            int(debit.result) if failed else None, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        ))
        secret = self.credentials.notify_secret + ("-forged" if forged else "")
        headers = protocol.signed_headers(body, self.credentials.merchant_id, secret)
        return Notice(body, protocol.CONTENT_TYPE, tuple(headers.items()))


class _FormatError(Exception):
    pass


_MESSAGES: Mapping[Result, str] = {
    Result.ACCEPTED: "accepted",
    Result.PROCESSING: "processing",
    Result.COMPLETED: "completed",
    Result.ACCOUNT_NOT_FOUND: "No e-port account with this number",
    Result.INSUFFICIENT_FUNDS: "Insufficient funds on the e-port account",
    Result.INCORRECT_PIN: "Incorrect PIN",
    Result.DECLINED: "e-port declined the debit",
    Result.LIMIT_EXCEEDED: "The amount is outside e-port's limits",
}


def _new_debit(payload: dict[str, Any], debit_id: str) -> tuple[Debit, bool]:
    """A debit from the request, and whether the PIN is the sandbox PIN (the PIN itself is dropped)."""
    extensions = payload.get("extensions", {})
    description = payload.get("description", "")
    valid = (isinstance(payload.get("account"), str) and re.fullmatch(protocol.ACCOUNT_PATTERN, payload["account"])
             and isinstance(payload.get("pin"), str)
             and protocol.is_amount(payload.get("amount"))
             and isinstance(payload.get("currency"), str) and protocol.CURRENCY_PATTERN.fullmatch(payload["currency"])
             and isinstance(payload.get("merchant_reference"), str)
             and protocol.REFERENCE_PATTERN.fullmatch(payload["merchant_reference"])
             and isinstance(description, str) and isinstance(extensions, dict)
             and _notify_url_ok(payload.get("notify_url", "")))
    if not valid:
        raise _Refusal(Result.FORMAT_ERROR, "a field is missing or malformed")
    pin_ok = hmac.compare_digest(payload["pin"].encode(), SANDBOX_PIN.encode())
    payment_id = extensions.get("kopek_payment_id", "")
    debit = Debit(debit_id, payload["merchant_reference"], payload["account"], payload["amount"], payload["currency"],
                  payment_id if isinstance(payment_id, str) else "", payload.get("notify_url", ""),
                  magic_of(payload["account"]))
    return debit, pin_ok


def _notify_url_ok(url: Any) -> bool:
    return isinstance(url, str) and (url == "" or url.startswith(("http://", "https://")))


def _delivered(status: int, body: bytes) -> bool:
    try:
        return status == 200 and protocol.load_object(body, "reply", ValueError) == {"ok": True}
    except ValueError:
        return False


# ---- the aiohttp app ----------------------------------------------------------------------

SIMULATOR = web.AppKey("eport_simulator", Simulator)

Operation = Callable[[Simulator, dict[str, Any]], Awaitable[Answer]]


def create_simulator_app(context: SimulatorContext) -> web.Application:
    app = web.Application(middlewares=[context.faults.middleware])
    simulator = Simulator(context)
    app[SIMULATOR] = simulator
    simulator.attach_to(app)
    app.router.add_post(protocol.DEBITS_PATH, _handler(simulator, Simulator.debit))
    app.router.add_post(protocol.STATUS_PATH, _handler(simulator, Simulator.status))
    refunds.add_routes(app, simulator)
    return app


def _handler(simulator: Simulator, operation: Operation) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        body = await request.read()   # bounded by client_max_size; load_object caps it further
        try:
            payload = simulator.authenticate(body, request.headers)
            answer = await operation(simulator, payload)
        except _FormatError:
            answer = Answer(Result.FORMAT_ERROR, "the body is not a JSON object")
        except _Refusal as refusal:
            answer = refusal.answer
        return answer.response()

    return handle
