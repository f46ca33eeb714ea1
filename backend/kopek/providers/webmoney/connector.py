"""The WebMoney connector: X20 over HTTP (see protocol.py for the mapping and its assumptions).

Flow: `start` sends XMLTransRequest, WebMoney texts a code to the shopper (REQUIRES_CODE);
`resend_code` asks XMLTransResend to text the same code again; `confirm` relays the code
with XMLTransConfirm (PROCESSING: the result comes by the Result URL notification);
`fetch_status` asks XMLTransGet; `parse_callback` verifies the notification's LMI_HASH over
the raw form fields.

Requests go through `kopek.providers.http.post`. XMLTransRequest (idempotent by
lmi_payment_no) and XMLTransGet are retried on 5xx, timeouts and connection errors.
XMLTransConfirm and XMLTransResend are sent once: a retried confirm could relay a code
twice, and a retried resend could text it twice.

- `lmi_payment_no` is the attempt id, so the notification's LMI_PAYMENT_NO is the attempt id.
- The payment id travels in the extension element `kopek_payment_id`, and the attempt's
  callback_url in `kopek_result_url`. The real service ignores both and posts to the Result
  URL configured for the purse, which must then point at Kopek's callback endpoint.
- `provider_ref` is "<payee purse>:<wminvoiceid>", because confirm and status need both.
  It is None when WebMoney created no invoice (a decline at start).
- The code is relayed and never logged; no error message includes a request body.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

import aiohttp

from kopek.providers.contract import (
    AttemptRequest, BadSignature, CallbackEvent, CallbackReply, ConfirmationStyle, Outcome,
    ProviderError, ProviderResult, RefundResult, WalletField, WalletInfo, WalletLimits,
)
from kopek.providers.credentials import EnvCredentials, LiveEnv
from kopek.providers.http import post
from kopek.providers.webmoney import protocol, refunds

log = logging.getLogger(__name__)

INFO = WalletInfo(
    id="webmoney",
    name_en="WebMoney",
    name_ru="WebMoney",
    confirmation=ConfirmationStyle.ENTER_CODE,
    fields=(
        WalletField(
            name="account",
            label_en="WMID, purse or phone",
            label_ru="WMID, кошелёк или телефон",
            input_type="text",
            pattern=protocol.ACCOUNT_PATTERN,
            placeholder="R123456789012",
            hint_en="12-digit WMID, purse like R123456789012, or phone +7XXXXXXXXXX",
            hint_ru="WMID из 12 цифр, кошелёк вида R123456789012 или телефон +7XXXXXXXXXX",
        ),
    ),
    limits=(
        WalletLimits("RUB", 1, 1_500_000),
        WalletLimits("USD", 1, 20_000),
        WalletLimits("EUR", 1, 20_000),
    ),
    code_length=6,
    can_resend_code=True,
)

ENV_PREFIX = "KOPEK_WEBMONEY_"


@dataclass(frozen=True)
class WebMoneyCredentials(EnvCredentials, protocol.MerchantCredentials):
    """The merchant's WMID, payee purses per currency, and the two secrets.

    Live mode needs KOPEK_WEBMONEY_WMID, KOPEK_WEBMONEY_SECRET_KEY, KOPEK_WEBMONEY_NOTIFY_SECRET
    and at least one of KOPEK_WEBMONEY_PURSE_RUB / _USD / _EUR.
    """

    env_prefix = ENV_PREFIX
    wallet_name = "WebMoney"
    sandbox_credentials = protocol.SANDBOX_CREDENTIALS

    @classmethod
    def from_env(cls, env: LiveEnv) -> WebMoneyCredentials:
        wmid = env.required("WMID", pattern=protocol.WMID_PATTERN, rule="12 digits")
        purses = _purses_from_env(env)
        return cls(wmid, purses, env.required("SECRET_KEY"), env.required("NOTIFY_SECRET"))


def _purses_from_env(env: LiveEnv) -> Mapping[str, str]:
    purses = {}
    for limits in INFO.limits:
        variable = f"PURSE_{limits.currency}"
        purse = env.optional(variable)
        if not purse:
            continue
        if not protocol.PURSE_PATTERN.fullmatch(purse) or protocol.PURSE_CURRENCIES[purse[0]] != limits.currency:
            raise ValueError(f"{env.name(variable)} is not a {limits.currency} purse: {purse!r}")
        purses[limits.currency] = purse
    if not purses:
        names = ", ".join(env.name(f"PURSE_{lim.currency}") for lim in INFO.limits)
        raise ValueError(f"live mode needs at least one WebMoney payee purse ({names})")
    return MappingProxyType(purses)


class WebMoneyConnector:
    info: WalletInfo = INFO

    def __init__(self, *, base_url: str, credentials: WebMoneyCredentials,
                 http: aiohttp.ClientSession, timeout_s: float) -> None:
        self._base_url = base_url.rstrip("/")
        self._credentials = credentials
        self._http = http
        self._timeout_s = timeout_s

    async def start(self, request: AttemptRequest) -> ProviderResult:
        purse = self._credentials.purse_for(request.currency)
        if purse is None:
            raise ProviderError(f"no WebMoney payee purse is configured for {request.currency}")
        body = protocol.trans_request_xml(
            self._credentials, purse=purse, payment_no=request.attempt_id,
            amount_minor=request.amount, currency=request.currency,
            description=request.description, account=request.details["account"],
            payment_id=request.payment_id, result_url=request.callback_url,
        )
        response = await self._post("XMLTransRequest.asp", body, retry=True)
        mapped = protocol.resolve_retval(protocol.TRANS_REQUEST_RETVALS, response, "XMLTransRequest")
        ref = protocol.provider_ref(purse, response.invoice_id) if response.invoice_id else None
        if mapped.outcome is Outcome.REQUIRES_CODE and not ref:
            raise ProviderError("WebMoney XMLTransRequest succeeded without a wminvoiceid")
        return _result(mapped, ref, response)

    async def confirm(self, provider_ref: str, code: str) -> ProviderResult:
        purse, invoice_id = protocol.split_provider_ref(provider_ref)
        body = protocol.trans_confirm_xml(self._credentials, purse=purse, invoice_id=invoice_id, code=code)
        response = await self._post("XMLTransConfirm.asp", body, retry=False)
        mapped = protocol.resolve_retval(protocol.TRANS_CONFIRM_RETVALS, response, "XMLTransConfirm")
        return _result(mapped, provider_ref, response)

    async def fetch_status(self, provider_ref: str) -> ProviderResult:
        purse, invoice_id = protocol.split_provider_ref(provider_ref)
        body = protocol.trans_get_xml(self._credentials, purse=purse, invoice_id=invoice_id)
        response = await self._post("XMLTransGet.asp", body, retry=True)
        return _result(protocol.resolve_status(response), provider_ref, response)

    async def resend_code(self, provider_ref: str) -> None:
        """Text the same code again; raises ProviderError once the resends are used up."""
        purse, invoice_id = protocol.split_provider_ref(provider_ref)
        body = protocol.trans_resend_xml(self._credentials, purse=purse, invoice_id=invoice_id)
        response = await self._post("XMLTransResend.asp", body, retry=False)
        protocol.resolve_retval(protocol.TRANS_RESEND_RETVALS, response, "XMLTransResend")

    async def refund(self, provider_ref: str, refund_id: str, amount: int, currency: str) -> RefundResult:
        return await refunds.refund(self._http, self._base_url, self._credentials, self._timeout_s,
                                    provider_ref=provider_ref, refund_id=refund_id, amount=amount, currency=currency)

    def parse_callback(self, body: bytes, headers: Mapping[str, str]) -> CallbackEvent:
        note = protocol.verify_notification(body, self._credentials.notify_secret)
        currency = self._credentials.currency_of(note.purse)
        if currency is None:
            raise BadSignature("notification is for a purse that is not ours")
        mapped = protocol.resolve_state(protocol.NOTIFICATION_STATES, note.state, "notification")
        return CallbackEvent(
            provider_ref=protocol.provider_ref(note.purse, note.invoice_id),
            attempt_id=note.payment_no,
            outcome=mapped.outcome,
            amount=note.amount_minor,
            currency=currency,
            failure_code=mapped.failure_code,
            raw_status=note.state,
            extra={k: v for k, v in note.fields.items() if k != "LMI_HASH"},
        )

    def callback_reply(self, accepted: bool) -> CallbackReply:
        # WebMoney treats anything but "YES" as a failed delivery and tries again.
        return CallbackReply(status=200, body=b"YES") if accepted else CallbackReply(status=400, body=b"NO")

    async def _post(self, endpoint: str, body: bytes, *, retry: bool) -> protocol.X20Response:
        status, answer = await post(self._http, f"{self._base_url}/{endpoint}", body, retry=retry,
                                    content_type="text/xml; charset=utf-8", timeout_s=self._timeout_s)
        if not 200 <= status < 300:
            raise ProviderError(f"WebMoney {endpoint} answered HTTP {status}")
        response = protocol.parse_response(answer)
        log.debug("webmoney %s retval=%s", endpoint, response.retval)
        return response


def _result(mapped: protocol.Mapped, ref: str | None, response: protocol.X20Response) -> ProviderResult:
    failed = mapped.outcome is Outcome.DECLINED
    return ProviderResult(
        outcome=mapped.outcome,
        provider_ref=ref,
        failure_code=mapped.failure_code,
        failure_message=(response.userdesc or response.retdesc) if failed else "",
        raw_status=response.state or f"retval {response.retval}",
    )
