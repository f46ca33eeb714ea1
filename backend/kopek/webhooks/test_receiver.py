"""The sandbox's built-in webhook receiver: it accepts Kopek's own webhooks for a merchant,
checks each signature with Kopek's signing code against the secrets of that merchant's test
endpoints that point at it, and keeps a short memory of what arrived for the sandbox console.

Bounded: the last MAX_PER_MERCHANT webhooks of at most MAX_MERCHANTS merchants (least
recently used dropped first), and every text kept is cut to MAX_TEXT characters. Nothing
here is logged, so no secret or body can reach a log.
"""

from __future__ import annotations

import hmac
import time
from collections import OrderedDict, deque
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Mapping

from kopek import clock, strict_json
from kopek.keyring import PurposeKeys
from kopek.store.webhooks import WebhookEndpoint
from kopek.webhooks import signing

MAX_PER_MERCHANT = 50
MAX_MERCHANTS = 1000
MAX_TEXT = 100
MAX_SIGNATURES = 8          # a rotation sends two; more is not Kopek
TOLERANCE_S = 300           # as Standard Webhooks libraries: older or newer than 5 minutes is refused
RECEIVER_PATH = "/sandbox/webhook-receiver/{merchant_id}"


def receiver_url(public_base_url: str, merchant_id: str) -> str:
    return public_base_url + RECEIVER_PATH.format(merchant_id=merchant_id)


@dataclass(frozen=True)
class Received:
    received_at: str
    webhook_id: str | None
    type: str | None
    payment_id: str | None
    verified: bool

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def signature_valid(secrets: Iterable[str], headers: Mapping[str, str], body: bytes, now_s: float) -> bool:
    """Standard Webhooks: one of the `v1,` signatures is the HMAC of id.timestamp.body under a secret,
    and the timestamp is recent. Compared in constant time."""
    msg_id, timestamp = headers.get("webhook-id", ""), headers.get("webhook-timestamp", "")
    given = headers.get("webhook-signature", "").split()[:MAX_SIGNATURES]
    if not msg_id or not timestamp.isdigit() or abs(now_s - int(timestamp)) > TOLERANCE_S:
        return False
    expected = [signing.sign(secret, msg_id, int(timestamp), body) for secret in secrets]
    return any(hmac.compare_digest(one.encode(), want.encode()) for one in given for want in expected)


def summary(body: bytes) -> tuple[str | None, str | None]:
    """(event type, payment id) as the body claims them; None where it does not say."""
    try:
        event = strict_json.loads(body)
        found = event.get("data", {}).get("object", {})
        payment_id = found.get("id") if found.get("object") == "payment" else found.get("payment")
        return _text(event.get("type")), _text(payment_id)
    except (ValueError, AttributeError):
        return None, None


def _text(value: Any) -> str | None:
    return value[:MAX_TEXT] if isinstance(value, str) else None


class BuiltInReceiver:
    def __init__(self, secret_keys: PurposeKeys) -> None:
        self._secret_keys = secret_keys
        self._by_merchant: OrderedDict[str, deque[Received]] = OrderedDict()

    def receive(self, merchant_id: str, endpoints: Iterable[WebhookEndpoint], headers: Mapping[str, str],
                body: bytes) -> Received:
        """Checks and remembers one delivery; `endpoints` are the merchant's test endpoints aimed here."""
        secrets = [s for endpoint in endpoints for s in signing.signing_secrets(self._secret_keys.accepted(), endpoint)]
        event_type, payment_id = summary(body)
        received = Received(clock.now_iso(), _text(headers.get("webhook-id")), event_type, payment_id,
                            signature_valid(secrets, headers, body, time.time()))
        self._log(merchant_id).appendleft(received)
        return received

    def received(self, merchant_id: str) -> list[Received]:
        """Newest first."""
        return list(self._by_merchant.get(merchant_id, ()))

    def _log(self, merchant_id: str) -> deque[Received]:
        log = self._by_merchant.pop(merchant_id, None) or deque(maxlen=MAX_PER_MERCHANT)
        self._by_merchant[merchant_id] = log
        while len(self._by_merchant) > MAX_MERCHANTS:
            self._by_merchant.popitem(last=False)
        return log


