"""A fake WebMoney X20 server for sandbox mode, mounted at /sandbox/providers/webmoney/.

Routes (relative to the mount): `POST /XMLTransRequest.asp`, `POST /XMLTransConfirm.asp`,
`POST /XMLTransResend.asp` and `POST /XMLTransGet.asp`, speaking the XML of protocol.py with
the sandbox credentials (`protocol.SANDBOX_CREDENTIALS`); a request with a wrong signature
gets retval -2. Invoices live in memory (at most 10,000; the oldest are forgotten first).
The shared fault injector (`SimulatorContext.faults`) adds latency and 503s to every route.

XMLTransRequest "texts" a random 6-digit code to the shopper through the sandbox phone. It
is idempotent by purse + lmi_payment_no: a repeat answers the same invoice and texts
nothing. XMLTransResend texts the same code again, at most 3 times per invoice. After the
right code the invoice processes for a while, then the simulator POSTs the signed Result
URL notification (form-encoded) to the `kopek_result_url` given with the request, through
the sandbox's CallbackSender (retried until "YES"). Each invoice allows 3 code tries: the
first two wrong codes answer "wrong code", the third answers "attempts exhausted".

Magic wallets: the last two digits of the account (WMID, purse or phone alike) choose the
outcome, as in `kopek.providers.sandbox.magic` (delays × the sandbox time scale):

| Ending | Result |
|--------|--------|
| `01` (and any ending not listed) | Succeeds: the notification reports `paid` after 1 s |
| `02` | Declined at confirm (`declined`); a notification reports it too |
| `03` | Insufficient funds: confirm is accepted, the notification reports `insufficient_funds` |
| `04` | Slow: succeeds after 120 s |
| `05` | Every code is wrong; the third try exhausts the invoice (`code_attempts_exceeded`) |
| `06` | Flaky: the first 2 XMLTransRequest calls for an lmi_payment_no answer HTTP 503 |
| `07` | Timeout: XMLTransRequest stalls until the simulator shuts down |
| `08` | Succeeds; the notification is sent twice at once |
| `09` | Wallet not found at start (`wallet_not_found`) |
| `10` | Succeeds; a stale `processing` notification follows the final one |
| `11` | Never answers: an invoice, but no code is ever texted and nothing notified (`awaiting_code`) |
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import itertools
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from aiohttp import web

from kopek.providers.contract import ProviderError
from kopek.providers.plugin import SimulatorContext
from kopek.providers.sandbox.callbacks import Notice
from kopek.providers.sandbox.magic import Magic, example_accounts, magic_of, processing_delay_s
from kopek.providers.sandbox.runtime import FlakyCounter, SimulatorRuntime
from kopek.providers.webmoney import protocol, refunds
from kopek.providers.webmoney.protocol import InvoiceState, Retval

log = logging.getLogger(__name__)

WALLET = "webmoney"
MAX_INVOICES = 10_000
MAX_CODE_TRIES = 3
NO_CODE_TEXTED = (Magic.NEVER_ANSWERS,)
NO_CODE_IS_RIGHT = (Magic.WRONG_SECRET, Magic.NEVER_ANSWERS)


def example_account(ending: str) -> str:
    """An example magic purse for the sandbox page, e.g. "01" -> "R100000000001"."""
    return f"R1000000000{ending}"


MAGIC_ACCOUNTS: list[dict[str, str]] = example_accounts(example_account)


@dataclass
class Invoice:
    invoice_id: str
    purse: str
    payment_no: str
    payment_id: str
    amount: str          # as the request sent it, e.g. "5.00"
    currency: str
    description: str
    account: str         # lmi_clientnumber
    result_url: str
    code: str
    magic: Magic
    state: InvoiceState = InvoiceState.AWAITING_CODE
    code_tries: int = 0
    resends: int = 0
    trans_id: str = "0"

    def repeats(self, fields: dict[str, str]) -> bool:
        """Is this XMLTransRequest a retry of the one that created the invoice?"""
        return (fields.get("lmi_payment_amount"), fields.get("lmi_clientnumber"), fields.get("kopek_payment_id", "")
                ) == (self.amount, self.account, self.payment_id)


class _Refusal(Exception):
    def __init__(self, retval: Retval, desc: str) -> None:
        super().__init__(desc)
        self.retval = retval
        self.desc = desc


class _Unavailable(Exception):
    """Answered with HTTP 503 instead of XML."""


class Simulator(SimulatorRuntime):
    def __init__(self, context: SimulatorContext) -> None:
        super().__init__(context.faults, context.time_scale, wallet=WALLET, log=log)
        self.phone = context.phone
        self.credentials = protocol.SANDBOX_CREDENTIALS
        self.invoices: dict[str, Invoice] = {}
        self._by_payment_no: dict[tuple[str, str], str] = {}
        self._flaky_failures = FlakyCounter(MAX_INVOICES)   # (purse, lmi_payment_no) -> 503s sent
        self._ids = itertools.count(100_000_000 + secrets.randbelow(100_000_000))

    # ---- the operations; each returns the response XML ----

    async def trans_request(self, fields: dict[str, str]) -> bytes:
        self._check_signature(fields, protocol.TRANS_REQUEST_SIGNED)
        existing = self._existing(fields)
        if existing is not None:
            return _created(existing)
        invoice = self._new_invoice(fields)
        if invoice.magic is Magic.TIMEOUT:
            await self.stall.wait()
            raise _Unavailable("the sandbox provider is shutting down")
        if invoice.magic is Magic.FLAKY and self._flaky_failures.fail_next((invoice.purse, invoice.payment_no)):
            raise _Unavailable("sandbox: a flaky wallet")
        if invoice.magic is Magic.NOT_FOUND:
            return protocol.response_xml(Retval.CLIENT_NOT_FOUND, retdesc="client not found",
                                         userdesc="No WebMoney wallet found for this WMID, purse or phone")
        self._store(invoice)
        self._text_code(invoice)
        return _created(invoice)

    async def trans_confirm(self, fields: dict[str, str]) -> bytes:
        self._check_signature(fields, protocol.TRANS_CONFIRM_SIGNED)
        invoice = self._find(fields["lmi_payee_purse"], fields["lmi_wminvoiceid"])
        if invoice.state is InvoiceState.ATTEMPTS_EXCEEDED:
            raise _Refusal(Retval.ATTEMPTS_EXHAUSTED, "code attempts exhausted")
        if invoice.state is not InvoiceState.AWAITING_CODE:
            raise _Refusal(Retval.NOT_AWAITING_CODE, "invoice is not awaiting a code")
        invoice.code_tries += 1
        if not _code_is_right(invoice, fields["lmi_clientnumber_code"]):
            return _wrong_code(invoice)
        return self._accept(invoice)

    async def trans_resend(self, fields: dict[str, str]) -> bytes:
        self._check_signature(fields, protocol.TRANS_RESEND_SIGNED)
        invoice = self._find(fields["lmi_payee_purse"], fields["lmi_wminvoiceid"])
        if invoice.state is not InvoiceState.AWAITING_CODE:
            raise _Refusal(Retval.NOT_AWAITING_CODE, "invoice is not awaiting a code")
        if invoice.resends >= protocol.MAX_RESENDS:
            raise _Refusal(Retval.RESENDS_EXHAUSTED, f"the code was already resent {protocol.MAX_RESENDS} times")
        invoice.resends += 1
        self._text_code(invoice)
        return protocol.response_xml(Retval.OK, invoice_id=invoice.invoice_id,
                                     details={"realsmstype": protocol.SMS_TYPE_SMS})

    async def trans_get(self, fields: dict[str, str]) -> bytes:
        self._check_signature(fields, protocol.TRANS_GET_SIGNED)
        if fields.get("lmi_payment_no_type") != protocol.PAYMENT_NO_TYPE_INVOICE:
            raise _Refusal(Retval.BAD_REQUEST, "only lmi_payment_no_type 1 (wminvoiceid) is supported")
        invoice = self._find(fields["lmi_payee_purse"], fields["lmi_payment_no"])
        return protocol.response_xml(
            Retval.OK, invoice_id=invoice.invoice_id, trans_id=invoice.trans_id,
            details={"state": invoice.state.value, "amount": invoice.amount},
        )

    # ---- helpers ----

    def _check_signature(self, fields: dict[str, str], order: tuple[str | None, ...]) -> None:
        """After this, every signed field is present."""
        ours = fields.get("wmid") == self.credentials.wmid
        purse_known = self.credentials.currency_of(fields.get("lmi_payee_purse", "")) is not None
        signed = protocol.hash_matches(fields, order, self.credentials.secret_key, fields.get("sha256", ""))
        if not (ours and purse_known and signed):
            raise _Refusal(Retval.BAD_SIGNATURE, "signature check failed")

    def _existing(self, fields: dict[str, str]) -> Invoice | None:
        invoice_id = self._by_payment_no.get((fields["lmi_payee_purse"], fields["lmi_payment_no"]))
        if invoice_id is None:
            return None
        invoice = self.invoices[invoice_id]
        if not invoice.repeats(fields):
            raise _Refusal(Retval.DUPLICATE_PAYMENT_NO, "lmi_payment_no already used for another payment")
        return invoice

    def _new_invoice(self, fields: dict[str, str]) -> Invoice:
        purse, payment_no = fields["lmi_payee_purse"], fields["lmi_payment_no"]
        if not protocol.PAYMENT_NO_PATTERN.fullmatch(payment_no):
            raise _Refusal(Retval.BAD_REQUEST, "lmi_payment_no is malformed")
        result_url = fields.get("kopek_result_url", "")
        if result_url and not result_url.startswith(("http://", "https://")):
            raise _Refusal(Retval.BAD_REQUEST, "kopek_result_url must be an http(s) URL")
        amount = fields.get("lmi_payment_amount", "")
        if not protocol.AMOUNT_PATTERN.fullmatch(amount) or protocol.parse_amount(amount) == 0:
            raise _Refusal(Retval.BAD_AMOUNT, "amount is malformed")
        account = _client_account(fields)
        return Invoice(
            invoice_id=str(next(self._ids)), purse=purse, payment_no=payment_no,
            payment_id=fields.get("kopek_payment_id", ""), amount=amount,
            currency=protocol.PURSE_CURRENCIES[purse[0]],
            description=fields.get("lmi_payment_desc", ""), account=account, result_url=result_url,
            code=f"{secrets.randbelow(1_000_000):06d}", magic=magic_of(account),
        )

    def _store(self, invoice: Invoice) -> None:
        while len(self.invoices) >= MAX_INVOICES:
            oldest = self.invoices.pop(next(iter(self.invoices)))
            self._by_payment_no.pop((oldest.purse, oldest.payment_no), None)
        self.invoices[invoice.invoice_id] = invoice
        self._by_payment_no[(invoice.purse, invoice.payment_no)] = invoice.invoice_id

    def _find(self, purse: str, invoice_id: str) -> Invoice:
        invoice = self.invoices.get(invoice_id)
        if invoice is None or invoice.purse != purse:
            raise _Refusal(Retval.INVOICE_NOT_FOUND, "invoice not found")
        return invoice

    def _text_code(self, invoice: Invoice) -> None:
        if invoice.magic in NO_CODE_TEXTED:
            return
        self.phone.send(
            wallet=WALLET, to=invoice.account, code=invoice.code, payment_id=invoice.payment_id,
            text=f"WebMoney: code {invoice.code} for payment of {invoice.amount} {invoice.currency}",
        )

    def _accept(self, invoice: Invoice) -> bytes:
        if invoice.magic is Magic.DECLINE:
            invoice.state = InvoiceState.DECLINED
            self._spawn(self._notify(invoice))
            return protocol.response_xml(Retval.PAYMENT_DECLINED, retdesc="payment declined",
                                         userdesc="WebMoney declined the payment", invoice_id=invoice.invoice_id)
        invoice.state = InvoiceState.PROCESSING
        self._spawn(self._settle(invoice, processing_delay_s(invoice.magic, self.time_scale)))
        return protocol.response_xml(Retval.OK, invoice_id=invoice.invoice_id)

    async def _settle(self, invoice: Invoice, delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        if invoice.magic is Magic.INSUFFICIENT_FUNDS:
            invoice.state = InvoiceState.INSUFFICIENT_FUNDS
        else:
            invoice.state = InvoiceState.PAID
            invoice.trans_id = str(1_000_000_000 + secrets.randbelow(1_000_000_000))
        await self._notify(invoice)

    async def _notify(self, invoice: Invoice) -> None:
        if not invoice.result_url:
            return
        await self.sender.send(
            invoice.result_url, functools.partial(self._render, invoice), final_state=invoice.state.value,
            stale_state=InvoiceState.PROCESSING.value, magic=invoice.magic, accepted=_said_yes,
        )

    def _render(self, invoice: Invoice, state: str, forged: bool) -> Notice:
        """The signed Result URL form for `state`; a forged one carries a hash under another secret."""
        payer_wm = re.sub(r"[^0-9]", "", invoice.account)[-12:].rjust(12, "0")
        fields = protocol.notification_fields(
            self.credentials, purse=invoice.purse, amount=invoice.amount, payment_no=invoice.payment_no,
            invoice_id=invoice.invoice_id, trans_id=invoice.trans_id,
            trans_date=time.strftime("%Y%m%d %H:%M:%S", time.gmtime()),
            payer_purse=invoice.purse[0] + payer_wm, payer_wm=payer_wm,
            state=state, description=invoice.description,
        )
        if forged:
            fields["LMI_HASH"] = protocol.compute_hash(fields, protocol.NOTIFICATION_SIGNED, "forged by the sandbox")
        return Notice(body=urlencode(fields).encode(), content_type="application/x-www-form-urlencoded")


def _created(invoice: Invoice) -> bytes:
    return protocol.response_xml(Retval.OK, invoice_id=invoice.invoice_id,
                                 details={"realsmstype": protocol.SMS_TYPE_SMS})


def _code_is_right(invoice: Invoice, code: str) -> bool:
    right = hmac.compare_digest(invoice.code.encode(), code.encode("utf-8"))
    return right and invoice.magic not in NO_CODE_IS_RIGHT


def _wrong_code(invoice: Invoice) -> bytes:
    if invoice.code_tries >= MAX_CODE_TRIES:
        invoice.state = InvoiceState.ATTEMPTS_EXCEEDED
        return protocol.response_xml(Retval.ATTEMPTS_EXHAUSTED, retdesc="code attempts exhausted",
                                     userdesc="Too many wrong codes", invoice_id=invoice.invoice_id)
    return protocol.response_xml(Retval.WRONG_CODE, retdesc="wrong code",
                                 userdesc="The code is wrong", invoice_id=invoice.invoice_id)


def _said_yes(status: int, body: bytes) -> bool:
    return status == 200 and body.strip() == b"YES"


def _client_account(fields: dict[str, str]) -> str:
    account, kind = fields.get("lmi_clientnumber", ""), fields.get("lmi_clientnumber_type", "")
    expected = {
        str(int(protocol.ClientNumberType.PHONE)): re.compile(r"7[0-9]{10}"),
        str(int(protocol.ClientNumberType.WMID)): protocol.WMID_PATTERN,
        str(int(protocol.ClientNumberType.PURSE)): protocol.PURSE_PATTERN,
    }.get(kind)
    if expected is None or not expected.fullmatch(account):
        raise _Refusal(Retval.BAD_REQUEST, "lmi_clientnumber does not match lmi_clientnumber_type")
    return account


# ---- the aiohttp app ----------------------------------------------------------------------

SIMULATOR = web.AppKey("webmoney_simulator", Simulator)

Operation = Callable[[Simulator, dict[str, str]], Awaitable[bytes]]

_OPERATIONS: dict[str, Operation] = {
    "/XMLTransRequest.asp": Simulator.trans_request,
    "/XMLTransConfirm.asp": Simulator.trans_confirm,
    "/XMLTransResend.asp": Simulator.trans_resend,
    "/XMLTransGet.asp": Simulator.trans_get,
}


def create_simulator_app(context: SimulatorContext) -> web.Application:
    app = web.Application(middlewares=[context.faults.middleware])
    simulator = Simulator(context)
    app[SIMULATOR] = simulator
    simulator.attach_to(app)
    for path, operation in _OPERATIONS.items():
        app.router.add_post(path, _handler(simulator, operation))
    refunds.add_routes(app, simulator)
    return app


def _handler(simulator: Simulator, operation: Operation) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        try:
            answer = await operation(simulator, protocol.read_request(await request.read()))
        except ProviderError as exc:  # unparseable XML
            answer = protocol.response_xml(Retval.BAD_REQUEST, retdesc=str(exc))
        except _Refusal as refusal:
            answer = protocol.response_xml(refusal.retval, retdesc=refusal.desc)
        except _Unavailable as exc:
            return web.Response(status=503, text=str(exc))
        return web.Response(body=answer, content_type="text/xml", charset="utf-8")

    return handle
