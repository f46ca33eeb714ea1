"""The Yandex.Dengi sandbox simulator: request-payment, process-payment, the approval page
(ext_auth) and the HTTP notifications, all in memory.

Magic wallets (the last two digits of the shopper's wallet, see sandbox/magic.py):

| Ending | Outcome |
|--------|---------|
| `01` | Approve: in_progress for 1 s × time scale, then success and a notification |
| `02` | Approve: refused at once (`payment_refused` → declined), with a notification |
| `03` | Approve: in_progress, then refused (`not_enough_funds` → insufficient_funds) |
| `04` | Approve: in_progress for 120 s × time scale, then success |
| `05` | No codes in this wallet: the approval is refused at once (`authorization_reject`) |
| `06` | The first two requests for the operation answer HTTP 503, then it works |
| `07` | request-payment never answers in time (released when the simulator shuts down) |
| `08` | Success; the notification is sent twice at once |
| `09` | request-payment refused: `sender_not_found` (→ wallet_not_found) |
| `10` | Success; a stale `in_progress` notification follows the final one |
| `11` | The approval is accepted but nothing happens: ext_auth_required forever |

Decline on the approval page is always `authorization_reject` (→ declined), with a notification.
"""

from __future__ import annotations

import asyncio
import enum
import functools
import hmac
import itertools
import logging
import math
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from yarl import URL

from kopek.providers.sandbox.callbacks import Notice
from kopek.providers.sandbox.faults import FaultInjector, FaultSettings, current_workspace, within_workspace
from kopek.providers.sandbox.magic import FLAKY_FAILURES, Magic, magic_of, processing_delay_s
from kopek.providers.sandbox.phone import SandboxPhone
from kopek.providers.sandbox.runtime import SimulatorRuntime
from kopek.providers.yandex_dengi import pages, protocol
from kopek.providers.yandex_dengi import refunds
from kopek.providers.yandex_dengi.protocol import Error, Status

log = logging.getLogger(__name__)

MAX_OPERATIONS = 10_000
MIN_NEXT_RETRY_MS = 100
MAX_NEXT_RETRY_MS = 5_000


class OpState(str, enum.Enum):
    CREATED = "created"                        # after request-payment
    AWAITING_APPROVAL = "awaiting_approval"    # process-payment said ext_auth_required
    IN_PROGRESS = "in_progress"                # approved; settling
    SUCCESS = "success"
    REFUSED = "refused"


AWAITING = (OpState.CREATED, OpState.AWAITING_APPROVAL)


@dataclass
class Operation:
    request_id: str
    label: str              # Kopek's attempt id
    payment_id: str         # Kopek's payment id
    amount: str             # "5.00"
    payee: str
    sender: str             # the shopper's wallet
    description: str
    callback_url: str
    magic: Magic
    token: str              # the approval form's anti-forgery token
    operation_id: str
    state: OpState = OpState.CREATED
    error: str = ""
    flaky_left: int = 0
    settles_at: float = 0.0  # loop time when in_progress ends
    finished_at: str = ""    # the notification's datetime
    currency: str = "RUB"
    # The sandbox workspace of Kopek's request that made it: the shopper's approval, which comes
    # from their browser, settles and notifies within it (its faults, no one else's).
    workspace: str | None = field(default_factory=current_workspace)

    def same_request(self, fields: dict[str, str]) -> bool:
        return (fields["amount"], fields["to"], fields["sender"], fields.get("kopek_callback_url", "")) == (
            self.amount, self.payee, self.sender, self.callback_url)


def _refused(error: Error) -> web.Response:
    return web.json_response(protocol.answer_json(Status.REFUSED.value, error=error.value))


def _unavailable() -> web.Response:
    return web.Response(status=503, text="sandbox: service unavailable")


