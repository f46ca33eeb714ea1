"""The shopper's side of a payment: start an attempt with a wallet, relay the code, resend it.

Provider calls happen outside any database transaction but inside the payment's lock,
so a provider's callback waits until the step that caused it has been recorded. Whatever
the provider says, by answer, callback or status fetch, goes through `apply_result`.
"""

from __future__ import annotations

import logging
import re
from contextlib import nullcontext
from datetime import timedelta
from typing import Any, AsyncContextManager, Mapping

from kopek import clock
from kopek.errors import (
    InvalidRequest, InvalidState, KopekError, ProviderUnavailable, RateLimited, ValidationFailed, WalletUnavailable,
)
from kopek.ids import new_id
from kopek.payments import states
from kopek.payments.guesses import Guess, GuessLimits
from kopek.payments.precheck import PreCheck, Verdict
from kopek.payments.service import PaymentService
from kopek.payments.views import mask_account
from kopek.providers.contract import (
    AttemptRequest, Connector, ConfirmationStyle, Outcome, ProviderError, ProviderResult, WalletInfo,
)
from kopek.store.records import Attempt, Payment

log = logging.getLogger(__name__)

CODE_LIFETIME_S = 10 * 60
MAX_RESENDS = 3
OPEN_ATTEMPT = ("requires_confirmation", "processing")
FAILURE_MESSAGES = {
    "declined": "The wallet declined the payment.",
    "insufficient_funds": "There is not enough money in the wallet.",
    "wallet_not_found": "No such wallet.",
    "limit_exceeded": "The wallet's limit does not allow this payment.",
    "code_attempts_exceeded": "Too many wrong codes.",
    "code_expired": "The code has expired.",
    "incorrect_pin": "Wrong PIN.",
    "provider_error": "The wallet is not answering. Try again or choose another wallet.",
    "provider_timeout": "The wallet did not answer in time.",
    "interrupted": "The attempt was interrupted. Try again.",
    "merchant_refused": "The shop cannot accept this payment now.",
    "expired": "The payment has expired.",
}


class IncorrectCode(KopekError):
    code = "incorrect_code"


