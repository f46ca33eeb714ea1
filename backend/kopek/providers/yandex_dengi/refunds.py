"""Yandex.Dengi refunds, in the wallet API's style: a form POST with the bearer token, a JSON answer.

`POST /api/return-payment` takes `request_id` (the paid operation's), `refund_label` (Kopek's
refund id; Yandex.Dengi dedupes by it) and `amount` ("2.00"). It answers
`{"status": "success", "refund_id": ..., "refund_label": ...}`, or `{"status": "refused",
"error": <reason>, "refund_id": ..., "refund_label": ...}` for a refund it declined, or
`{"status": "refused", "error": "illegal_params" | "illegal_param_label"}` (no refund_id) for a
request it could not take; 401 without a valid token.
"""

from __future__ import annotations

from typing import Any

import aiohttp
from aiohttp import web

from kopek import strict_json
from kopek.providers.contract import ProviderError, RefundOutcome, RefundResult
from kopek.providers.http import post
from kopek.providers.sandbox.refunds import RefundBook, RefundConflict
from kopek.providers.sandbox.statements import add_statement_route
from kopek.providers.yandex_dengi import protocol

ENDPOINT = "api/return-payment"


# ---- the connector's side -------------------------------------------------------------------

async def refund(http: aiohttp.ClientSession, base_url: str, creds: protocol.Credentials, timeout_s: float,
                 *, request_id: str, refund_id: str, amount: int, currency: str) -> RefundResult:
    form = {"request_id": request_id, "refund_label": refund_id, "amount": protocol.format_amount(amount, currency)}
    status, body = await post(http, f"{base_url}/{ENDPOINT}", protocol.encode_form(form),
                              content_type=protocol.FORM_CONTENT_TYPE, timeout_s=timeout_s,
                              headers=protocol.bearer(creds.token))
    if status != 200:
        raise ProviderError(f"Yandex.Dengi {ENDPOINT} answered HTTP {status}")
    try:
        answer = strict_json.loads(body)
    except ValueError:
        raise ProviderError(f"Yandex.Dengi {ENDPOINT} answered something that is not JSON") from None
    if not isinstance(answer, dict) or not isinstance(answer.get("refund_id"), str) \
            or answer.get("refund_label") != refund_id:
        error = answer.get("error") if isinstance(answer, dict) else None
        raise ProviderError(f"Yandex.Dengi {ENDPOINT} refused the request: {str(error)[:40]}")
    if answer.get("status") == "success":
        return RefundResult(RefundOutcome.SUCCEEDED, answer["refund_id"])
    if answer.get("status") == "refused" and isinstance(answer.get("error"), str):
        return RefundResult(RefundOutcome.FAILED, answer["refund_id"], answer["error"][:40])
    raise ProviderError(f"Yandex.Dengi {ENDPOINT} answered an unknown status")


# ---- the simulator's side -------------------------------------------------------------------

def add_routes(app: web.Application, simulator: Any) -> None:
    book = RefundBook("ret-")
    simulator.refund_book = book

    async def handle(request: web.Request) -> web.Response:
        if not simulator.authorised(request.headers.get("Authorization", "")):
            return web.Response(status=401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        try:
            fields = protocol.read_form(await request.read())
            amount = protocol.parse_amount(fields.get("amount", ""))
        except ValueError:
            return web.json_response({"status": "refused", "error": "illegal_params"})
        label = fields.get("refund_label", "")
        operation = simulator.operations.get(fields.get("request_id", ""))
        if operation is None or not protocol.LABEL_RE.fullmatch(label) or amount == 0:
            return web.json_response({"status": "refused", "error": "illegal_params"})
        try:
            made = book.refund(operation_ref=operation.request_id, operation_amount=protocol.parse_amount(operation.amount),
                               operation_succeeded=operation.state.value == "success", refund_id=label, amount=amount)
        except RefundConflict:
            return web.json_response({"status": "refused", "error": "illegal_param_label"})
        answer = {"status": "success" if made.succeeded else "refused", "refund_id": made.refund_ref,
                  "refund_label": label}
        if not made.succeeded:
            answer["error"] = made.result
        return web.json_response(answer)

    app.router.add_post("/" + ENDPOINT, handle)
    add_statement_route(app, "yandex_dengi", lambda: [
        (o.request_id, protocol.parse_amount(o.amount)) for o in simulator.operations.values()
        if o.state.value == "success"], lambda: book)
