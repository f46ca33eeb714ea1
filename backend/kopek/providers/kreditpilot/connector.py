"""The KreditPilot connector: JSON-RPC over HTTP (see protocol.py for the mapping and its assumptions).

Flow: `start` calls card.charge with the card number and PIN. A `hold` is PROCESSING (the
result comes by notification, or by `fetch_status` calling charge.status); a refusal about
the card is DECLINED at once. There is nothing to confirm: the PIN authorises the charge.

- `order_ref` is the attempt id, and KreditPilot dedupes on it, so `start` is safe to retry.
- `provider_ref` is the charge id; a declined charge has one too (error.data.charge_id).
- The PIN goes into the request body only. No log line, error or stored value includes it.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping, NoReturn

import aiohttp

from kopek.providers import http as provider_http
from kopek.providers.contract import (
    AttemptRequest, BadSignature, CallbackEvent, CallbackReply, ConfirmationStyle, ProviderError,
    ProviderResult, RefundResult, UnknownProviderStatus, WalletField, WalletInfo, WalletLimits,
)
from kopek.providers.credentials import EnvCredentials, LiveEnv
from kopek.providers.kreditpilot import protocol, refunds
from kopek.providers.kreditpilot.protocol import Method

log = logging.getLogger(__name__)

INFO = WalletInfo(
    id="kreditpilot",
    name_en="KreditPilot",
    name_ru="КредитПилот",
    confirmation=ConfirmationStyle.NONE,
    fields=(
        WalletField(
            name="card",
            label_en="Prepaid card number",
            label_ru="Номер предоплаченной карты",
            input_type="tel",
            pattern=protocol.CARD_PATTERN,
            placeholder="7000000000000001",
            hint_en="16 digits, without spaces",
            hint_ru="16 цифр без пробелов",
        ),
        WalletField(
            name="pin",
            label_en="Card PIN",
            label_ru="PIN карты",
            input_type="password",
            pattern=protocol.PIN_PATTERN,
            hint_en="4 digits",
            hint_ru="4 цифры",
            secret=True,
        ),
    ),
    limits=(WalletLimits("RUB", 1, 300_000),),
    status_check_after_s=10.0,
)

ENV_PREFIX = "KOPEK_KREDITPILOT_"


@dataclass(frozen=True)
class KreditPilotCredentials(EnvCredentials, protocol.MerchantCredentials):
    """The merchant's key id and the two secrets. Live mode needs KOPEK_KREDITPILOT_KEY_ID,
    KOPEK_KREDITPILOT_SECRET and KOPEK_KREDITPILOT_NOTIFY_SECRET."""

    env_prefix = ENV_PREFIX
    wallet_name = "KreditPilot"
    sandbox_credentials = protocol.SANDBOX_CREDENTIALS

    @classmethod
    def from_env(cls, env: LiveEnv) -> KreditPilotCredentials:
        key_id = env.required("KEY_ID", pattern=protocol.KEY_ID_PATTERN, rule="1 to 64 letters, digits, '_' or '-'")
        return cls(key_id, env.required("SECRET"), env.required("NOTIFY_SECRET"))


class KreditPilotConnector:
    info: WalletInfo = INFO

    def __init__(self, *, base_url: str, credentials: protocol.MerchantCredentials, http: aiohttp.ClientSession,
                 timeout_s: float, clock: Callable[[], float] = time.time) -> None:
        self._url = f"{base_url.rstrip('/')}/rpc"
        self._credentials = credentials
        self._http = http
        self._timeout_s = timeout_s
        self._clock = clock

    async def start(self, request: AttemptRequest) -> ProviderResult:
        charge = protocol.ChargeRequest(
            card=request.details["card"], pin=request.details["pin"], amount=request.amount,
            currency=request.currency, order_ref=request.attempt_id, notify_url=request.callback_url,
            description=request.description, kopek_payment_id=request.payment_id,
        )
        reply = await self._rpc(Method.CHARGE, charge.params())
        if reply.error is not None:
            return _declined(reply.error, Method.CHARGE)
        answered = _charge_of(reply, Method.CHARGE)
        asked = (charge.order_ref, charge.amount, charge.currency)
        if (answered.order_ref, answered.amount, answered.currency) != asked:
            raise ProviderError("KreditPilot card.charge answered a charge for another order or amount")
        return _result(answered, Method.CHARGE)

    async def fetch_status(self, provider_ref: str) -> ProviderResult:
        reply = await self._rpc(Method.STATUS, {"charge_id": protocol.check_charge_id(provider_ref)})
        if reply.error is not None:
            _refuse(reply.error, Method.STATUS)
        charge = _charge_of(reply, Method.STATUS)
        if charge.charge_id != provider_ref:
            raise ProviderError("KreditPilot charge.status answered about another charge")
        return _result(charge, Method.STATUS)

    async def card_balance(self, card: str, pin: str) -> int:
        """The card's balance in kopecks (the sandbox page and tests; not part of the contract)."""
        reply = await self._rpc(Method.BALANCE, {"card": card, "pin": pin})
        if reply.error is not None:
            _refuse(reply.error, Method.BALANCE)
        balance = (reply.result or {}).get("balance")
        if type(balance) is not int or balance < 0:
            raise ProviderError("KreditPilot card.balance answered without a balance")
        return balance

    async def refund(self, provider_ref: str, refund_id: str, amount: int, currency: str) -> RefundResult:
        return await refunds.refund(self._rpc, charge_id=provider_ref, refund_id=refund_id, amount=amount,
                                    currency=currency)

    async def confirm(self, provider_ref: str, code: str) -> ProviderResult:
        raise ProviderError("KreditPilot charges are authorised by the PIN; there is nothing to confirm")

    async def resend_code(self, provider_ref: str) -> None:
        raise ProviderError("KreditPilot sends no codes")

    def parse_callback(self, body: bytes, headers: Mapping[str, str]) -> CallbackEvent:
        header = _header(headers, protocol.SIGNATURE_HEADER)
        charge = protocol.verify_notification(body, header, self._credentials.notify_secret, self._clock())
        try:
            mapped = protocol.resolve_charge(charge, "notification")
        except UnknownProviderStatus:
            raise
        except ProviderError as exc:
            raise BadSignature(f"malformed notification: {exc}") from None
        return CallbackEvent(
            provider_ref=charge.charge_id, attempt_id=charge.order_ref, outcome=mapped.outcome,
            amount=charge.amount, currency=charge.currency, failure_code=mapped.failure_code,
            raw_status=charge.state,
            extra={} if charge.error_code is None else {"error_code": str(charge.error_code)},
        )

    def callback_reply(self, accepted: bool) -> CallbackReply:
        # KreditPilot resends a notice until it is answered 200 "OK".
        return CallbackReply(status=200, body=b"OK") if accepted else CallbackReply(status=400, body=b"REJECTED")

    async def _rpc(self, method: Method, params: Mapping[str, Any]) -> protocol.RpcReply:
        request_id = secrets.token_hex(8)
        body = protocol.rpc_request(method, params, request_id)
        headers = {"Authorization": protocol.authorization(self._credentials, int(self._clock()), body)}
        # Every method is idempotent (card.charge dedupes on order_ref), so 5xx and timeouts are retried.
        status, answer = await provider_http.post(self._http, self._url, body, content_type="application/json",
                                                  timeout_s=self._timeout_s, headers=headers)
        if status != 200:
            raise ProviderError(f"KreditPilot {method.value} answered HTTP {status}")
        reply = protocol.parse_reply(answer, request_id)
        log.debug("kreditpilot %s -> %s", method.value,
                  f"error {reply.error.code}" if reply.error else (reply.result or {}).get("state"))
        return reply


