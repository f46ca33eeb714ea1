"""The sandbox simulators' daily statements: `GET <simulator>/statements/<YYYY-MM-DD>`, in each
provider's own format (kopek.reconcile.statements), with the provider fees of kopek.reconcile.fees.

A simulator keeps its operations in memory only, undated: its statement for any day lists every
succeeded payment and refund it holds. (A sandbox server that ran across midnight therefore shows
yesterday's operations as extra entries in today's reconciliation.)
"""

from __future__ import annotations

import re
from typing import Callable, Iterable

from aiohttp import web

from kopek.providers.sandbox.refunds import RefundBook
from kopek.reconcile.fees import provider_fee
from kopek.reconcile.statements import StatementLine, render

# (the provider's ref as Kopek stores it, amount in minor units) of each succeeded payment
Payments = Callable[[], Iterable[tuple[str, int]]]


def add_statement_route(app: web.Application, wallet: str, payments: Payments, book: Callable[[], RefundBook]) -> None:
    async def statement(request: web.Request) -> web.Response:
        day = request.match_info["day"]
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", day):
            return web.Response(status=400, text="the date must be YYYY-MM-DD")
        lines = [StatementLine(ref, "payment", amount, provider_fee(wallet, "payment", amount))
                 for ref, amount in payments()]
        lines += [StatementLine(r.refund_ref, "refund", r.amount, 0) for r in book().all() if r.succeeded]
        body, content_type = render(wallet, day, lines)
        return web.Response(body=body, content_type=content_type, charset="utf-8")

    app.router.add_get("/statements/{day}", statement)
