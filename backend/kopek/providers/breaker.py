"""A circuit breaker per wallet: a provider that keeps failing is marked unavailable for a while,
so shoppers are offered the other wallets; one trial call after the pause decides whether it is back."""

from __future__ import annotations

import time
from typing import Any, Awaitable, Callable, Mapping, TypeVar

from kopek.errors import WalletUnavailable
from kopek.providers.contract import (
    AttemptRequest, CallbackEvent, CallbackReply, Connector, ProviderError, ProviderResult, RefundResult,
    WalletInfo,
)

T = TypeVar("T")


class CircuitBreaker:
    def __init__(self, failure_threshold: int, open_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.failure_threshold = failure_threshold
        self.open_s = open_s
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_running = False

    @property
    def available(self) -> bool:
        """What shoppers are shown: false while open, true again once a trial may be made."""
        return self._opened_at is None or self._clock() - self._opened_at >= self.open_s

    def before_call(self) -> bool:
        """May a call go out now? While half-open, only one trial call at a time."""
        if self._opened_at is None:
            return True
        if not self.available or self._trial_running:
            return False
        self._trial_running = True
        return True

    def succeeded(self) -> None:
        self._failures, self._opened_at, self._trial_running = 0, None, False

    def failed(self) -> None:
        self._failures += 1
        self._trial_running = False
        if self._opened_at is not None or self._failures >= self.failure_threshold:
            self._opened_at = self._clock()


class GuardedConnector:
    """A connector behind its breaker: the same interface, plus `available`."""

    def __init__(self, connector: Connector, breaker: CircuitBreaker) -> None:
        self._connector = connector
        self.breaker = breaker
        self.info: WalletInfo = connector.info

    @property
    def available(self) -> bool:
        return self.breaker.available

    async def _guard(self, call: Callable[[], Awaitable[T]]) -> T:
        if not self.breaker.before_call():
            raise WalletUnavailable(self.info.id)
        try:
            result = await call()
        except ProviderError:
            self.breaker.failed()
            raise
        self.breaker.succeeded()
        return result

    async def start(self, request: AttemptRequest) -> ProviderResult:
        return await self._guard(lambda: self._connector.start(request))

    async def confirm(self, provider_ref: str, code: str) -> ProviderResult:
        return await self._guard(lambda: self._connector.confirm(provider_ref, code))

    async def fetch_status(self, provider_ref: str) -> ProviderResult:
        return await self._guard(lambda: self._connector.fetch_status(provider_ref))

    async def resend_code(self, provider_ref: str) -> None:
        await self._guard(lambda: self._connector.resend_code(provider_ref))

    async def refund(self, provider_ref: str, refund_id: str, amount: int, currency: str) -> RefundResult:
        return await self._guard(lambda: self._connector.refund(provider_ref, refund_id, amount, currency))

    def parse_callback(self, body: bytes, headers: Mapping[str, str]) -> CallbackEvent:
        return self._connector.parse_callback(body, headers)

    def callback_reply(self, accepted: bool) -> CallbackReply:
        return self._connector.callback_reply(accepted)


def guard_all(connectors: Mapping[str, Connector], failure_threshold: int, open_s: float) -> dict[str, Any]:
    return {wallet_id: GuardedConnector(connector, CircuitBreaker(failure_threshold, open_s))
            for wallet_id, connector in connectors.items()}
