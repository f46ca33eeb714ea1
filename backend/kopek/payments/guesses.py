"""Limits across payments on guessing a wallet's secrets (codes, PINs) and on texting codes.

An attempt allows three code tries and a payment five attempts, but an attacker can open as
many payments as a shop lets them. So each guess and each texted code also counts against
the wallet account it targets and the address it comes from, in sliding windows:

- A code or PIN is counted as wrong *before* it goes to the provider and forgiven when the
  provider does not call it wrong, so concurrent guesses cannot slip past the limit. Over
  the limit, a guess is refused (429) without reaching the provider until the window has
  passed since the last wrong one: never a permanent lock.
- Every request that makes the provider text a code (an attempt's start, a resend) counts.

The account is keyed by a keyed hash of the wallet and the account the shopper typed
(normalised), so no account number sits in memory keys or logs. The address is counted first:
a request refused for its address never spends the account's allowance, so a flood from one
address cannot use up another shopper's account.
"""

from __future__ import annotations

import hashlib
import hmac
from contextlib import asynccontextmanager
from typing import AsyncIterator, Awaitable, Mapping, TypeVar

from kopek.errors import RateLimited
from kopek.limits import Backoff, Limits, Rate
from kopek.providers.contract import WalletInfo
from kopek.settings import Settings

T = TypeVar("T")


class Guess:
    """One try at a code or PIN; the caller says when the provider called it wrong."""

    def __init__(self) -> None:
        self.wrong = False

    def was_wrong(self) -> None:
        self.wrong = True


class GuessLimits:
    def __init__(self, limits: Limits, settings: Settings, key: bytes) -> None:
        self._limits = limits
        self._key = key
        window_s = settings.wrong_code_window_s
        # The delay is the whole window: past the limit, nothing until the last failure has aged out.
        self._wrong_per_ip = Backoff("wrong_secret_ip", settings.wrong_codes_per_ip, window_s,
                                     delay_s=window_s, delay_s_max=window_s)
        self._wrong_per_account = Backoff("wrong_secret_account", settings.wrong_codes_per_account, window_s,
                                          delay_s=window_s, delay_s_max=window_s)
        self._sent_per_ip = Rate("codes_sent_ip", settings.codes_sent_per_ip, settings.codes_sent_window_s)
        self._sent_per_account = Rate("codes_sent_account", settings.codes_sent_per_account,
                                      settings.codes_sent_window_s)

    def account_key(self, wallet: WalletInfo, details: Mapping[str, str]) -> str:
        """Who the guesses target: the wallet and the non-secret fields, normalised and hashed."""
        visible = sorted((f.name, "".join(details.get(f.name, "").split()).upper())
                         for f in wallet.fields if not f.secret)
        text = "\n".join([wallet.id, *(f"{name}={value}" for name, value in visible)])
        return hmac.new(self._key, b"wallet-account\0" + text.encode(), hashlib.sha256).hexdigest()[:32]

    @asynccontextmanager
    async def guess(self, account_key: str, ip: str, *, what: str) -> AsyncIterator[Guess]:
        """Admit one guess at a `what` ("code" or "PIN") or refuse it (429); forgiven on leaving
        unless the body called `was_wrong()` (an error before the provider answered forgives it)."""
        code, message = f"too_many_wrong_{what.lower()}s", f"Too many wrong {what}s"
        ip_ticket = await _within(self._limits.admit(self._wrong_per_ip, ip), code, message)
        try:
            account_ticket = await _within(self._limits.admit(self._wrong_per_account, account_key), code, message)
        except RateLimited:
            await self._limits.forgive(ip_ticket)
            raise
        guess = Guess()
        try:
            yield guess
        finally:
            if not guess.wrong:
                await self._limits.forgive(ip_ticket)
                await self._limits.forgive(account_ticket)

    async def texting(self, account_key: str, ip: str) -> None:
        """Count a code about to be texted, or refuse it (429)."""
        code, message = "too_many_codes_sent", "Too many codes were sent"
        await _within(self._limits.take(self._sent_per_ip, ip), code, message)
        await _within(self._limits.take(self._sent_per_account, account_key), code, message)


async def _within(check: Awaitable[T], code: str, message: str) -> T:
    """Await a limit's check; a refusal says what was limited and for how long."""
    try:
        return await check
    except RateLimited as refused:
        minutes = max(1, (refused.extra["retry_after_s"] + 59) // 60)
        raise RateLimited(f"{message}; try again in {minutes} min.", code=code, extra=refused.extra) from None
