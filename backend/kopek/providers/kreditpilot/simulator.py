"""The KreditPilot sandbox: a fake prepaid-card processor speaking protocol.py's JSON-RPC at /rpc.

Every sandbox card's PIN is 1234. A card starts with 1,000.00 RUB; a charge holds (and so
deducts) its amount at once, and a charge above what is left is refused with
insufficient balance. Balances live in memory, per card, until the server stops. The
last two digits of the card number choose the outcome (the shared table in sandbox/magic.py):

| Ending | Outcome |
|---|---|
| `01` (and any unlisted) | `hold`, then `captured` and a notification after 1 s × time scale |
| `02` | Refused at once: card declined (-32004) |
| `03` | The card holds 0.10 RUB, so anything above 10 kopecks is insufficient (-32003) |
| `04` | `hold`, captured after 120 s × time scale |
| `05` | Every PIN is wrong (-32002) |
| `06` | The first two card.charge requests of an order answer HTTP 503 |
| `07` | card.charge never answers in time |
| `08` | The notification is sent twice at once |
| `09` | No such card (-32001) |
| `10` | A stale `hold` notification follows the final one |
| `11` | `hold` forever: no capture, no notification |
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import logging
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Mapping

from aiohttp import web

from kopek.providers.kreditpilot import protocol, refunds
from kopek.providers.kreditpilot.protocol import ChargeState, ErrorCode, Method, RpcFault
from kopek.providers.plugin import SimulatorContext
from kopek.providers.sandbox.callbacks import Notice
from kopek.providers.sandbox.faults import FaultInjector
from kopek.providers.sandbox.magic import SANDBOX_PIN, Magic, magic_of, processing_delay_s
from kopek.providers.sandbox.runtime import FlakyCounter, SimulatorRuntime

log = logging.getLogger(__name__)

CURRENCY = "RUB"
DEFAULT_BALANCE = 100_000      # 1,000.00 RUB
LOW_BALANCE = 10               # magic 03: 0.10 RUB
MAX_CHARGE = 300_000           # per charge, in kopecks
MAX_CHARGES = 10_000
MAX_CARDS = 10_000
MAX_URL_CHARS = 2048

MESSAGES: Mapping[ErrorCode, str] = {
    ErrorCode.CARD_NOT_FOUND: "No such card",
    ErrorCode.WRONG_PIN: "Wrong PIN",
    ErrorCode.INSUFFICIENT_BALANCE: "Insufficient balance on the card",
    ErrorCode.CARD_DECLINED: "The card is blocked or the charge was declined",
    ErrorCode.LIMIT_EXCEEDED: "The amount is above the card's per-charge limit",
}


@dataclass
class SimCharge:
    charge_id: str
    order_ref: str
    card: str
    amount: int
    currency: str
    notify_url: str
    magic: Magic
    state: ChargeState
    error_code: ErrorCode | None = None

    def public(self, state: ChargeState | None = None) -> protocol.Charge:
        state = state or self.state
        error_code = int(self.error_code) if self.error_code is not None and state is ChargeState.REJECTED else None
        return protocol.Charge(self.charge_id, self.order_ref, state.value, self.amount, self.currency, error_code)


@dataclass(frozen=True)
class WantedCharge:
    card: str
    pin: str = field(repr=False)
    amount: int
    currency: str
    order_ref: str
    notify_url: str


class _Unavailable(Exception):
    """Answer HTTP 503, as an overloaded provider would."""


class Simulator(SimulatorRuntime):
    def __init__(self, *, time_scale: float, faults: FaultInjector, clock: Callable[[], float] = time.time) -> None:
        super().__init__(faults, time_scale, wallet="kreditpilot", log=log)
        self.faults = faults
        self.credentials = protocol.SANDBOX_CREDENTIALS
        self.charges: dict[str, SimCharge] = {}
        self._by_order_ref: dict[str, str] = {}
        self._balances: dict[str, int] = {}
        self._flaky_answers = FlakyCounter(MAX_CHARGES)   # order_ref -> 503s sent (magic 06)
        self._clock = clock

    # ---- the endpoint ----

    async def rpc(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            call = protocol.read_call(body)
            if not protocol.request_is_authentic(request.headers.get("Authorization", ""), body,
                                                 {self.credentials.key_id: self.credentials.secret}, self._clock()):
                raise RpcFault(ErrorCode.AUTHENTICATION_FAILED, "authentication failed", call.request_id)
            result = await self._dispatch(call)
        except RpcFault as fault:
            answer = protocol.rpc_error(fault.request_id, fault.code, fault.message, fault.charge_id)
        except _Unavailable:
            return web.Response(status=503, text="KreditPilot is temporarily unavailable")
        else:
            answer = protocol.rpc_result(call.request_id, result)
        return web.Response(body=answer, content_type="application/json")

    async def _dispatch(self, call: protocol.RpcCall) -> Mapping[str, Any]:
        methods = {Method.CHARGE.value: self.card_charge, Method.STATUS.value: self.charge_status,
                   Method.BALANCE.value: self.card_balance,
                   refunds.RefundMethod.REFUND.value: functools.partial(refunds.charge_refund, self)}
        method = methods.get(call.method)
        try:
            if method is None:
                raise RpcFault(ErrorCode.METHOD_NOT_FOUND, "method not found")
            return await method(call.params)
        except RpcFault as fault:
            fault.request_id = call.request_id
            raise

    # ---- the methods ----

    async def card_charge(self, params: Mapping[str, Any]) -> Mapping[str, Any]:
        wanted = _read_charge(params)
        magic = magic_of(wanted.card)
        await self._misbehave(magic, wanted.order_ref)
        charge = self._find_by_order_ref(wanted.order_ref)
        if charge is None:
            charge = self._open_charge(wanted, magic)
        elif (charge.card, charge.amount, charge.currency) != (wanted.card, wanted.amount, wanted.currency):
            raise RpcFault(ErrorCode.ORDER_REF_CONFLICT, "order_ref already used for another charge")
        if charge.error_code is not None:
            raise RpcFault(charge.error_code, MESSAGES[charge.error_code], charge_id=charge.charge_id)
        return charge.public().to_json()

    async def charge_status(self, params: Mapping[str, Any]) -> Mapping[str, Any]:
        charge_id = params.get("charge_id")
        charge = self.charges.get(charge_id) if isinstance(charge_id, str) else None
        if charge is None:
            raise RpcFault(ErrorCode.CHARGE_NOT_FOUND, "charge not found")
        return charge.public().to_json()

    async def card_balance(self, params: Mapping[str, Any]) -> Mapping[str, Any]:
        card, pin = _param(params, "card", protocol.CARD_PATTERN), _param(params, "pin", protocol.PIN_PATTERN)
        refusal = _card_refusal(card, pin)
        if refusal is not None:
            raise RpcFault(refusal, MESSAGES[refusal])
        return {"card_last4": card[-4:], "balance": self.balance(card), "currency": CURRENCY}

    # ---- helpers ----

    def balance(self, card: str) -> int:
        initial = LOW_BALANCE if magic_of(card) is Magic.INSUFFICIENT_FUNDS else DEFAULT_BALANCE
        return self._balances.get(card, initial)

    async def _misbehave(self, magic: Magic, order_ref: str) -> None:
        if magic is Magic.FLAKY and self._flaky_answers.fail_next(order_ref):
            raise _Unavailable()
        if magic is Magic.TIMEOUT:
            await self.stall.wait()
            raise _Unavailable()   # only reached when the simulator shuts down

    def _find_by_order_ref(self, order_ref: str) -> SimCharge | None:
        charge_id = self._by_order_ref.get(order_ref)
        return self.charges.get(charge_id) if charge_id else None

    def _open_charge(self, wanted: WantedCharge, magic: Magic) -> SimCharge:
        refusal = _card_refusal(wanted.card, wanted.pin) or self._funds_refusal(wanted)
        charge = SimCharge(
            charge_id=f"ch_{secrets.token_hex(12)}", order_ref=wanted.order_ref, card=wanted.card,
            amount=wanted.amount, currency=wanted.currency, notify_url=wanted.notify_url, magic=magic,
            state=ChargeState.REJECTED if refusal else ChargeState.HOLD, error_code=refusal,
        )
        self._store(charge)
        log.info("kreditpilot sandbox: charge %s on card *%s: %s", charge.charge_id, wanted.card[-4:],
                 charge.state.value if refusal is None else f"rejected ({int(refusal)})")
        if refusal is None:
            self._set_balance(wanted.card, self.balance(wanted.card) - wanted.amount)
            if magic is not Magic.NEVER_ANSWERS:
                self._spawn(self._capture(charge))
        return charge

    def _funds_refusal(self, wanted: WantedCharge) -> ErrorCode | None:
        if wanted.amount > MAX_CHARGE:
            return ErrorCode.LIMIT_EXCEEDED
        if wanted.amount > self.balance(wanted.card):
            return ErrorCode.INSUFFICIENT_BALANCE
        return None

    def _set_balance(self, card: str, balance: int) -> None:
        self._balances.pop(card, None)   # re-inserted last: the least recently charged card goes first
        self._balances[card] = balance
        _bound(self._balances, MAX_CARDS)

    def _store(self, charge: SimCharge) -> None:
        while len(self.charges) >= MAX_CHARGES:
            oldest = self.charges.pop(next(iter(self.charges)))
            self._by_order_ref.pop(oldest.order_ref, None)
        self.charges[charge.charge_id] = charge
        self._by_order_ref[charge.order_ref] = charge.charge_id

    async def _capture(self, charge: SimCharge) -> None:
        await asyncio.sleep(processing_delay_s(charge.magic, self.time_scale))
        charge.state = ChargeState.CAPTURED
        await self.sender.send(charge.notify_url, functools.partial(self._render, charge),
                               final_state=ChargeState.CAPTURED.value, stale_state=ChargeState.HOLD.value,
                               magic=charge.magic, accepted=_accepted)

    def _render(self, charge: SimCharge, state: str, forged: bool) -> Notice:
        body = protocol.dumps(charge.public(ChargeState(state)).to_json())
        secret = self.credentials.notify_secret + ("-forged" if forged else "")
        header = protocol.signature_header(secret, int(self._clock()), body)
        return Notice(body, "application/json", ((protocol.SIGNATURE_HEADER, header),))


def _card_refusal(card: str, pin: str) -> ErrorCode | None:
    magic = magic_of(card)
    if magic is Magic.NOT_FOUND:
        return ErrorCode.CARD_NOT_FOUND
    if magic is Magic.WRONG_SECRET or not hmac.compare_digest(pin.encode(), SANDBOX_PIN.encode()):
        return ErrorCode.WRONG_PIN
    if magic is Magic.DECLINE:
        return ErrorCode.CARD_DECLINED
    return None


def _read_charge(params: Mapping[str, Any]) -> WantedCharge:
    amount, currency, notify_url = params.get("amount"), params.get("currency"), params.get("notify_url")
    if type(amount) is not int or amount <= 0:
        raise RpcFault(ErrorCode.INVALID_PARAMS, "amount must be a positive integer of kopecks")
    if currency != CURRENCY:
        raise RpcFault(ErrorCode.INVALID_PARAMS, "KreditPilot cards hold roubles only: currency must be RUB")
    if not (isinstance(notify_url, str) and notify_url.startswith(("http://", "https://"))
            and len(notify_url) <= MAX_URL_CHARS):
        raise RpcFault(ErrorCode.INVALID_PARAMS, "notify_url must be an http(s) URL")
    return WantedCharge(
        card=_param(params, "card", protocol.CARD_PATTERN), pin=_param(params, "pin", protocol.PIN_PATTERN),
        amount=amount, currency=currency,
        order_ref=_param(params, "order_ref", protocol.ORDER_REF_PATTERN.pattern), notify_url=notify_url,
    )


def _param(params: Mapping[str, Any], name: str, pattern: str) -> str:
    value = params.get(name)
    if not isinstance(value, str) or not re.fullmatch(pattern, value):
        raise RpcFault(ErrorCode.INVALID_PARAMS, f"{name} is missing or malformed")
    return value


def _bound(table: dict[str, Any], size: int) -> None:
    while len(table) > size:
        table.pop(next(iter(table)))


def _accepted(status: int, body: bytes) -> bool:
    return status == 200 and body.strip() == b"OK"


# ---- the aiohttp app ----------------------------------------------------------------------

SIMULATOR = web.AppKey("kreditpilot_simulator", Simulator)


def create_simulator_app(context: SimulatorContext, *, clock: Callable[[], float] = time.time) -> web.Application:
    app = web.Application(middlewares=[context.faults.middleware])
    simulator = Simulator(time_scale=context.time_scale, faults=context.faults, clock=clock)
    app[SIMULATOR] = simulator
    simulator.attach_to(app)
    app.router.add_post("/rpc", simulator.rpc)
    refunds.add_routes(app, simulator)
    return app
