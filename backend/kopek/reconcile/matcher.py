"""Matching a statement with what Kopek recorded for one provider and UTC day."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kopek.reconcile.fees import provider_fee
from kopek.reconcile.statements import StatementLine


@dataclass(frozen=True)
class Expected:
    ref: str
    type: str
    amount: int
    kopek_id: str   # pay_... or re_...


@dataclass
class Reconciliation:
    missing: list[dict[str, Any]] = field(default_factory=list)         # Kopek has it, the statement not
    extra: list[dict[str, Any]] = field(default_factory=list)           # the statement has it, Kopek not
    amount_differs: list[dict[str, Any]] = field(default_factory=list)
    fee_differs: list[dict[str, Any]] = field(default_factory=list)
    matched: int = 0

    @property
    def ok(self) -> bool:
        return not (self.missing or self.extra or self.amount_differs or self.fee_differs)

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "matched": self.matched, "missing": self.missing, "extra": self.extra,
                "amount_differs": self.amount_differs, "fee_differs": self.fee_differs}


def reconcile(provider: str, statement: list[StatementLine], expected: list[Expected]) -> Reconciliation:
    result = Reconciliation()
    ours = {(e.type, e.ref): e for e in expected}
    theirs = {(line.type, line.ref): line for line in statement}
    for key in sorted(ours.keys() - theirs.keys()):
        e = ours[key]
        result.missing.append({"type": e.type, "ref": e.ref, "id": e.kopek_id, "amount": e.amount})
    for key in sorted(theirs.keys() - ours.keys()):
        line = theirs[key]
        result.extra.append({"type": line.type, "ref": line.ref, "amount": line.amount, "fee": line.fee})
    for key in sorted(ours.keys() & theirs.keys()):
        e, line = ours[key], theirs[key]
        base = {"type": e.type, "ref": e.ref, "id": e.kopek_id}
        fee = provider_fee(provider, e.type, e.amount)
        if line.amount != e.amount:
            result.amount_differs.append({**base, "kopek": e.amount, "statement": line.amount})
        elif line.fee != fee:
            result.fee_differs.append({**base, "expected": fee, "statement": line.fee})
        else:
            result.matched += 1
    return result
