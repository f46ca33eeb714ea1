"""The shopper's side of a payment: start an attempt with a wallet, relay the code.

Provider calls happen outside any database transaction but inside the payment's lock,
so a provider's callback waits until the step that caused it has been recorded.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Any, Mapping

from kopek import clock
from kopek.errors import InvalidRequest, InvalidState, KopekError, ProviderUnavailable, ValidationFailed
from kopek.ids import new_id
from kopek.payments import states
from kopek.payments.service import PaymentService
from kopek.payments.views import mask_account
from kopek.providers.contract import (
    AttemptRequest, Connector, Outcome, ProviderError, ProviderResult, WalletInfo,
)
from kopek.store.records import Attempt, Payment

log = logging.getLogger(__name__)

CODE_LIFETIME_S = 10 * 60
FAILURE_MESSAGES = {
    "declined": "The wallet declined the payment.",
    "insufficient_funds": "There is not enough money in the wallet.",
    "wallet_not_found": "No such wallet.",
    "limit_exceeded": "The wallet's limit does not allow this payment.",
    "code_attempts_exceeded": "Too many wrong codes.",
    "code_expired": "The code has expired.",
    "provider_error": "The wallet is not answering. Try again or choose another wallet.",
    "expired": "The payment has expired.",
}


class IncorrectCode(KopekError):
    code = "incorrect_code"


class AttemptFlow:
    def __init__(self, service: PaymentService, connectors: Mapping[str, Connector], callback_base: str) -> None:
        self.service = service
        self.connectors = connectors
        self.callback_base = callback_base

    # -- start ------------------------------------------------------------------------

    async def start(self, payment: Payment, wallet_id: str, details: dict[str, str], key: str) -> Payment:
        wallet = self._offered(payment, wallet_id)
        clean = validate_details(wallet, details)
        async with self.service.locks.hold(payment.id):
            payment = await self.service.expire_if_due(await self.service.reload(payment))
            if await self.service.store.find_attempt_by_key(payment.id, key):
                return payment  # a repeated request (double click): the first one's result stands
            states.check_move(payment.status, states.REQUIRES_CONFIRMATION, "start an attempt for")
            attempt = await self.service.store.insert_attempt(self._new_attempt(payment, wallet, clean, key))
            result = await self._call(self.connectors[wallet.id].start, AttemptRequest(
                attempt_id=attempt.id, payment_id=payment.id, amount=payment.amount,
                currency=payment.currency, description=payment.description, details=clean,
                callback_url=f"{self.callback_base}/v1/providers/{wallet.id}/callback"))
            return await self._record_start(payment, attempt, wallet, result)

    def _offered(self, payment: Payment, wallet_id: str) -> WalletInfo:
        for wallet in self.service.offered_wallets(payment):
            if wallet.id == wallet_id:
                return wallet
        raise InvalidRequest(f"wallet {wallet_id!r} is not offered for this payment",
                             param="wallet", code="wallet_unavailable")

    @staticmethod
    def _new_attempt(payment: Payment, wallet: WalletInfo, details: dict[str, str], key: str) -> Attempt:
        now = clock.now_iso()
        visible = [details[f.name] for f in wallet.fields if not f.secret and f.name in details]
        return Attempt(id=new_id("att"), payment_id=payment.id, wallet=wallet.id, idempotency_key=key,
                       status="starting", provider_ref=None,
                       account_hint=mask_account(visible[0]) if visible else "",
                       code_tries=0, failure_code=None, failure_message=None, created_at=now, updated_at=now)

    async def _record_start(self, payment: Payment, attempt: Attempt, wallet: WalletInfo,
                            result: ProviderResult) -> Payment:
        attempt_change = {"attempt_id": attempt.id, "attempt_expected_status": "starting"}
        base = {"wallet": wallet.id, "current_attempt_id": attempt.id, "last_error": None,
                "attempts_count": payment.attempts_count + 1}
        if result.outcome in (Outcome.REQUIRES_CODE, Outcome.REQUIRES_APPROVAL):
            fields = {**base, "next_action": self._next_action(payment, attempt, wallet, result)}
            return await self.service.apply(
                payment, states.REQUIRES_CONFIRMATION, "start an attempt for", payment_fields=fields,
                attempt_fields={"status": "requires_confirmation", "provider_ref": result.provider_ref},
                **attempt_change)
        if result.outcome is Outcome.PROCESSING or result.outcome is Outcome.SUCCEEDED:
            payment = await self.service.apply(
                payment, states.PROCESSING, "start an attempt for", payment_fields={**base, "next_action": None},
                attempt_fields={"status": "processing", "provider_ref": result.provider_ref}, **attempt_change)
            return await self._settle(payment, attempt.id, result)
        return await self.fail_attempt(payment, attempt.id, "starting", result.failure_code or "declined",
                                       counts_attempt=True, provider_ref=result.provider_ref or None)

    def _next_action(self, payment: Payment, attempt: Attempt, wallet: WalletInfo,
                     result: ProviderResult) -> dict[str, Any]:
        code_deadline = clock.to_iso(clock.now() + timedelta(seconds=CODE_LIFETIME_S))
        expires_at = min(code_deadline, payment.expires_at)
        if result.outcome is Outcome.REQUIRES_APPROVAL:
            return {"type": "approve_in_wallet", "url": result.next_action_url, "expires_at": expires_at}
        return {"type": "enter_code", "code_length": wallet.code_length, "sent_to": attempt.account_hint,
                "tries_left": self.service.settings.max_code_tries, "expires_at": expires_at}

    # -- confirm ----------------------------------------------------------------------

    async def confirm(self, payment: Payment, code: str) -> Payment:
        async with self.service.locks.hold(payment.id):
            payment = await self.service.expire_if_due(await self.service.reload(payment))
            states.check_move(payment.status, states.PROCESSING, "confirm")
            action = payment.next_action or {}
            if action.get("type") != "enter_code" or not payment.current_attempt_id:
                raise InvalidState(payment.status, "enter a code for")
            attempt = await self.service.store.get_attempt(payment.current_attempt_id)
            assert attempt is not None and attempt.provider_ref
            connector = self.connectors[attempt.wallet]
            result = await self._call(connector.confirm, attempt.provider_ref, code)
            return await self._record_confirm(payment, attempt, result)

    async def _record_confirm(self, payment: Payment, attempt: Attempt, result: ProviderResult) -> Payment:
        if result.outcome is Outcome.WRONG_CODE:
            return await self._wrong_code(payment, attempt)
        if result.failure_code == "code_attempts_exceeded":
            return await self._lock_out(payment, attempt)
        if result.outcome in (Outcome.PROCESSING, Outcome.SUCCEEDED):
            payment = await self.service.apply(
                payment, states.PROCESSING, "confirm", payment_fields={"next_action": None},
                attempt_id=attempt.id, attempt_expected_status="requires_confirmation",
                attempt_fields={"status": "processing"})
            return await self._settle(payment, attempt.id, result)
        return await self.fail_attempt(payment, attempt.id, "requires_confirmation",
                                       result.failure_code or "declined")

    async def _wrong_code(self, payment: Payment, attempt: Attempt) -> Payment:
        max_tries = self.service.settings.max_code_tries
        tries = attempt.code_tries + 1
        if tries >= max_tries:
            return await self._lock_out(payment, attempt)
        tries_left = max_tries - tries
        await self.service.update_quietly(
            payment, payment_fields={"next_action": {**(payment.next_action or {}), "tries_left": tries_left}},
            attempt_id=attempt.id, attempt_expected_status="requires_confirmation",
            attempt_fields={"code_tries": tries})
        raise IncorrectCode(f"The code is wrong; {tries_left} {'try' if tries_left == 1 else 'tries'} left.",
                            param="code", extra={"tries_left": tries_left})

    async def _lock_out(self, payment: Payment, attempt: Attempt) -> Payment:
        await self.fail_attempt(payment, attempt.id, "requires_confirmation", "code_attempts_exceeded")
        raise KopekError("Too many wrong codes; this attempt is over. Choose a wallet again.",
                         param="code", code="code_attempts_exceeded")

    # -- endings ----------------------------------------------------------------------

    async def _settle(self, payment: Payment, attempt_id: str, result: ProviderResult) -> Payment:
        """A provider that answers 'succeeded' at once finishes the payment right away."""
        if result.outcome is not Outcome.SUCCEEDED:
            return payment
        return await self.service.apply(payment, states.SUCCEEDED, "complete", attempt_id=attempt_id,
                                        attempt_expected_status="processing",
                                        attempt_fields={"status": "succeeded"})

    async def fail_attempt(self, payment: Payment, attempt_id: str, attempt_status: str, reason: str, *,
                           counts_attempt: bool = False, provider_ref: str | None = None) -> Payment:
        """The attempt is over: back to choosing a wallet, or failed when no attempts remain."""
        used = payment.attempts_count + (1 if counts_attempt else 0)
        target = states.FAILED if used >= self.service.settings.max_attempts_per_payment else states.REQUIRES_WALLET
        error = {"code": reason, "message": FAILURE_MESSAGES.get(reason, FAILURE_MESSAGES["declined"])}
        attempt_fields: dict[str, Any] = {"status": "failed", "failure_code": reason}
        if provider_ref:
            attempt_fields["provider_ref"] = provider_ref
        return await self.service.apply(
            payment, target, "fail an attempt of",
            payment_fields={"next_action": None, "last_error": error, "attempts_count": used,
                            "current_attempt_id": attempt_id},
            attempt_id=attempt_id, attempt_expected_status=attempt_status, attempt_fields=attempt_fields)

    @staticmethod
    async def _call(method: Any, *args: Any) -> ProviderResult:
        try:
            return await method(*args)
        except ProviderError as exc:
            log.warning("provider call %s failed: %s", getattr(method, "__qualname__", method), exc)
            raise ProviderUnavailable("The wallet provider is not answering; try again shortly.") from exc


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
