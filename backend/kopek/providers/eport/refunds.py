"""e-port refunds, in e-port's JSON + HMAC style (see protocol.py for the signing rules).

`POST /api/v1/refunds` takes `{"debit_id", "refund_reference", "amount", "currency"}`, signed
like every request. `refund_reference` is Kopek's refund id; e-port dedupes by it. The answer is
`{"result": <int>, "message": <text>, "refund": {"refund_id", "refund_reference", "debit_id",
"amount", "state": "completed" | "failed", "failure": <reason or null>}}`. Result 0 with HTTP 200
for a refund decided (completed or failed), 30/63/94 refusals as for debits.
"""

from __future__ import annotations

from typing import Any

import aiohttp
from aiohttp import web

from kopek.providers.contract import ProviderError, RefundOutcome, RefundResult
from kopek.providers.eport import protocol
from kopek.providers.eport.protocol import Result
from kopek.providers.http import post
from kopek.providers.sandbox.refunds import RefundBook, RefundConflict
from kopek.providers.sandbox.statements import add_statement_route

REFUNDS_PATH = "/api/v1/refunds"
_REFUSALS = {Result.FORMAT_ERROR, Result.SECURITY_VIOLATION, Result.REFERENCE_CONFLICT, Result.DEBIT_NOT_FOUND}


# ---- the connector's side -------------------------------------------------------------------

async def refund(http: aiohttp.ClientSession, base_url: str, creds: protocol.MerchantCredentials, timeout_s: float,
                 *, debit_id: str, refund_id: str, amount: int, currency: str) -> RefundResult:
    body = protocol.dump({"debit_id": debit_id, "refund_reference": refund_id, "amount": amount,
                          "currency": currency})
    status, answer_body = await post(http, base_url + REFUNDS_PATH, body, content_type=protocol.CONTENT_TYPE,
                                     timeout_s=timeout_s,
                                     headers=protocol.signed_headers(body, creds.merchant_id, creds.secret))
    data = protocol.load_object(answer_body, "the e-port refund answer", ProviderError)
    result, found = data.get("result"), data.get("refund")
    if result in _REFUSALS:
        raise ProviderError(f"e-port refused the refund: result {result} (HTTP {status})")
    if result != Result.ACCEPTED or not isinstance(found, dict) or found.get("refund_reference") != refund_id:
        raise ProviderError(f"e-port answered a refund with result {result!r} (HTTP {status})")
    if found.get("state") == "completed":
        return RefundResult(RefundOutcome.SUCCEEDED, str(found.get("refund_id")))
    if found.get("state") == "failed" and isinstance(found.get("failure"), str):
        return RefundResult(RefundOutcome.FAILED, str(found.get("refund_id")), found["failure"])
    raise ProviderError("e-port answered a refund in an unknown state")


# ---- the simulator's side -------------------------------------------------------------------

def add_routes(app: web.Application, simulator: Any) -> None:
    book = RefundBook("rfd_")
    simulator.refund_book = book

    async def handle(request: web.Request) -> web.Response:
        body = await request.read()
        creds = simulator.credentials
        if not protocol.authentic(body, request.headers, creds.merchant_id, creds.secret):
            return _answer(Result.SECURITY_VIOLATION, "signature or merchant rejected")
        try:
            payload = protocol.load_object(body, "the request", ValueError)
        except ValueError:
            return _answer(Result.FORMAT_ERROR, "the body is not a JSON object")
        amount, refund_id = payload.get("amount"), payload.get("refund_reference")
        debit = simulator.debits.get(payload.get("debit_id")) if isinstance(payload.get("debit_id"), str) else None
        if not protocol.is_amount(amount) or not isinstance(refund_id, str) or not refund_id:
            return _answer(Result.FORMAT_ERROR, "amount and refund_reference are required")
        if debit is None:
            return _answer(Result.DEBIT_NOT_FOUND, "no such debit")
        try:
            made = book.refund(operation_ref=debit.debit_id, operation_amount=debit.amount, refund_id=refund_id,
                               operation_succeeded=debit.state is protocol.DebitState.COMPLETED, amount=amount)
        except RefundConflict:
            return _answer(Result.REFERENCE_CONFLICT, "refund_reference reused for another refund")
        return _answer(Result.ACCEPTED, "refund processed", {
            "refund_id": made.refund_ref, "refund_reference": refund_id, "debit_id": debit.debit_id,
            "amount": amount, "state": "completed" if made.succeeded else "failed",
            "failure": None if made.succeeded else made.result})

    app.router.add_post(REFUNDS_PATH, handle)
    add_statement_route(app, "eport", lambda: [(d.debit_id, d.amount) for d in simulator.debits.values()
                                                if d.state is protocol.DebitState.COMPLETED], lambda: book)


def _answer(result: Result, message: str, refund_json: dict[str, Any] | None = None) -> web.Response:
    payload: dict[str, Any] = {"result": int(result), "message": message}
    if refund_json is not None:
        payload["refund"] = refund_json
    return web.Response(status=protocol.http_status(result), content_type=protocol.CONTENT_TYPE,
                        body=protocol.dump(payload))
