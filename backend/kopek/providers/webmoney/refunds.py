"""WebMoney refunds, as an X-interface-style XML operation with its SHA-256 field signature.

`XMLTransRefund.asp` takes `<merchant.request>` with `wmid`, `lmi_payee_purse`,
`lmi_wminvoiceid` (the paid invoice), `kopek_refund_id` (WebMoney dedupes by it),
`lmi_refund_amount` ("2.00") and `sha256` = SHA-256 of wmid + lmi_payee_purse +
lmi_wminvoiceid + kopek_refund_id + lmi_refund_amount + secret key. The answer is a
`<merchant.response>`: retval 0 with `<operation wminvoiceid=".." wmtransid="<refund id>">`
holding `<state>` refunded | refund_failed and `<reason>`; -1 malformed, -2 bad signature,
-3 no such invoice, -5 the refund id reused for another refund.
"""

from __future__ import annotations

from typing import Any

import aiohttp
from aiohttp import web

from kopek.providers.contract import ProviderError, RefundOutcome, RefundResult
from kopek.providers.http import post
from kopek.providers.sandbox.refunds import RefundBook, RefundConflict
from kopek.providers.sandbox.statements import add_statement_route
from kopek.providers.webmoney import protocol
from kopek.providers.webmoney.protocol import SECRET, InvoiceState, Retval

ENDPOINT = "XMLTransRefund.asp"
SIGNED = ("wmid", "lmi_payee_purse", "lmi_wminvoiceid", "kopek_refund_id", "lmi_refund_amount", SECRET)


# ---- the connector's side -------------------------------------------------------------------

async def refund(http: aiohttp.ClientSession, base_url: str, creds: protocol.MerchantCredentials, timeout_s: float,
                 *, provider_ref: str, refund_id: str, amount: int, currency: str) -> RefundResult:
    purse, invoice_id = protocol.split_provider_ref(provider_ref)
    fields = {"wmid": creds.wmid, "lmi_payee_purse": purse, "lmi_wminvoiceid": invoice_id,
              "kopek_refund_id": refund_id, "lmi_refund_amount": protocol.format_amount(amount, currency)}
    fields["sha256"] = protocol.compute_hash(fields, SIGNED, creds.secret_key)
    status, answer = await post(http, f"{base_url}/{ENDPOINT}", protocol.to_xml("merchant.request", fields),
                                content_type="text/xml; charset=utf-8", timeout_s=timeout_s)
    if not 200 <= status < 300:
        raise ProviderError(f"WebMoney {ENDPOINT} answered HTTP {status}")
    root = protocol.parse_xml(answer, "merchant.response")
    retval, operation = root.findtext("retval", "").strip(), root.find("operation")
    if retval != "0" or operation is None or operation.get("wminvoiceid") != invoice_id:
        raise ProviderError(f"WebMoney {ENDPOINT} refused the refund: retval {retval[:10]!r}")
    state, refund_ref = operation.findtext("state", "").strip(), operation.get("wmtransid", "")
    if state == "refunded":
        return RefundResult(RefundOutcome.SUCCEEDED, refund_ref)
    if state == "refund_failed":
        return RefundResult(RefundOutcome.FAILED, refund_ref, operation.findtext("reason", "").strip()[:40])
    raise ProviderError(f"WebMoney {ENDPOINT} answered an unknown state")


# ---- the simulator's side -------------------------------------------------------------------

def add_routes(app: web.Application, simulator: Any) -> None:
    book = RefundBook("")
    simulator.refund_book = book

    async def handle(request: web.Request) -> web.Response:
        try:
            fields = protocol.read_request(await request.read())
        except ProviderError as exc:
            return _answer(protocol.response_xml(Retval.BAD_REQUEST, retdesc=str(exc)))
        creds = simulator.credentials
        if fields.get("wmid") != creds.wmid or not protocol.hash_matches(fields, SIGNED, creds.secret_key,
                                                                          fields.get("sha256", "")):
            return _answer(protocol.response_xml(Retval.BAD_SIGNATURE, retdesc="signature check failed"))
        invoice = simulator.invoices.get(fields["lmi_wminvoiceid"])
        if invoice is None or invoice.purse != fields["lmi_payee_purse"]:
            return _answer(protocol.response_xml(Retval.INVOICE_NOT_FOUND, retdesc="invoice not found"))
        try:
            made = book.refund(operation_ref=invoice.invoice_id, operation_amount=protocol.parse_amount(invoice.amount),
                               operation_succeeded=invoice.state is InvoiceState.PAID,
                               refund_id=fields["kopek_refund_id"],
                               amount=protocol.parse_amount(fields["lmi_refund_amount"]))
        except ValueError:
            return _answer(protocol.response_xml(Retval.BAD_AMOUNT, retdesc="amount is malformed"))
        except RefundConflict:
            return _answer(protocol.response_xml(Retval.DUPLICATE_PAYMENT_NO, retdesc="refund id already used"))
        details = {"state": "refunded" if made.succeeded else "refund_failed",
                   "reason": "" if made.succeeded else made.result}
        return _answer(protocol.response_xml(Retval.OK, invoice_id=invoice.invoice_id,
                                             trans_id=made.refund_ref, details=details))

    app.router.add_post("/" + ENDPOINT, handle)
    add_statement_route(app, "webmoney", lambda: [
        (protocol.provider_ref(i.purse, i.invoice_id), protocol.parse_amount(i.amount))
        for i in simulator.invoices.values() if i.state is InvoiceState.PAID], lambda: book)


def _answer(body: bytes) -> web.Response:
    return web.Response(body=body, content_type="text/xml", charset="utf-8")
