"""KreditPilot refunds: the JSON-RPC method `charge.refund`, signed like every call.

params: `charge_id`, `refund_ref` (Kopek's refund id; KreditPilot dedupes by it), `amount`
(kopecks), `currency`. result: `{"refund_id", "refund_ref", "charge_id", "amount",
"state": "refunded" | "rejected", "reason": <null or why>}`. A refunded amount goes back on the
card's balance. An unknown charge is error -32006, bad params -32602, a refund_ref reused for
another charge or amount -32007.
"""

from __future__ import annotations

import enum
from typing import Any, Awaitable, Callable, Mapping

from aiohttp import web

from kopek.providers.contract import ProviderError, RefundOutcome, RefundResult
from kopek.providers.kreditpilot import protocol
from kopek.providers.kreditpilot.protocol import ChargeState, ErrorCode, RpcFault
from kopek.providers.sandbox.refunds import RefundBook, RefundConflict
from kopek.providers.sandbox.statements import add_statement_route


class RefundMethod(str, enum.Enum):
    REFUND = "charge.refund"


Rpc = Callable[[Any, Mapping[str, Any]], Awaitable[protocol.RpcReply]]


# ---- the connector's side -------------------------------------------------------------------

async def refund(rpc: Rpc, *, charge_id: str, refund_id: str, amount: int, currency: str) -> RefundResult:
    reply = await rpc(RefundMethod.REFUND, {"charge_id": protocol.check_charge_id(charge_id), "refund_ref": refund_id,
                                            "amount": amount, "currency": currency})
    if reply.error is not None:
        raise ProviderError(f"KreditPilot charge.refund refused: error {reply.error.code}")
    result = reply.result or {}
    if result.get("refund_ref") != refund_id or not isinstance(result.get("refund_id"), str):
        raise ProviderError("KreditPilot charge.refund answered about another refund")
    if result.get("state") == "refunded":
        return RefundResult(RefundOutcome.SUCCEEDED, result["refund_id"])
    if result.get("state") == "rejected" and isinstance(result.get("reason"), str):
        return RefundResult(RefundOutcome.FAILED, result["refund_id"], result["reason"])
    raise ProviderError("KreditPilot charge.refund answered an unknown state")


# ---- the simulator's side -------------------------------------------------------------------

async def charge_refund(simulator: Any, params: Mapping[str, Any]) -> Mapping[str, Any]:
    """The simulator's `charge.refund`: a refund that succeeds puts the amount back on the card."""
    book: RefundBook = simulator.__dict__.setdefault("refund_book", RefundBook("rf_"))
    charge = simulator.charges.get(params.get("charge_id")) if isinstance(params.get("charge_id"), str) else None
    amount, refund_ref = params.get("amount"), params.get("refund_ref")
    if type(amount) is not int or not 0 < amount <= protocol.MAX_AMOUNT or not isinstance(refund_ref, str) \
            or not protocol.ORDER_REF_PATTERN.fullmatch(refund_ref):
        raise RpcFault(ErrorCode.INVALID_PARAMS, "amount and refund_ref are required")
    if charge is None:
        raise RpcFault(ErrorCode.CHARGE_NOT_FOUND, "charge not found")
    fresh = not book.knows(refund_ref)
    try:
        made = book.refund(operation_ref=charge.charge_id, operation_amount=charge.amount, refund_id=refund_ref,
                           operation_succeeded=charge.state is ChargeState.CAPTURED, amount=amount)
    except RefundConflict:
        raise RpcFault(ErrorCode.ORDER_REF_CONFLICT, "refund_ref already used for another refund") from None
    if made.succeeded and fresh:   # a repeated call answers the same refund but credits once
        simulator._set_balance(charge.card, simulator.balance(charge.card) + amount)
    return {"refund_id": made.refund_ref, "refund_ref": refund_ref, "charge_id": charge.charge_id, "amount": amount,
            "state": "refunded" if made.succeeded else "rejected", "reason": None if made.succeeded else made.result}



def add_routes(app: web.Application, simulator: Any) -> None:
    """The statement route (charge.refund itself is a method on the one /rpc endpoint)."""
    add_statement_route(app, "kreditpilot", lambda: [(c.charge_id, c.amount) for c in simulator.charges.values()
                                                     if c.state is ChargeState.CAPTURED],
                        lambda: simulator.__dict__.setdefault("refund_book", RefundBook("rf_")))
