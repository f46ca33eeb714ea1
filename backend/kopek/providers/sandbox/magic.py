"""Magic sandbox wallets: the last two digits of any account or card number choose the outcome.

The same endings mean the same thing for every wallet, so a shop's tests read alike
whichever wallet they use. Delays are multiplied by the sandbox time scale.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

SANDBOX_PIN = "1234"   # the one right PIN of every sandbox PIN wallet (e-port, KreditPilot)


class Magic(enum.Enum):
    SUCCEED = "succeed"
    DECLINE = "decline"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    SLOW = "slow"
    WRONG_SECRET = "wrong_secret"          # every code (or PIN) is wrong
    FLAKY = "flaky"                        # 5xx twice, then answers
    TIMEOUT = "timeout"                    # never answers the first request in time
    DUPLICATE_CALLBACK = "duplicate_callback"
    NOT_FOUND = "not_found"
    OUT_OF_ORDER = "out_of_order"          # a stale "processing" notice arrives after the final one
    NEVER_ANSWERS = "never_answers"        # accepts, then never sends a code, approval or result


@dataclass(frozen=True)
class MagicRow:
    ending: str
    magic: Magic
    outcome_en: str
    outcome_ru: str


MAGIC_ROWS: tuple[MagicRow, ...] = (
    MagicRow("01", Magic.SUCCEED, "Succeeds about a second after confirmation", "Успешная оплата через секунду после подтверждения"),
    MagicRow("02", Magic.DECLINE, "Declined by the wallet", "Кошелёк отклоняет платёж"),
    MagicRow("03", Magic.INSUFFICIENT_FUNDS, "Insufficient funds", "Недостаточно средств"),
    MagicRow("04", Magic.SLOW, "Slow: succeeds after two minutes", "Медленно: успех через две минуты"),
    MagicRow("05", Magic.WRONG_SECRET, "Every code or PIN is wrong", "Любой код или PIN неверен"),
    MagicRow("06", Magic.FLAKY, "The provider answers 5xx twice, then recovers", "Провайдер дважды отвечает 5xx, потом работает"),
    MagicRow("07", Magic.TIMEOUT, "The provider times out", "Провайдер не отвечает вовремя"),
    MagicRow("08", Magic.DUPLICATE_CALLBACK, "Succeeds; the notification is sent twice at once", "Успех; уведомление приходит дважды одновременно"),
    MagicRow("09", Magic.NOT_FOUND, "No such wallet", "Кошелёк не найден"),
    MagicRow("10", Magic.OUT_OF_ORDER, "Succeeds; a stale notification arrives after the final one", "Успех; устаревшее уведомление приходит после итогового"),
    MagicRow("11", Magic.NEVER_ANSWERS, "The provider never finishes; the payment expires", "Провайдер не завершает платёж; срок оплаты истекает"),
)
ENDINGS: dict[str, Magic] = {row.ending: row.magic for row in MAGIC_ROWS}

PROCESSING_DELAY_S = 1.0
SLOW_DELAY_S = 120.0
FLAKY_FAILURES = 2
TIMEOUT_HANG_S = 3600.0   # not scaled: longer than any connector waits


def magic_of(account: str) -> Magic:
    digits = re.sub(r"[^0-9]", "", account)
    return ENDINGS.get(digits[-2:], Magic.SUCCEED)


def processing_delay_s(magic: Magic, time_scale: float) -> float:
    return (SLOW_DELAY_S if magic is Magic.SLOW else PROCESSING_DELAY_S) * time_scale


def example_accounts(make: "callable[[str], str]") -> list[dict[str, str]]:
    """The magic table for one wallet, with an example account built from each ending."""
    return [{"account": make(row.ending), "ending": row.ending, "outcome_en": row.outcome_en,
             "outcome_ru": row.outcome_ru} for row in MAGIC_ROWS]
