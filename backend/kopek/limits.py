"""Rate limits, failure throttles and concurrency caps: one place, atomic, keyed by what they protect.

Three primitives, each keyed by a string the caller builds from what it protects (an email and an
address, a payment and an address, a wallet account):

- `Limits.take(rule, key)`: at most `rule.limit` events per sliding `rule.window_s`; the event is
  counted only when it is admitted. For things that cost us (codes texted, sign-ups, payments).
- `Limits.admit(rule, *keys)`: a guess at a credential. It counts as a failure *before* it is
  evaluated, so concurrent guesses cannot all slip under the limit; `forgive(ticket)` takes it back
  when the guess was right. After `rule.free` failures, each further guess must wait a growing
  delay (`delay_s`, doubled per failure, at most `delay_s_max`): never a hard lockout.
- `Limits.occupy(rule, key)`: at most `rule.limit` things open at once (websockets).

Every check-and-count runs without an `await` in between, so it is atomic in one process. The
methods are coroutines so that an implementation shared by several instances (in the database)
can stand behind the same interface.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import AsyncIterator, Callable, Iterable

from kopek.errors import RateLimited


@dataclass(frozen=True)
class Rate:
    name: str
    limit: int
    window_s: float
    message: str = "too many requests; wait and retry"


@dataclass(frozen=True)
class Backoff:
    name: str
    free: int                 # failures allowed in the window before delays start
    window_s: float           # failures older than this are forgotten
    delay_s: float = 1.0      # the first delay; each further failure doubles it
    delay_s_max: float = 300.0
    message: str = "too many failed tries; wait and retry"

    def delay_after(self, failures: int) -> float:
        if failures < self.free:
            return 0.0
        return min(self.delay_s * 2 ** min(failures - self.free, 30), self.delay_s_max)


@dataclass(frozen=True)
class Cap:
    name: str
    limit: int
    message: str = "too many open connections"


@dataclass
class Ticket:
    """A guess counted as a failure until it is forgiven."""

    entries: list[tuple[str, float]] = field(default_factory=list)


class Limits:
    """In-process implementation: bounded in keys (least recently used are dropped)."""

    def __init__(self, max_keys: int = 100_000, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._max_keys = max_keys
        self._events: OrderedDict[str, deque[float]] = OrderedDict()
        self._open: dict[str, int] = {}

    async def take(self, rule: Rate, key: str) -> None:
        now = self._clock()
        events = self._recent(f"{rule.name}:{key}", now, rule.window_s)
        if len(events) >= rule.limit:
            raise _refusal(rule.message, events[0] + rule.window_s - now)
        events.append(now)

    async def count(self, rule: Rate | Backoff, key: str) -> int:
        return len(self._recent(f"{rule.name}:{key}", self._clock(), rule.window_s))

    async def admit(self, rule: Backoff, *keys: str) -> Ticket:
        return await self.admit_each([(rule, key) for key in keys])

    async def admit_each(self, checks: Iterable[tuple[Backoff, str]]) -> Ticket:
        """One guess checked against several throttles at once: refused if any of them says wait."""
        named = [(rule, f"{rule.name}:{key}") for rule, key in checks]
        now = self._clock()
        self._refuse_if_waiting(named, now)
        ticket = Ticket()
        for _, name in named:
            self._events[name].append(now)
            ticket.entries.append((name, now))
        return ticket

    async def check(self, rule: Backoff, key: str) -> None:
        """Refuses, as `admit` would, while `key` must wait; counts nothing."""
        self._refuse_if_waiting([(rule, f"{rule.name}:{key}")], self._clock())

    def _refuse_if_waiting(self, named: list[tuple[Backoff, str]], now: float) -> None:
        wait_s = 0.0
        for rule, name in named:
            failures = self._recent(name, now, rule.window_s)
            if failures:
                wait_s = max(wait_s, failures[-1] + rule.delay_after(len(failures)) - now)
        if wait_s > 0:
            raise _refusal(named[0][0].message, wait_s)

    async def forgive(self, ticket: Ticket) -> None:
        for name, at in ticket.entries:
            events = self._events.get(name)
            if events is not None and at in events:
                events.remove(at)
        ticket.entries.clear()

    @asynccontextmanager
    async def occupy(self, rule: Cap, key: str) -> AsyncIterator[None]:
        name = f"{rule.name}:{key}"
        if self._open.get(name, 0) >= rule.limit:
            raise RateLimited(rule.message, code="too_many_connections")
        self._open[name] = self._open.get(name, 0) + 1
        try:
            yield
        finally:
            self._open[name] -= 1
            if not self._open[name]:
                del self._open[name]

    def _recent(self, name: str, now: float, window_s: float) -> deque[float]:
        events = self._events.get(name)
        if events is None:
            events = self._events[name] = deque()
            while len(self._events) > self._max_keys:
                self._events.popitem(last=False)
        else:
            self._events.move_to_end(name)
        while events and events[0] <= now - window_s:
            events.popleft()
        return events


def _refusal(message: str, wait_s: float) -> RateLimited:
    return RateLimited(message, extra={"retry_after_s": max(1, int(wait_s + 0.999))})
