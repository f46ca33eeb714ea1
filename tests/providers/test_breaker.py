from types import SimpleNamespace

import pytest

from kopek.errors import WalletUnavailable
from kopek.providers.breaker import CircuitBreaker, GuardedConnector
from kopek.providers.contract import Outcome, ProviderError, ProviderResult


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class FlakyConnector:
    info = SimpleNamespace(id="fake")

    def __init__(self) -> None:
        self.failing = True
        self.calls = 0

    async def fetch_status(self, ref: str) -> ProviderResult:
        self.calls += 1
        if self.failing:
            raise ProviderError("down")
        return ProviderResult(Outcome.PROCESSING, ref)


async def test_opens_after_repeated_failures_and_recovers_after_a_good_trial():
    clock = Clock()
    connector = FlakyConnector()
    guarded = GuardedConnector(connector, CircuitBreaker(failure_threshold=3, open_s=30, clock=clock))
    for _ in range(3):
        with pytest.raises(ProviderError):
            await guarded.fetch_status("r")
    assert not guarded.available
    with pytest.raises(WalletUnavailable):
        await guarded.fetch_status("r")
    assert connector.calls == 3  # no call reached the provider while open

    clock.now = 31
    assert guarded.available
    with pytest.raises(ProviderError):  # the trial fails: open again at once
        await guarded.fetch_status("r")
    assert not guarded.available

    clock.now = 62
    connector.failing = False
    assert (await guarded.fetch_status("r")).outcome is Outcome.PROCESSING
    assert guarded.available and guarded.breaker.before_call()


async def test_a_provider_answer_of_any_kind_resets_the_count():
    breaker = CircuitBreaker(failure_threshold=2, open_s=30, clock=Clock())
    breaker.failed()
    breaker.succeeded()
    breaker.failed()
    assert breaker.available