def _header(headers: Mapping[str, str], name: str) -> str:
    """Case-insensitive, whether `headers` is aiohttp's CIMultiDict or a plain dict."""
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), "")


def _charge_of(reply: protocol.RpcReply, method: Method) -> protocol.Charge:
    assert reply.result is not None
    try:
        return protocol.parse_charge(reply.result)
    except ProviderError as exc:
        raise ProviderError(f"KreditPilot {method.value}: {exc}") from None


def _result(charge: protocol.Charge, method: Method) -> ProviderResult:
    mapped = protocol.resolve_charge(charge, method.value)
    return ProviderResult(outcome=mapped.outcome, provider_ref=charge.charge_id,
                          failure_code=mapped.failure_code, raw_status=charge.state)


def _refuse(error: protocol.RpcError, method: Method) -> NoReturn:
    """An error where no charge is being made: always a ProviderError (UnknownProviderStatus if unknown)."""
    mapped = protocol.resolve_error(error.code, method.value)
    raise ProviderError(f"KreditPilot {method.value} refused: error {error.code} ({mapped.failure_code})")


def _declined(error: protocol.RpcError, method: Method) -> ProviderResult:
    """An error about the card is the shopper's outcome; every other error raises."""
    mapped = protocol.resolve_error(error.code, method.value)
    return ProviderResult(outcome=mapped.outcome, provider_ref=error.charge_id, failure_code=mapped.failure_code,
                          failure_message=error.message, raw_status=f"error {error.code}")
