"""The fee rule: arithmetic by example, the README's figures, bad plans, and properties."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from kopek.ledger.fees import DEFAULT_PLAN, MAX_BASIS_POINTS, FeePlan, FeePlanError, fee_for, planned_fee


@pytest.mark.parametrize(("amount", "fee"), [
    (1, 0),          # 1 kopeck: 0.015 rounds to 0, the shop keeps its kopeck
    (33, 0),         # 0.495 -> 0
    (34, 1),         # 0.51 -> 1
    (100, 2),        # 1 rouble: 1.5 -> 2 (half up), net 98
    (500, 8),        # 5 roubles: 7.5 -> 8, net 4.92
    (10_000, 150),   # 100 roubles: exactly 1.50, net 98.50
])
def test_the_default_plan_is_one_and_a_half_percent_rounded_half_up(amount, fee):
    assert fee_for(amount, DEFAULT_PLAN) == fee


def test_fixed_minimum_and_maximum_apply_in_order():
    plan = FeePlan(basis_points=100, fixed=3, minimum=5, maximum=20)
    assert fee_for(100, plan) == 5          # 1 + 3 = 4, raised to the minimum 5
    assert fee_for(1_000, plan) == 13       # 10 + 3
    assert fee_for(100_000, plan) == 20     # 1000 + 3, capped at 20
    assert planned_fee(3, plan) == 5 and fee_for(3, plan) == 3   # never above the amount


def test_half_up_rounds_the_percentage_part_only():
    plan = FeePlan(basis_points=50, fixed=0, minimum=0)
    assert [fee_for(a, plan) for a in (99, 100, 101, 299, 300)] == [0, 1, 1, 1, 2]  # 0.495, 0.5, 0.505, 1.495, 1.5


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"basis_points": -1, "fixed": 0, "minimum": 0}, "basis_points"),
    ({"basis_points": MAX_BASIS_POINTS + 1, "fixed": 0, "minimum": 0}, "basis_points"),
    ({"basis_points": 1.5, "fixed": 0, "minimum": 0}, "basis_points"),
    ({"basis_points": True, "fixed": 0, "minimum": 0}, "basis_points"),
    ({"basis_points": 10, "fixed": -1, "minimum": 0}, "fixed"),
    ({"basis_points": 10, "fixed": 0, "minimum": 5, "maximum": 4}, "maximum"),
])
def test_bad_plans_are_refused_naming_the_field(kwargs, field):
    with pytest.raises(FeePlanError) as raised:
        FeePlan(**kwargs)
    assert raised.value.field == field


def test_the_amount_must_be_a_positive_integer():
    for amount in (0, -5, 1.0, True):
        with pytest.raises(ValueError):
            fee_for(amount, DEFAULT_PLAN)


plans = st.builds(
    lambda bps, fixed, minimum, extra: FeePlan(bps, fixed, minimum, None if extra is None else minimum + extra),
    st.integers(0, MAX_BASIS_POINTS), st.integers(0, 10**6), st.integers(0, 10**6),
    st.none() | st.integers(0, 10**6))


@given(amount=st.integers(1, 10**12), plan=plans)
def test_any_fee_is_between_nothing_and_the_amount_and_adds_up(amount, plan):
    fee = fee_for(amount, plan)
    net = amount - fee
    assert isinstance(fee, int) and 0 <= fee <= amount
    assert net >= 0 and net + fee == amount
    assert plan.minimum <= fee or fee == amount
    assert plan.maximum is None or fee <= plan.maximum
    assert fee == min(planned_fee(amount, plan), amount)


@given(amount=st.integers(1, 10**12), bps=st.integers(0, MAX_BASIS_POINTS))
def test_the_percentage_part_is_within_half_a_minor_unit_of_exact(amount, bps):
    fee = fee_for(amount, FeePlan(bps, 0, 0))
    exact_times_2 = 2 * amount * bps       # 2 x 10000 x exact fee, in integers
    assert abs(2 * 10_000 * fee - exact_times_2) <= 10_000
