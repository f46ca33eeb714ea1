"""A fake WebMoney X20 server for sandbox mode, mounted at /sandbox/providers/webmoney/.

Routes (relative to the mount): `POST /XMLTransRequest.asp`, `POST /XMLTransConfirm.asp`
and `POST /XMLTransGet.asp`, speaking the XML of protocol.py with the sandbox credentials
(`protocol.SANDBOX_CREDENTIALS`); a request with a wrong signature gets retval -2.
Invoices live in memory (at most 10,000; the oldest are forgotten first).

XMLTransRequest "texts" a random 6-digit code to the shopper through the sandbox phone.
After the right code the invoice processes for a while, then the simulator POSTs the
signed Result URL notification (form-encoded) to the `kopek_result_url` given with the
request, retrying up to 3 times until it gets "YES". Each invoice allows 3 code tries:
the first two wrong codes answer "wrong code", the third answers "attempts exhausted".

Magic wallets, chosen by the last two digits of the account (WMID, purse or phone alike):

| Ending | Result |
|--------|--------|
| `01` (and any ending not listed) | Succeeds: a notification reports the payment paid after 1 s × time scale |
| `02` | Declined at confirm (failure `declined`); a notification reports the failure too |
| `03` | Insufficient funds: confirm is accepted, then the notification reports `insufficient_funds` after 1 s × time scale |
| `04` | Slow: succeeds after 120 s × time scale |
| `05` | Every code is wrong; the third try exhausts the invoice (`code_attempts_exceeded`) |
| `09` | Wallet not found at start (`wallet_not_found`) |

Faults for tests live in `app[FAULTS]` (a mutable `SimulatorFaults`): set
`duplicate_callbacks = True` to have every notification sent twice.
"""

from __future__ import annotations

import asyncio
import enum
import hmac
import itertools
import logging
import re
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from kopek.providers.contract import ProviderError
from kopek.providers.sandbox.phone import SandboxPhone
from kopek.providers.webmoney import protocol
from kopek.providers.webmoney.protocol import InvoiceState, Retval

log = logging.getLogger(__name__)

MAX_INVOICES = 10_000
MAX_CODE_TRIES = 3
PROCESSING_DELAY_S = 1.0
SLOW_DELAY_S = 120.0
NOTIFY_TRIES = 3
NOTIFY_RETRY_DELAY_S = 5.0
NOTIFY_TIMEOUT_S = 10.0


class Magic(enum.Enum):
    SUCCEED = "succeed"
    DECLINE = "decline"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    SLOW = "slow"
    WRONG_CODE = "wrong_code"
    NOT_FOUND = "not_found"


MAGIC_ENDINGS = {
    "01": Magic.SUCCEED,
    "02": Magic.DECLINE,
    "03": Magic.INSUFFICIENT_FUNDS,
    "04": Magic.SLOW,
    "05": Magic.WRONG_CODE,
    "09": Magic.NOT_FOUND,
}


def magic_of(account: str) -> Magic:
    return MAGIC_ENDINGS.get(account[-2:], Magic.SUCCEED)


@dataclass(frozen=True)
class MagicAccount:
    """One row of the magic-wallet table, for the sandbox page."""

    account: str          # an example account to type
    ending: str
    result_en: str
    result_ru: str


MAGIC_ACCOUNTS: tuple[MagicAccount, ...] = (
    MagicAccount("R100000000001", "01", "Succeeds after a second", "Успешная оплата через секунду"),
    MagicAccount("R100000000002", "02", "Declined after the code", "Отказ после ввода кода"),
    MagicAccount("R100000000003", "03", "Insufficient funds", "Недостаточно средств"),
    MagicAccount("R100000000004", "04", "Slow: succeeds after two minutes", "Медленно: успех через две минуты"),
    MagicAccount("R100000000005", "05", "Every code is wrong", "Любой код неверен"),
    MagicAccount("R100000000009", "09", "Wallet not found", "Кошелёк не найден"),
)


@dataclass
class SimulatorFaults:
    duplicate_callbacks: bool = False


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
    trans_id: str = "0"


class _Refusal(Exception):
    def __init__(self, retval: Retval, desc: str) -> None:
        super().__init__(desc)
        self.retval = retval
        self.desc = desc


