"""The e-port connector: an account + PIN debit, JSON over HTTP (protocol.py has the design).

Flow: `start` POSTs the debit with the shopper's account and PIN; e-port answers at once
with a failure, or accepts the debit (PROCESSING) and later notifies its final state.
`fetch_status` asks for the debit's current result. There is no code to confirm.

- `merchant_reference` is the attempt id, and e-port dedupes by it, so the start call is
  idempotent and the shared HTTP client may retry it.
- `provider_ref` is e-port's debit id. A debit exists even when e-port refused it at
  once, so a declined start has a provider_ref whose status can be fetched.
- The PIN goes only into the request body; no log line or error message includes a body.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Mapping

import aiohttp

from kopek.providers.contract import (
    AttemptRequest, CallbackEvent, CallbackReply, ConfirmationStyle, ProviderError, ProviderResult,
    RefundResult, WalletField, WalletInfo,
)
from kopek.providers.credentials import EnvCredentials, LiveEnv
from kopek.providers.eport import protocol, refunds
from kopek.providers.http import post

log = logging.getLogger(__name__)

INFO = WalletInfo(
    id="eport",
    name_en="e-port",
    name_ru="e-port",
    confirmation=ConfirmationStyle.NONE,
    fields=(
        WalletField(
            name="account",
            label_en="e-port account number",
            label_ru="Номер счёта e-port",
            input_type="tel",
            pattern=protocol.ACCOUNT_PATTERN,
            placeholder="1000000001",
            hint_en="10 digits",
            hint_ru="10 цифр",
        ),
        WalletField(
            name="pin",
            label_en="PIN",
            label_ru="PIN-код",
            input_type="password",
            pattern=protocol.PIN_PATTERN,
            hint_en="4 digits",
            hint_ru="4 цифры",
            autocomplete="off",
            secret=True,
        ),
    ),
    limits=protocol.LIMITS,
    status_check_after_s=10.0,
)

ENV_PREFIX = "KOPEK_EPORT_"


@dataclass(frozen=True)
class EportCredentials(EnvCredentials, protocol.MerchantCredentials):
    """The merchant id and the two secrets (requests, notifications). Live mode needs
    KOPEK_EPORT_MERCHANT_ID, KOPEK_EPORT_SECRET and KOPEK_EPORT_NOTIFY_SECRET."""

    env_prefix = ENV_PREFIX
    wallet_name = "e-port"
    sandbox_credentials = protocol.SANDBOX_CREDENTIALS

    @classmethod
    def from_env(cls, env: LiveEnv) -> EportCredentials:
        return cls(*(env.required(name) for name in ("MERCHANT_ID", "SECRET", "NOTIFY_SECRET")))


class EportConnector:
    info: WalletInfo = INFO

    def __init__(self, *, base_url: str, credentials: EportCredentials,
                 http: aiohttp.ClientSession, timeout_s: float) -> None:
        self._base_url = base_url.rstrip("/")
        self._credentials = credentials
        self._http = http
        self._timeout_s = timeout_s

    async def start(self, request: AttemptRequest) -> ProviderResult:
        try:
            debit = protocol.DebitRequest(
                account=request.details.get("account", ""), pin=request.details.get("pin", ""),
                amount=request.amount, currency=request.currency, merchant_reference=request.attempt_id,
                description=request.description, notify_url=request.callback_url,
                payment_id=request.payment_id,
            )
        except ValueError as exc:   # the message names the field, never its value
            raise ProviderError(str(exc)) from None
        answer = await self._call(protocol.debit_request(self._credentials, debit))
        mapped = protocol.resolve(protocol.START_RESULTS, answer, "debit")
        operation = _operation_of(answer, "debit")
        if operation.merchant_reference != request.attempt_id:
            raise ProviderError("e-port answered a debit for another merchant_reference")
        return _result(mapped, operation, answer)

    async def confirm(self, provider_ref: str, code: str) -> ProviderResult:
        raise ProviderError("e-port debits need no confirmation: the PIN authorises them")

    async def resend_code(self, provider_ref: str) -> None:
        raise ProviderError("e-port sends no confirmation codes")

    async def fetch_status(self, provider_ref: str) -> ProviderResult:
        try:
            signed = protocol.status_request(self._credentials, provider_ref)
        except ValueError as exc:
            raise ProviderError(str(exc)) from None
        answer = await self._call(signed)
        mapped = protocol.resolve(protocol.STATUS_RESULTS, answer, "status")
        operation = _operation_of(answer, "status")
        if operation.debit_id != provider_ref:
            raise ProviderError("e-port answered the status of another debit")
        return _result(mapped, operation, answer)

    async def refund(self, provider_ref: str, refund_id: str, amount: int, currency: str) -> RefundResult:
        return await refunds.refund(self._http, self._base_url, self._credentials, self._timeout_s,
                                    debit_id=provider_ref, refund_id=refund_id, amount=amount, currency=currency)

    def parse_callback(self, body: bytes, headers: Mapping[str, str]) -> CallbackEvent:
        notice = protocol.verify_notice(body, headers, self._credentials)
        mapped = protocol.resolve_notice(notice)
        extra = {"sent_at": notice.sent_at}
        if notice.failure_result is not None:
            extra["failure_result"] = str(notice.failure_result)
        return CallbackEvent(
            provider_ref=notice.debit_id,
            attempt_id=notice.merchant_reference,
            outcome=mapped.outcome,
            amount=notice.amount,
            currency=notice.currency,
            failure_code=mapped.failure_code,
            raw_status=notice.state,
            extra=extra,
        )

    def callback_reply(self, accepted: bool) -> CallbackReply:
        # e-port counts a delivery as done only on 200 {"ok":true}, and retries anything else.
        if accepted:
            return CallbackReply(status=200, body=b'{"ok":true}', content_type=protocol.CONTENT_TYPE)
        return CallbackReply(status=400, body=b'{"ok":false}', content_type=protocol.CONTENT_TYPE)

    async def _call(self, signed: protocol.SignedRequest) -> protocol.Answer:
        status, body = await post(self._http, self._base_url + signed.path, signed.body,
                                  content_type=protocol.CONTENT_TYPE, timeout_s=self._timeout_s,
                                  headers=signed.headers)
        try:
            answer = protocol.parse_answer(body)
        except ProviderError as exc:
            raise ProviderError(f"e-port {signed.path} answered HTTP {status}: {exc}") from None
        expected = protocol.HTTP_STATUSES.get(answer.result)
        if expected is not None and expected != status:
            raise ProviderError(f"e-port {signed.path} answered result {answer.result} with HTTP {status}")
        log.debug("eport %s result=%s", signed.path, answer.result)
        return answer


def _operation_of(answer: protocol.Answer, what: str) -> protocol.Operation:
    if answer.operation is None:
        raise ProviderError(f"e-port {what} answered result {answer.result} without an operation")
    return answer.operation


def _result(mapped: protocol.Mapped, operation: protocol.Operation, answer: protocol.Answer) -> ProviderResult:
    return ProviderResult(
        outcome=mapped.outcome,
        provider_ref=operation.debit_id,
        failure_code=mapped.failure_code,
        failure_message=answer.message if mapped.failure_code else "",
        raw_status=f"result {answer.result} ({operation.state})",
    )
