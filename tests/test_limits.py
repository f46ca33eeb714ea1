"""The limits primitives: atomic under concurrency, keyed, growing delays rather than lockouts."""

from __future__ import annotations

import asyncio

import pytest

from kopek.errors import RateLimited
from kopek.limits import Backoff, Cap, Limits, Rate


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_rate_admits_its_limit_in_a_sliding_window() -> None:
    clock = Clock()
    limits = Limits(clock=clock)
    rule = Rate("codes", limit=3, window_s=60)
    for _ in range(3):
        await limits.take(rule, "acct")
        clock.now += 10
    with pytest.raises(RateLimited) as refused:
        await limits.take(rule, "acct")
    assert refused.value.extra["retry_after_s"] == 30  # the first hit leaves the window at +60
    await limits.take(rule, "other")  # another key is not affected
    clock.now += 30
    await limits.take(rule, "acct")


async def test_concurrent_guesses_cannot_slip_under_the_limit() -> None:
    limits = Limits()
    rule = Backoff("login", free=5, window_s=900)

    async def guess() -> bool:
        try:
            await limits.admit(rule, "owner@example.com|10.0.0.9")
        except RateLimited:
            return False
        await asyncio.sleep(0.01)  # the password check
        return True

    evaluated = await asyncio.gather(*(guess() for _ in range(40)))
    assert sum(evaluated) == 5


async def test_delays_grow_and_a_forgiven_guess_does_not_count() -> None:
    clock = Clock()
    limits = Limits(clock=clock)
    rule = Backoff("secret", free=2, window_s=600, delay_s=1, delay_s_max=8)
    ok = await limits.admit(rule, "k")
    await limits.forgive(ok)
    assert await limits.count(rule, "k") == 0
    await limits.admit(rule, "k")
    await limits.admit(rule, "k")
    for delay in (1, 2, 4, 8, 8):
        with pytest.raises(RateLimited) as refused:
            await limits.admit(rule, "k")
        assert refused.value.extra["retry_after_s"] == delay
        clock.now += delay
        await limits.admit(rule, "k")
    clock.now += 601
    await limits.admit(rule, "k")  # the window forgot them


async def test_a_cap_counts_what_is_open() -> None:
    limits = Limits()
    rule = Cap("sockets", limit=2)
    async with limits.occupy(rule, "pay_1"), limits.occupy(rule, "pay_1"):
        with pytest.raises(RateLimited):
            async with limits.occupy(rule, "pay_1"):
                pass
    async with limits.occupy(rule, "pay_1"):
        pass


async def test_keys_are_bounded() -> None:
    limits = Limits(max_keys=100)
    rule = Rate("x", limit=1, window_s=60)
    for n in range(1000):
        await limits.take(rule, str(n))
    assert len(limits._events) <= 100
