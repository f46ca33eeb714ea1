"""Fee plans and the one rounding rule. Pure integer arithmetic on minor units; never a float.

The rule, in this order:
1. the percentage part is amount x basis_points / 10000, rounded half up to the minor unit;
2. plus the fixed fee;
3. clamped to [minimum, maximum] (no maximum when it is None);
4. never above the amount, so the net (amount - fee) is never negative.

A payment whose fee would need step 4 (the plan asks for more than the amount) is refused when
it is created (`amount_below_fee`); step 4 only guards a plan changed while a payment was open.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_BASIS_POINTS = 10_000          # 100 %
MAX_FIXED_MINOR = 10**12           # the same bound as a payment's amount


class FeePlanError(ValueError):
    """A plan that cannot be used; `field` names the culprit."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class FeePlan:
    basis_points: int
    fixed: int
    minimum: int
    maximum: int | None = None

    def __post_init__(self) -> None:
        for name in ("basis_points", "fixed", "minimum", "maximum"):
            value = getattr(self, name)
            if value is None and name == "maximum":
                continue
            if isinstance(value, bool) or not isinstance(value, int):
                raise FeePlanError(name, "must be an integer number of minor units (basis points for basis_points)")
            if value < 0:
                raise FeePlanError(name, "must not be negative")
        if self.basis_points > MAX_BASIS_POINTS:
            raise FeePlanError("basis_points", f"must be at most {MAX_BASIS_POINTS} (100 %)")
        for name in ("fixed", "minimum", "maximum"):
            value = getattr(self, name)
            if value is not None and value > MAX_FIXED_MINOR:
                raise FeePlanError(name, f"must be at most {MAX_FIXED_MINOR}")
        if self.maximum is not None and self.maximum < self.minimum:
            raise FeePlanError("maximum", "must not be below the minimum")


# 1.5 % and nothing else: a 1-rouble payment pays 2 kopecks, a 1-kopeck payment pays nothing
# (1.5 % of it rounds to 0), so the smallest sale still reaches the shop. See the README.
DEFAULT_PLAN = FeePlan(basis_points=150, fixed=0, minimum=0, maximum=None)


def planned_fee(amount: int, plan: FeePlan) -> int:
    """Steps 1-3: what the plan asks for, which may exceed a tiny amount."""
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 1:
        raise ValueError("amount must be a positive integer of minor units")
    percentage = (amount * plan.basis_points + 5_000) // 10_000  # half up: both factors are >= 0
    fee = max(percentage + plan.fixed, plan.minimum)
    return fee if plan.maximum is None else min(fee, plan.maximum)


def fee_for(amount: int, plan: FeePlan) -> int:
    """The fee charged on a succeeded payment: 0 <= fee <= amount."""
    return min(planned_fee(amount, plan), amount)
