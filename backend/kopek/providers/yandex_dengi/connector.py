"""The Yandex.Dengi connector: request-payment then process-payment (see protocol.py for the
mapping and its assumptions).

Flow: `start` prepares the payment with request-payment and calls process-payment, which
answers ext_auth_required: the shopper approves on the provider's page (REQUIRES_APPROVAL,
`next_action_url`). `fetch_status` calls process-payment again with the same request_id:
in_progress (PROCESSING, with the provider's `next_retry`), success or refused. The result
also arrives by HTTP notification, verified by `parse_callback`.

- `label` is the attempt id, so a notification's label is the attempt id; request-payment is
  idempotent on it, which lets the shared HTTP helper retry the start.
- `provider_ref` is the request_id; it is "" when the provider refused at request-payment.
- The bearer token is sent and never logged; no error message includes a request body.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Mapping
from urllib.parse import urlencode

import aiohttp

from kopek.providers import http as provider_http
from kopek.providers.contract import (
    AttemptRequest, CallbackEvent, CallbackReply, ConfirmationStyle, Outcome, ProviderError, ProviderResult,
    RefundResult, WalletField, WalletInfo, WalletLimits,
)
from kopek.providers.credentials import EnvCredentials, LiveEnv
from kopek.providers.yandex_dengi import protocol, refunds
from kopek.providers.yandex_dengi.protocol import Answer, Mapped

log = logging.getLogger(__name__)

INFO = WalletInfo(
    id="yandex_dengi",
    name_en="Yandex.Dengi",
    name_ru="Яндекс.Деньги",
    confirmation=ConfirmationStyle.APPROVE_IN_WALLET,
    fields=(
        WalletField(
            name="wallet",
            label_en="Wallet number",
            label_ru="Номер кошелька",
            input_type="tel",
            pattern=protocol.WALLET_PATTERN,
            placeholder="410011234567801",
            hint_en="15 digits, starting with 41001",
            hint_ru="15 цифр, начинается с 41001",
        ),
    ),
    limits=(WalletLimits("RUB", 1, 1_500_000),),
    status_check_after_s=5.0,
)

ENV_PREFIX = "KOPEK_YANDEX_DENGI_"
REQUEST_PAYMENT = "api/request-payment"
PROCESS_PAYMENT = "api/process-payment"


@dataclass(frozen=True)
class YandexDengiCredentials(EnvCredentials, protocol.Credentials):
    """The merchant's wallet, OAuth token and notification secret. Live mode needs
    KOPEK_YANDEX_DENGI_WALLET, KOPEK_YANDEX_DENGI_TOKEN and KOPEK_YANDEX_DENGI_NOTIFICATION_SECRET."""

    env_prefix = ENV_PREFIX
    wallet_name = "Yandex.Dengi"
    sandbox_credentials = protocol.SANDBOX_CREDENTIALS

    @classmethod
    def from_env(cls, env: LiveEnv) -> YandexDengiCredentials:
        wallet = env.required("WALLET", pattern=protocol.WALLET_RE, rule="15 digits starting with 41001")
        return cls(wallet, env.required("TOKEN"), env.required("NOTIFICATION_SECRET"))


class YandexDengiConnector:
    info: WalletInfo = INFO

    def __init__(self, *, base_url: str, credentials: YandexDengiCredentials,
                 http: aiohttp.ClientSession, timeout_s: float) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("the Yandex.Dengi base URL must be absolute: the shopper's browser opens it")
        self._base_url = base_url.rstrip("/")
        self._credentials = credentials
        self._http = http
        self._timeout_s = timeout_s

    async def start(self, request: AttemptRequest) -> ProviderResult:
        if not INFO.limits_for(request.currency):
            raise ProviderError(f"Yandex.Dengi takes only RUB, not {request.currency}")
        form = protocol.request_payment_form(
            self._credentials, label=request.attempt_id, amount_minor=request.amount,
            currency=request.currency, sender=request.details["wallet"], description=request.description,
            payment_id=request.payment_id, callback_url=request.callback_url,
        )
        answer = await self._post(REQUEST_PAYMENT, form)
        step = protocol.resolve(protocol.REQUEST_PAYMENT_STATUSES, answer.status, answer.error, "request-payment")
        if isinstance(step, Mapped):
            return self._result(step, "", answer)
        _check_request(answer, protocol.format_amount(request.amount, request.currency))
        return await self.fetch_status(answer.request_id)

    async def confirm(self, provider_ref: str, code: str) -> ProviderResult:
        raise ProviderError("Yandex.Dengi confirms in the wallet, not by code")

    async def resend_code(self, provider_ref: str) -> None:
        raise ProviderError("Yandex.Dengi sends no code to resend; the shopper approves in the wallet")

    async def refund(self, provider_ref: str, refund_id: str, amount: int, currency: str) -> RefundResult:
        return await refunds.refund(self._http, self._base_url, self._credentials, self._timeout_s,
                                    request_id=provider_ref, refund_id=refund_id, amount=amount, currency=currency)

    async def fetch_status(self, provider_ref: str) -> ProviderResult:
        if not protocol.REQUEST_ID_RE.fullmatch(provider_ref):
            raise ProviderError(f"not a Yandex.Dengi request_id: {provider_ref[:40]!r}")
        answer = await self._post(PROCESS_PAYMENT, protocol.process_payment_form(provider_ref))
        mapped = protocol.resolve(protocol.PROCESS_PAYMENT_STATUSES, answer.status, answer.error, "process-payment")
        assert isinstance(mapped, Mapped), "process-payment's table maps every status to an outcome"
        return self._result(mapped, provider_ref, answer)

    def parse_callback(self, body: bytes, headers: Mapping[str, str]) -> CallbackEvent:
        note = protocol.verify_notification(body, self._credentials.notification_secret)
        mapped = protocol.resolve(protocol.NOTIFICATION_STATUSES, note.status, note.error, "notification")
        assert isinstance(mapped, Mapped), "the notification table maps every status to an outcome"
        return CallbackEvent(
            provider_ref=note.request_id,
            attempt_id=note.label,
            outcome=mapped.outcome,
            amount=note.amount_minor,
            currency=note.currency,
            failure_code=mapped.failure_code,
            raw_status=note.status,
            extra={k: v for k, v in note.fields.items() if k != "sha1_hash"},
        )

    def callback_reply(self, accepted: bool) -> CallbackReply:
        # Yandex.Dengi wants HTTP 200 and retries anything else.
        return CallbackReply(status=200, body=b"") if accepted else CallbackReply(status=400, body=b"")

    def _result(self, mapped: Mapped, ref: str, answer: Answer) -> ProviderResult:
        approval = mapped.outcome is Outcome.REQUIRES_APPROVAL
        retry_ms = answer.next_retry_ms if mapped.outcome is Outcome.PROCESSING else None
        return ProviderResult(
            outcome=mapped.outcome,
            provider_ref=ref,
            failure_code=mapped.failure_code,
            failure_message=answer.error if mapped.outcome is Outcome.DECLINED else "",
            next_action_url=self._approval_url(ref) if approval else None,
            retry_after_s=retry_ms / 1000 if retry_ms is not None else None,
            raw_status=f"{answer.status}:{answer.error}" if answer.error else answer.status,
        )

    def _approval_url(self, request_id: str) -> str:
        return f"{self._base_url}/ext_auth?{urlencode({'request_id': request_id})}"

    async def _post(self, endpoint: str, form: Mapping[str, str]) -> Answer:
        # Both calls are idempotent (request-payment on the label, process-payment on the
        # request_id), so the shared helper may retry them.
        status, body = await provider_http.post(
            self._http, f"{self._base_url}/{endpoint}", protocol.encode_form(form),
            content_type=protocol.FORM_CONTENT_TYPE, timeout_s=self._timeout_s,
            headers=protocol.bearer(self._credentials.token),
        )
        if status == 401:
            raise ProviderError(f"Yandex.Dengi {endpoint} rejected the token (HTTP 401)")
        if status != 200:
            raise ProviderError(f"Yandex.Dengi {endpoint} answered HTTP {status}")
        answer = protocol.parse_answer(body)
        log.debug("yandex_dengi %s status=%s error=%s", endpoint, answer.status, answer.error)
        return answer


def _check_request(answer: Answer, amount: str) -> None:
    if not protocol.REQUEST_ID_RE.fullmatch(answer.request_id):
        raise ProviderError("Yandex.Dengi request-payment succeeded without a valid request_id")
    if answer.contract_amount is not None and answer.contract_amount != Decimal(amount):
        raise ProviderError(f"Yandex.Dengi would debit {answer.contract_amount}, not {amount}")
