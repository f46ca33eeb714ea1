"""The sandbox "phone": every code a simulator sends by SMS/USSD lands here for people and tests to read."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class PhoneMessage:
    wallet: str          # "webmoney"
    to: str              # the shopper's identifier the code was sent to
    code: str
    text: str
    payment_id: str      # Kopek's payment id as the provider knows it
    sent_at: float       # unix time

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class SandboxPhone:
    def __init__(self, max_messages: int = 500) -> None:
        self._messages: deque[PhoneMessage] = deque(maxlen=max_messages)

    def send(self, *, wallet: str, to: str, code: str, text: str, payment_id: str) -> PhoneMessage:
        message = PhoneMessage(wallet, to, code, text, payment_id, time.time())
        self._messages.append(message)
        return message

    def messages(self, payment_id: str | None = None, limit: int = 50) -> list[PhoneMessage]:
        """Newest first."""
        found = [m for m in reversed(self._messages) if payment_id in (None, m.payment_id)]
        return found[:limit]
