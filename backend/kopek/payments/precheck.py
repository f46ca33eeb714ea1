"""The pre-check: before Kopek relays an attempt to a provider, it may ask the shop whether the
order can still be paid (stock, price), as WebMoney's pre-request and CloudPayments' Check do.

Kopek POSTs the payment, signed like a webhook (Standard Webhooks headers, with the merchant's
check secret), and gives the shop a strict time budget. The shop answers
`{"allow": true}` or `{"allow": false, "message": "Sold out"}`; the shopper sees the message.
A timeout, an error or an answer that is not that JSON falls back to the merchant's default.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import aiohttp

from kopek import strict_json
from kopek.ids import new_id
from kopek.keyring import PurposeKeys
from kopek.store.records import Merchant
from kopek.webhooks.guard import refusal
from kopek.webhooks.signing import SECRET_PREFIX, signature_header

log = logging.getLogger(__name__)

MAX_ANSWER_BYTES = 4096
MAX_MESSAGE_CHARS = 200


@dataclass(frozen=True)
class Verdict:
    allow: bool
    message: str = ""
    reason: str = "answered"   # answered | timeout | error | garbage | refused (the SSRF guard)


def check_secret(instance_key: bytes, merchant_id: str) -> str:
    """Derived, never stored: shown to the merchant when the check URL is set."""
    raw = hmac.new(instance_key, f"check:{merchant_id}".encode(), hashlib.sha256).digest()
    return SECRET_PREFIX + base64.b64encode(raw).decode()


def signature_headers(secrets: list[str], message_id: str, body: bytes, timestamp: int) -> dict[str, str]:
    """Signed with every accepted check secret, so a shop that still has the old one (during a key
    rotation's grace) verifies too."""
    return {"webhook-id": message_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": signature_header(secrets, message_id, timestamp, body),
            "Content-Type": "application/json"}


class PreCheck:
    def __init__(self, http: aiohttp.ClientSession, check_keys: PurposeKeys, timeout_s: float) -> None:
        self.http = http
        self.check_keys = check_keys
        self.timeout_s = timeout_s

    async def ask(self, merchant: Merchant, payment: dict[str, Any], wallet: str) -> Verdict:
        if not merchant.check_url:
            return Verdict(True, reason="no_check")
        default = merchant.check_on_timeout == "allow"
        body = json.dumps({"type": "payment.check", "wallet": wallet, "data": {"object": payment}},
                          separators=(",", ":")).encode()
        headers = signature_headers([check_secret(key, merchant.id) for key in self.check_keys.accepted()],
                                    new_id("chk"), body, int(time.time()))
        headers["Accept-Encoding"] = "identity"  # the session does not decompress answers
        try:
            async with self.http.post(merchant.check_url, data=body, headers=headers, allow_redirects=False,
                                      timeout=aiohttp.ClientTimeout(total=self.timeout_s)) as response:
                answer = await response.content.read(MAX_ANSWER_BYTES + 1)
                status = response.status
        except (asyncio.TimeoutError, TimeoutError):
            log.warning("pre-check for %s timed out after %s s; default %s", payment["id"], self.timeout_s,
                        merchant.check_on_timeout)
            return Verdict(default, reason="timeout")
        except aiohttp.ClientError as exc:
            refused = refusal(exc)
            log.warning("pre-check for %s %s (%s); default %s", payment["id"], "refused" if refused else "failed",
                        refused or exc, merchant.check_on_timeout)
            return Verdict(default, reason="refused" if refused else "error")
        return _read_verdict(status, answer, default)


def _read_verdict(status: int, answer: bytes, default: bool) -> Verdict:
    if not 200 <= status < 300 or len(answer) > MAX_ANSWER_BYTES:
        return Verdict(default, reason="error")
    try:
        data = strict_json.loads(answer)
    except ValueError:
        return Verdict(default, reason="garbage")
    if not isinstance(data, dict) or not isinstance(data.get("allow"), bool):
        return Verdict(default, reason="garbage")
    message = data.get("message")
    message = " ".join(message.split())[:MAX_MESSAGE_CHARS] if isinstance(message, str) else ""
    return Verdict(data["allow"], message)