class Simulator(SimulatorRuntime):
    def __init__(self, *, time_scale: float, faults: FaultInjector) -> None:
        super().__init__(faults, time_scale, wallet="yandex_dengi", log=log)
        self.credentials = protocol.SANDBOX_CREDENTIALS
        self.faults = faults
        self.operations: dict[str, Operation] = {}
        self._by_label: dict[str, str] = {}
        self._ids = itertools.count(10**15 + secrets.randbelow(10**15))

    def authorised(self, header: str) -> bool:
        return hmac.compare_digest(f"Bearer {self.credentials.token}".encode(), header.encode("utf-8"))

    # ---- the API ----

    async def request_payment(self, fields: dict[str, str], url: URL) -> web.Response:
        refusal = self._check_request(fields)
        if refusal is not None:
            return _refused(refusal)
        magic = magic_of(fields["sender"])
        if magic is Magic.TIMEOUT:
            await self.stall.wait()
            return _unavailable()
        if magic is Magic.NOT_FOUND:
            return _refused(Error.SENDER_NOT_FOUND)
        known = self.operations.get(self._by_label.get(fields["label"], ""))
        if known is not None and not known.same_request(fields):
            return _refused(Error.ILLEGAL_PARAM_LABEL)
        operation = known or self._create(fields, magic)
        if operation.flaky_left:
            operation.flaky_left -= 1
            return _unavailable()
        return web.json_response(protocol.answer_json(
            Status.SUCCESS.value, request_id=operation.request_id, contract_amount=float(operation.amount),
            money_source={"wallet": {"allowed": True}}))

    async def process_payment(self, fields: dict[str, str], url: URL) -> web.Response:
        operation = self.operations.get(fields.get("request_id", ""))
        if operation is None:
            return _refused(Error.CONTRACT_NOT_FOUND)
        if operation.state is OpState.CREATED:
            operation.state = OpState.AWAITING_APPROVAL
        return web.json_response(self._status_answer(operation, str(url.join(URL("../ext_auth")))))

    def _check_request(self, fields: dict[str, str]) -> Error | None:
        callback_url = fields.get("kopek_callback_url", "")
        checks = (
            (fields.get("pattern_id") == protocol.PATTERN_P2P, Error.ILLEGAL_PARAMS),
            (protocol.WALLET_RE.fullmatch(fields.get("to", "")), Error.ILLEGAL_PARAM_TO),
            (fields.get("to") == self.credentials.wallet, Error.PAYEE_NOT_FOUND),
            (protocol.AMOUNT_RE.fullmatch(fields.get("amount", "")), Error.ILLEGAL_PARAM_AMOUNT),
            (protocol.LABEL_RE.fullmatch(fields.get("label", "")), Error.ILLEGAL_PARAM_LABEL),
            (protocol.WALLET_RE.fullmatch(fields.get("sender", "")), Error.ILLEGAL_PARAMS),
            (not callback_url or callback_url.startswith(("http://", "https://")), Error.ILLEGAL_PARAMS),
        )
        failed = next((error for ok, error in checks if not ok), None)
        if failed is None and protocol.parse_amount(fields["amount"]) == 0:
            return Error.ILLEGAL_PARAM_AMOUNT
        return failed

    def _create(self, fields: dict[str, str], magic: Magic) -> Operation:
        while len(self.operations) >= MAX_OPERATIONS:
            oldest = self.operations.pop(next(iter(self.operations)))
            self._by_label.pop(oldest.label, None)
        operation = Operation(
            request_id=f"p2p-{secrets.token_hex(12)}", label=fields["label"],
            payment_id=fields.get("kopek_payment_id", ""), amount=fields["amount"], payee=fields["to"],
            sender=fields["sender"], description=fields.get("comment", ""),
            callback_url=fields.get("kopek_callback_url", ""), magic=magic,
            token=secrets.token_urlsafe(24), operation_id=str(next(self._ids)),
            flaky_left=FLAKY_FAILURES if magic is Magic.FLAKY else 0,
        )
        self.operations[operation.request_id] = operation
        self._by_label[operation.label] = operation.request_id
        return operation

    def _status_answer(self, operation: Operation, acs_uri: str) -> dict[str, Any]:
        if operation.state is OpState.AWAITING_APPROVAL:
            return protocol.answer_json(Status.EXT_AUTH_REQUIRED.value, acs_uri=acs_uri,
                                        acs_params={"request_id": operation.request_id})
        if operation.state is OpState.IN_PROGRESS:
            return protocol.answer_json(Status.IN_PROGRESS.value, next_retry=self._next_retry_ms(operation))
        if operation.state is OpState.SUCCESS:
            return protocol.answer_json(Status.SUCCESS.value, payment_id=operation.operation_id,
                                        credit_amount=float(operation.amount), payer=operation.sender,
                                        payee=operation.payee)
        return protocol.answer_json(Status.REFUSED.value, error=operation.error)

    @staticmethod
    def _next_retry_ms(operation: Operation) -> int:
        remaining_ms = math.ceil((operation.settles_at - asyncio.get_running_loop().time()) * 1000)
        return max(MIN_NEXT_RETRY_MS, min(MAX_NEXT_RETRY_MS, remaining_ms))

    # ---- the shopper's approval page ----

    def approval_page(self, request_id: str, raw_return: str) -> web.Response:
        operation = self.operations.get(request_id)
        if operation is None:
            return pages.not_found_page()
        if operation.state not in AWAITING:
            return pages.finished_page()
        return pages.approval_page(pages.ApprovalView(
            request_id=operation.request_id, token=operation.token,
            amount=f"{operation.amount} {operation.currency}", payee=operation.payee, payer=operation.sender,
            description=operation.description, return_url=pages.safe_return_url(raw_return)))

    def decide(self, fields: dict[str, str]) -> web.Response:
        operation = self.operations.get(fields.get("request_id", ""))
        if operation is None:
            return pages.not_found_page()
        if not hmac.compare_digest(operation.token.encode(), fields.get("token", "").encode("utf-8")):
            return pages.forbidden_page()
        if operation.state not in AWAITING:
            return pages.finished_page()
        decision = fields.get("decision")
        if decision in ("approve", "decline"):
            with within_workspace(operation.workspace):
                self._decide(operation, decision)
        else:
            return pages.message_page(400, "Choose Approve or Decline", "The form was sent without a decision.",
                                      "Выберите: подтвердить или отклонить", "Форма отправлена без решения.",
                                      "no-decision")
        back = pages.safe_return_url(fields.get("return", ""))
        return pages.see_other(back) if back else pages.done_page()

    def _decide(self, operation: Operation, decision: str) -> None:
        if decision == "approve":
            self._approve(operation)
        else:
            self._finish(operation, OpState.REFUSED, Error.AUTHORIZATION_REJECT)

    def _approve(self, operation: Operation) -> None:
        if operation.magic is Magic.NEVER_ANSWERS:
            return  # accepted, and then nothing ever happens
        if operation.magic is Magic.WRONG_SECRET:
            self._finish(operation, OpState.REFUSED, Error.AUTHORIZATION_REJECT)
        elif operation.magic is Magic.DECLINE:
            self._finish(operation, OpState.REFUSED, Error.PAYMENT_REFUSED)
        else:
            delay_s = processing_delay_s(operation.magic, self.time_scale)
            operation.state = OpState.IN_PROGRESS
            operation.settles_at = asyncio.get_running_loop().time() + delay_s
            self._spawn(self._settle(operation, delay_s))

    async def _settle(self, operation: Operation, delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        if operation.magic is Magic.INSUFFICIENT_FUNDS:
            self._finish(operation, OpState.REFUSED, Error.NOT_ENOUGH_FUNDS)
        else:
            self._finish(operation, OpState.SUCCESS, None)

    def _finish(self, operation: Operation, state: OpState, error: Error | None) -> None:
        operation.state = state
        operation.error = error.value if error else ""
        operation.finished_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        if operation.callback_url:
            self._spawn(self.sender.send(
                operation.callback_url, functools.partial(self._render, operation), final_state=state.value,
                stale_state=Status.IN_PROGRESS.value, magic=operation.magic, accepted=_accepted))

    def _render(self, operation: Operation, state: str, forged: bool) -> Notice:
        secret = self.credentials.notification_secret + ("-forged" if forged else "")
        fields = protocol.notification_fields(
            secret, operation_id=operation.operation_id, amount=operation.amount, currency=operation.currency,
            datetime=operation.finished_at, sender=operation.sender, label=operation.label,
            request_id=operation.request_id, status=state,
            error=operation.error if state == Status.REFUSED.value else "")
        return Notice(protocol.encode_form(fields), protocol.FORM_CONTENT_TYPE)


def _accepted(status: int, body: bytes) -> bool:
    return status == 200


# ---- the aiohttp app ------------------------------------------------------------------------

SIMULATOR = web.AppKey("yandex_dengi_simulator", Simulator)
FAULTS = web.AppKey("yandex_dengi_simulator_faults", FaultInjector)

ApiOperation = Callable[[Simulator, dict[str, str], URL], Awaitable[web.Response]]


def create_simulator_app(*, time_scale: float, faults: FaultInjector | None = None,
                         phone: SandboxPhone | None = None) -> web.Application:
    """`phone` is accepted for symmetry with code wallets; Yandex.Dengi sends no codes."""
    faults = faults or FaultInjector(FaultSettings())
    simulator = Simulator(time_scale=time_scale, faults=faults)
    app = web.Application(middlewares=[faults.middleware])
    app[SIMULATOR] = simulator
    app[FAULTS] = faults
    simulator.attach_to(app)
    app.router.add_post("/api/request-payment", _api(simulator, Simulator.request_payment))
    app.router.add_post("/api/process-payment", _api(simulator, Simulator.process_payment))
    app.router.add_get("/ext_auth", functools.partial(_approval_page, simulator))
    app.router.add_post("/ext_auth/decision", functools.partial(_decision, simulator))
    refunds.add_routes(app, simulator)
    return app


def _api(simulator: Simulator, operation: ApiOperation) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        if not simulator.authorised(request.headers.get("Authorization", "")):
            return web.Response(status=401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        try:
            fields = protocol.read_form(await request.read())
        except ValueError:
            return web.json_response({"error": "invalid_request"}, status=400)
        return await operation(simulator, fields, request.url)

    return handle


async def _approval_page(simulator: Simulator, request: web.Request) -> web.Response:
    return simulator.approval_page(request.query.get("request_id", ""), request.query.get("return", ""))


async def _decision(simulator: Simulator, request: web.Request) -> web.Response:
    try:
        fields = protocol.read_form(await request.read())
    except ValueError:
        return pages.forbidden_page()
    return simulator.decide(fields)