class AttemptFlow:
    def __init__(self, service: PaymentService, connectors: Mapping[str, Connector], callback_base: str,
                 precheck: PreCheck, guesses: GuessLimits) -> None:
        self.service = service
        self.guesses = guesses
        self.precheck = precheck
        self.store = service.store
        self.settings = service.settings
        self.connectors = connectors
        self.callback_base = callback_base

    # -- start ------------------------------------------------------------------------

    async def start(self, payment: Payment, wallet_id: str, details: dict[str, str], key: str, ip: str) -> Payment:
        wallet = await self._offered(payment, wallet_id)
        clean = validate_details(wallet, details)
        account_key = self.guesses.account_key(wallet, clean)
        async with self.service.locks.hold(payment.id):
            payment = await self.service.expire_if_due(await self.service.reload(payment))
            if await self.store.find_attempt_by_key(payment.id, key):
                return payment  # a repeated request (double click): the first one's result stands
            states.check_move(payment.status, states.REQUIRES_CONFIRMATION, "start an attempt for")
            if wallet.confirmation is ConfirmationStyle.ENTER_CODE:
                await self.guesses.texting(account_key, ip)
            async with self._pin_guess(wallet, account_key, ip) as guess:
                attempt = await self.store.insert_attempt(self._new_attempt(payment, wallet, clean, key, account_key))
                return await self._send_start(payment, attempt, wallet, clean, guess)

    def _pin_guess(self, wallet: WalletInfo, account_key: str, ip: str) -> AsyncContextManager[Guess]:
        """A wallet whose form carries a PIN: the start is a guess at it."""
        if any(f.secret for f in wallet.fields):
            return self.guesses.guess(account_key, ip, what="PIN")
        return nullcontext(Guess())

    async def _send_start(self, payment: Payment, attempt: Attempt, wallet: WalletInfo, details: dict[str, str],
                          guess: Guess) -> Payment:
        verdict = await self._ask_shop(payment, wallet)
        if not verdict.allow:
            return await self.fail_attempt(payment, attempt, "merchant_refused", counts_attempt=True,
                                           message=verdict.message or FAILURE_MESSAGES["merchant_refused"])
        try:
            result = await self.connectors[wallet.id].start(AttemptRequest(
                attempt_id=attempt.id, payment_id=payment.id, amount=payment.amount,
                currency=payment.currency, description=payment.description, details=details,
                callback_url=f"{self.callback_base}/v1/providers/{wallet.id}/callback"))
        except (ProviderError, WalletUnavailable) as exc:
            log.warning("%s start of %s failed: %s", wallet.id, attempt.id, exc)
            return await self.fail_attempt(payment, attempt, "provider_error")
        if result.outcome is Outcome.WRONG_CODE or result.failure_code == "incorrect_pin":
            guess.was_wrong()
        return await self._record_start(payment, attempt, wallet, result)

    async def _ask_shop(self, payment: Payment, wallet: WalletInfo) -> Verdict:
        merchant = await self.store.get_merchant(payment.merchant_id)
        assert merchant is not None
        return await self.precheck.ask(merchant, self.service.snapshot(payment), wallet.id)

    async def _offered(self, payment: Payment, wallet_id: str) -> WalletInfo:
        for wallet, available in await self.service.offered_wallets(payment):
            if wallet.id == wallet_id and available:
                return wallet
            if wallet.id == wallet_id:
                raise WalletUnavailable(wallet.id)
        raise InvalidRequest(f"wallet {wallet_id!r} is not offered for this payment",
                             param="wallet", code="wallet_unavailable")

    @staticmethod
    def _new_attempt(payment: Payment, wallet: WalletInfo, details: dict[str, str], key: str,
                     account_key: str) -> Attempt:
        now = clock.now_iso()
        visible = [details[f.name] for f in wallet.fields if not f.secret and f.name in details]
        return Attempt(id=new_id("att"), payment_id=payment.id, wallet=wallet.id, idempotency_key=key,
                       status="starting", provider_ref=None,
                       account_hint=mask_account(visible[0]) if visible else "",
                       code_tries=0, failure_code=None, failure_message=None, created_at=now, updated_at=now,
                       account_key=account_key)

    async def _record_start(self, payment: Payment, attempt: Attempt, wallet: WalletInfo,
                            result: ProviderResult) -> Payment:
        if result.outcome is Outcome.DECLINED or result.outcome is Outcome.WRONG_CODE:
            return await self.fail_attempt(payment, attempt, result.failure_code or "declined",
                                           counts_attempt=True, provider_ref=result.provider_ref)
        waiting = result.outcome in (Outcome.REQUIRES_CODE, Outcome.REQUIRES_APPROVAL)
        target = states.REQUIRES_CONFIRMATION if waiting else states.PROCESSING
        payment = await self.service.apply(
            payment, target, "start an attempt for",
            payment_fields={"wallet": wallet.id, "current_attempt_id": attempt.id, "last_error": None,
                            "attempts_count": payment.attempts_count + 1,
                            "next_action": self._next_action(payment, attempt, wallet, result) if waiting else None},
            attempt_id=attempt.id, attempt_expected_status="starting",
            attempt_fields={"status": target, "provider_ref": result.provider_ref,
                            "next_check_at": self._first_check_at(wallet, target)})
        if result.outcome is Outcome.SUCCEEDED:
            return await self._succeed(payment, attempt.id)
        return payment

    def _next_action(self, payment: Payment, attempt: Attempt, wallet: WalletInfo,
                     result: ProviderResult) -> dict[str, Any]:
        code_deadline = clock.to_iso(clock.now() + timedelta(seconds=CODE_LIFETIME_S))
        expires_at = min(code_deadline, payment.expires_at)
        if result.outcome is Outcome.REQUIRES_APPROVAL:
            return {"type": "approve_in_wallet", "url": result.next_action_url, "expires_at": expires_at}
        return {"type": "enter_code", "code_length": wallet.code_length, "sent_to": attempt.account_hint,
                "tries_left": self.settings.max_code_tries, "expires_at": expires_at,
                "can_resend": wallet.can_resend_code, "resend_available_at": self._resend_available_at()}

    def _resend_available_at(self) -> str:
        return clock.iso_in(self.settings.code_resend_cooldown_s)

    def _first_check_at(self, wallet: WalletInfo, status: str) -> str | None:
        """The shopper holds a code wallet's next step; anything else the reconciler watches."""
        if status == states.REQUIRES_CONFIRMATION and wallet.confirmation is ConfirmationStyle.ENTER_CODE:
            return None
        return clock.iso_in(self.check_after_s(wallet.id))

    def check_after_s(self, wallet_id: str) -> float:
        """How long to leave a provider alone before asking it for the status."""
        return self.connectors[wallet_id].info.status_check_after_s * self.settings.provider_time_scale

    # -- confirm ----------------------------------------------------------------------

    async def confirm(self, payment: Payment, code: str, ip: str) -> Payment:
        async with self.service.locks.hold(payment.id):
            payment, attempt = await self._awaiting_code(payment, "confirm")
            async with self.guesses.guess(_account_key(attempt), ip, what="code") as guess:
                try:
                    result = await self.connectors[attempt.wallet].confirm(attempt.provider_ref or "", code)
                except (ProviderError, WalletUnavailable) as exc:
                    log.warning("%s confirm of %s failed: %s", attempt.wallet, attempt.id, exc)
                    raise ProviderUnavailable("The wallet provider is not answering; try again shortly.") from exc
                if result.outcome is Outcome.WRONG_CODE or result.failure_code == "code_attempts_exceeded":
                    guess.was_wrong()
            if result.outcome is Outcome.WRONG_CODE:
                return await self._wrong_code(payment, attempt)
            if result.failure_code == "code_attempts_exceeded":
                return await self._lock_out(payment, attempt)
            return await self.apply_result(payment, attempt, result)

    async def _awaiting_code(self, payment: Payment, action: str) -> tuple[Payment, Attempt]:
        payment = await self.service.expire_if_due(await self.service.reload(payment))
        states.check_move(payment.status, states.PROCESSING, action)
        if (payment.next_action or {}).get("type") != "enter_code" or not payment.current_attempt_id:
            raise InvalidState(payment.status, f"{action} a code for")
        attempt = await self.store.get_attempt(payment.current_attempt_id)
        assert attempt is not None and attempt.provider_ref
        return payment, attempt

    async def _wrong_code(self, payment: Payment, attempt: Attempt) -> Payment:
        tries = attempt.code_tries + 1
        if tries >= self.settings.max_code_tries:
            return await self._lock_out(payment, attempt)
        tries_left = self.settings.max_code_tries - tries
        await self.service.update_quietly(
            payment, payment_fields={"next_action": {**(payment.next_action or {}), "tries_left": tries_left}},
            attempt_id=attempt.id, attempt_expected_status="requires_confirmation",
            attempt_fields={"code_tries": tries})
        raise IncorrectCode(f"The code is wrong; {tries_left} {'try' if tries_left == 1 else 'tries'} left.",
                            param="code", extra={"tries_left": tries_left})

    async def _lock_out(self, payment: Payment, attempt: Attempt) -> Payment:
        await self.fail_attempt(payment, attempt, "code_attempts_exceeded")
        raise KopekError("Too many wrong codes; this attempt is over. Choose a wallet again.",
                         param="code", code="code_attempts_exceeded")

    # -- resend -----------------------------------------------------------------------

    async def resend(self, payment: Payment, ip: str) -> Payment:
        async with self.service.locks.hold(payment.id):
            payment, attempt = await self._awaiting_code(payment, "resend")
            if not self.connectors[attempt.wallet].info.can_resend_code or attempt.resends >= MAX_RESENDS:
                raise KopekError("The code cannot be sent again; choose a wallet again if it never came.",
                                 code="resend_limit")
            available_at = (payment.next_action or {}).get("resend_available_at") or ""
            if available_at > clock.now_iso():
                wait_s = max(1, int((clock.from_iso(available_at) - clock.now()).total_seconds()) + 1)
                raise RateLimited(f"Wait {wait_s} s before asking for the code again.", code="resend_too_soon",
                                  extra={"retry_after_s": wait_s})
            await self.guesses.texting(_account_key(attempt), ip)
            try:
                await self.connectors[attempt.wallet].resend_code(attempt.provider_ref or "")
            except (ProviderError, WalletUnavailable) as exc:
                raise ProviderUnavailable("The wallet provider is not answering; try again shortly.") from exc
            action = {**(payment.next_action or {}), "resend_available_at": self._resend_available_at(),
                      "can_resend": attempt.resends + 1 < MAX_RESENDS}
            return await self.service.update_quietly(
                payment, payment_fields={"next_action": action}, attempt_id=attempt.id,
                attempt_expected_status="requires_confirmation",
                attempt_fields={"resends": attempt.resends + 1, "last_resend_at": clock.now_iso()})

    # -- what the provider says -------------------------------------------------------

    async def apply_result(self, payment: Payment, attempt: Attempt, result: ProviderResult) -> Payment:
        """Move the payment as the provider's word says. The caller holds the payment's lock
        and passes fresh rows. Stale news (an attempt already final) changes nothing."""
        outcome = result.outcome
        if attempt.status == "failed" and outcome is Outcome.SUCCEEDED:
            return await self._late_success(payment, attempt)
        if attempt.status not in OPEN_ATTEMPT or payment.current_attempt_id != attempt.id:
            return payment
        if outcome is Outcome.DECLINED:
            return await self.fail_attempt(payment, attempt, result.failure_code or "declined")
        if outcome in (Outcome.PROCESSING, Outcome.SUCCEEDED) and attempt.status == "requires_confirmation":
            payment = await self.service.apply(
                payment, states.PROCESSING, "process", payment_fields={"next_action": None},
                attempt_id=attempt.id, attempt_expected_status="requires_confirmation",
                attempt_fields={"status": "processing",
                                "next_check_at": clock.iso_in(self.check_after_s(attempt.wallet))})
        if outcome is Outcome.SUCCEEDED:
            return await self._succeed(payment, attempt.id)
        return payment

    async def _succeed(self, payment: Payment, attempt_id: str) -> Payment:
        return await self.service.apply(payment, states.SUCCEEDED, "complete", attempt_id=attempt_id,
                                        attempt_expected_status="processing",
                                        attempt_fields={"status": "succeeded", "next_check_at": None})

    async def _late_success(self, payment: Payment, attempt: Attempt) -> Payment:
        """The provider took the money for an attempt Kopek had given up on. After a restart cut
        it off, the open payment still succeeds; otherwise a person must look (and refund)."""
        if attempt.failure_code != "interrupted" or payment.status != states.REQUIRES_WALLET:
            log.error("attempt %s succeeded at the provider after it ended here (%s, payment %s): review it",
                      attempt.id, attempt.failure_code, payment.status)
            await self.store.update_attempt(attempt.id, "failed", {"needs_review": "paid_after_failure"})
            return payment
        payment = await self.service.apply(
            payment, states.PROCESSING, "process", payment_fields={"current_attempt_id": attempt.id,
                                                                   "wallet": attempt.wallet, "last_error": None},
            attempt_id=attempt.id, attempt_expected_status="failed",
            attempt_fields={"status": "processing", "failure_code": None})
        return await self._succeed(payment, attempt.id)

    async def fail_attempt(self, payment: Payment, attempt: Attempt, reason: str, *, counts_attempt: bool = False,
                           provider_ref: str | None = None, message: str = "") -> Payment:
        """The attempt is over: back to choosing a wallet, or failed when no attempts remain."""
        used = payment.attempts_count + (1 if counts_attempt else 0)
        target = states.FAILED if used >= self.settings.max_attempts_per_payment else states.REQUIRES_WALLET
        error = {"code": reason, "message": message or FAILURE_MESSAGES.get(reason, FAILURE_MESSAGES["declined"])}
        attempt_fields: dict[str, Any] = {"status": "failed", "failure_code": reason, "next_check_at": None}
        if provider_ref:
            attempt_fields["provider_ref"] = provider_ref
        return await self.service.apply(
            payment, target, "fail an attempt of",
            payment_fields={"next_action": None, "last_error": error, "attempts_count": used,
                            "current_attempt_id": attempt.id},
            attempt_id=attempt.id, attempt_expected_status=attempt.status, attempt_fields=attempt_fields)


def _account_key(attempt: Attempt) -> str:
    """The attempt's wallet account; attempts made before accounts were recorded count on their own."""
    return attempt.account_key or f"attempt:{attempt.id}"


def validate_details(wallet: WalletInfo, details: dict[str, str]) -> dict[str, str]:
    """The server checks every field again, whatever the widget did."""
    problems: dict[str, list[str]] = {}
    known = {field.name for field in wallet.fields}
    for name in details:
        if name not in known:
            problems[name] = ["Unknown field."]
    clean = {}
    for field in wallet.fields:
        value = details.get(field.name, "").strip()
        if not value:
            if field.required:
                problems[field.name] = ["This field is required."]
            continue
        if not re.fullmatch(field.pattern, value):
            problems[field.name] = [f"Not a valid {field.label_en}."]
            continue
        clean[field.name] = value
    if problems:
        raise ValidationFailed(problems)
    return clean