class Simulator:
    def __init__(self, *, phone: SandboxPhone, time_scale: float) -> None:
        self.phone = phone
        self.time_scale = time_scale
        self.faults = SimulatorFaults()
        self.credentials = protocol.SANDBOX_CREDENTIALS
        self.invoices: dict[str, Invoice] = {}
        self._by_payment_no: dict[tuple[str, str], str] = {}
        self._ids = itertools.count(100_000_000 + secrets.randbelow(100_000_000))
        self._tasks: set[asyncio.Task[None]] = set()
        self._http: aiohttp.ClientSession | None = None

    # ---- lifecycle ----

    async def open(self) -> None:
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=NOTIFY_TIMEOUT_S))

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._http is not None:
            await self._http.close()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("webmoney sandbox: background task failed", exc_info=task.exception())

    # ---- the three operations; each returns the response XML ----

    def trans_request(self, fields: dict[str, str]) -> bytes:
        self._check_signature(fields, protocol.TRANS_REQUEST_SIGNED)
        invoice = self._new_invoice(fields)
        if invoice.magic is Magic.NOT_FOUND:
            return protocol.response_xml(Retval.CLIENT_NOT_FOUND, retdesc="client not found",
                                         userdesc="No WebMoney wallet found for this WMID, purse or phone")
        self._store(invoice)
        self.phone.send(
            wallet="webmoney", to=invoice.account, code=invoice.code, payment_id=invoice.payment_id,
            text=f"WebMoney: code {invoice.code} for payment of {invoice.amount} {invoice.currency}",
        )
        return protocol.response_xml(Retval.OK, invoice_id=invoice.invoice_id,
                                     details={"realsmstype": protocol.SMS_TYPE_SMS})

    def trans_confirm(self, fields: dict[str, str]) -> bytes:
        self._check_signature(fields, protocol.TRANS_CONFIRM_SIGNED)
        invoice = self._find(fields["lmi_payee_purse"], fields["lmi_wminvoiceid"])
        if invoice.state is InvoiceState.ATTEMPTS_EXCEEDED:
            raise _Refusal(Retval.ATTEMPTS_EXHAUSTED, "code attempts exhausted")
        if invoice.state is not InvoiceState.AWAITING_CODE:
            raise _Refusal(Retval.NOT_AWAITING_CODE, "invoice is not awaiting a code")
        invoice.code_tries += 1
        if not self._code_is_right(invoice, fields.get("lmi_clientnumber_code", "")):
            return self._wrong_code(invoice)
        return self._accept(invoice)

    def trans_get(self, fields: dict[str, str]) -> bytes:
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
        ours = fields.get("wmid") == self.credentials.wmid
        purse_known = self.credentials.currency_of(fields.get("lmi_payee_purse", "")) is not None
        signed = protocol.hash_matches(fields, order, self.credentials.secret_key, fields.get("sha256", ""))
        if not (ours and purse_known and signed):
            raise _Refusal(Retval.BAD_SIGNATURE, "signature check failed")

    def _new_invoice(self, fields: dict[str, str]) -> Invoice:
        purse, payment_no = fields["lmi_payee_purse"], fields["lmi_payment_no"]
        if not protocol.PAYMENT_NO_PATTERN.fullmatch(payment_no):
            raise _Refusal(Retval.BAD_REQUEST, "lmi_payment_no is malformed")
        if (purse, payment_no) in self._by_payment_no:
            raise _Refusal(Retval.DUPLICATE_PAYMENT_NO, "lmi_payment_no already used")
        result_url = fields.get("kopek_result_url", "")
        if result_url and not result_url.startswith(("http://", "https://")):
            raise _Refusal(Retval.BAD_REQUEST, "kopek_result_url must be an http(s) URL")
        amount = fields.get("lmi_payment_amount", "")
        if not protocol.AMOUNT_PATTERN.fullmatch(amount) or protocol.parse_amount(amount) == 0:
            raise _Refusal(Retval.BAD_AMOUNT, "amount is malformed")
        return Invoice(
            invoice_id=str(next(self._ids)), purse=purse, payment_no=payment_no,
            payment_id=fields.get("kopek_payment_id", ""), amount=amount,
            currency=protocol.PURSE_CURRENCIES[purse[0]],
            description=fields.get("lmi_payment_desc", ""),
            account=_client_account(fields), result_url=result_url,
            code=f"{secrets.randbelow(1_000_000):06d}", magic=magic_of(fields["lmi_clientnumber"]),
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

    @staticmethod
    def _code_is_right(invoice: Invoice, code: str) -> bool:
        right = hmac.compare_digest(invoice.code.encode(), code.encode("utf-8"))
        return right and invoice.magic is not Magic.WRONG_CODE

    def _wrong_code(self, invoice: Invoice) -> bytes:
        if invoice.code_tries >= MAX_CODE_TRIES:
            invoice.state = InvoiceState.ATTEMPTS_EXCEEDED
            return protocol.response_xml(Retval.ATTEMPTS_EXHAUSTED, retdesc="code attempts exhausted",
                                         userdesc="Too many wrong codes", invoice_id=invoice.invoice_id)
        return protocol.response_xml(Retval.WRONG_CODE, retdesc="wrong code",
                                     userdesc="The code is wrong", invoice_id=invoice.invoice_id)

    def _accept(self, invoice: Invoice) -> bytes:
        if invoice.magic is Magic.DECLINE:
            invoice.state = InvoiceState.DECLINED
            self._spawn(self._notify(invoice))
            return protocol.response_xml(Retval.PAYMENT_DECLINED, retdesc="payment declined",
                                         userdesc="WebMoney declined the payment", invoice_id=invoice.invoice_id)
        invoice.state = InvoiceState.PROCESSING
        delay_s = SLOW_DELAY_S if invoice.magic is Magic.SLOW else PROCESSING_DELAY_S
        self._spawn(self._settle(invoice, delay_s * self.time_scale))
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
        fields = self._notification(invoice)
        for _ in range(2 if self.faults.duplicate_callbacks else 1):
            await self._deliver(invoice.result_url, fields)

    def _notification(self, invoice: Invoice) -> dict[str, str]:
        payer_wm = re.sub(r"[^0-9]", "", invoice.account)[-12:].rjust(12, "0")
        return protocol.notification_fields(
            self.credentials, purse=invoice.purse, amount=invoice.amount, payment_no=invoice.payment_no,
            invoice_id=invoice.invoice_id, trans_id=invoice.trans_id,
            trans_date=time.strftime("%Y%m%d %H:%M:%S", time.gmtime()),
            payer_purse=invoice.purse[0] + payer_wm, payer_wm=payer_wm,
            state=invoice.state.value, description=invoice.description,
        )

    async def _deliver(self, url: str, fields: dict[str, str]) -> None:
        assert self._http is not None, "the simulator app has not started"
        for attempt in range(1, NOTIFY_TRIES + 1):
            try:
                async with self._http.post(url, data=fields) as resp:
                    if resp.status == 200 and (await resp.read()).strip() == b"YES":
                        return
                    log.info("webmoney sandbox: Result URL answered HTTP %s (try %s)", resp.status, attempt)
            except (aiohttp.ClientError, TimeoutError) as exc:
                log.info("webmoney sandbox: Result URL failed: %s (try %s)", exc, attempt)
            if attempt < NOTIFY_TRIES:
                await asyncio.sleep(NOTIFY_RETRY_DELAY_S * self.time_scale)


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
FAULTS = web.AppKey("webmoney_simulator_faults", SimulatorFaults)

_OPERATIONS = {
    "/XMLTransRequest.asp": Simulator.trans_request,
    "/XMLTransConfirm.asp": Simulator.trans_confirm,
    "/XMLTransGet.asp": Simulator.trans_get,
}


def create_simulator_app(*, phone: SandboxPhone, time_scale: float) -> web.Application:
    app = web.Application()
    simulator = Simulator(phone=phone, time_scale=time_scale)
    app[SIMULATOR] = simulator
    app[FAULTS] = simulator.faults
    app.cleanup_ctx.append(_lifecycle)
    for path, operation in _OPERATIONS.items():
        app.router.add_post(path, _handler(simulator, operation))
    return app


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    await app[SIMULATOR].open()
    yield
    await app[SIMULATOR].close()


Operation = Callable[[Simulator, dict[str, str]], bytes]


def _handler(simulator: Simulator, operation: Operation) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        try:
            answer = operation(simulator, protocol.read_request(await request.read()))
        except ProviderError as exc:  # unparseable XML
            answer = protocol.response_xml(Retval.BAD_REQUEST, retdesc=str(exc))
        except _Refusal as refusal:
            answer = protocol.response_xml(refusal.retval, retdesc=refusal.desc)
        return web.Response(body=answer, content_type="text/xml", charset="utf-8")

    return handle
