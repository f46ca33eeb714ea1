"""Form messages in Russian. marshmallow and our schemas speak English; a Russian page shows
the Russian for each message it knows, and the English one otherwise."""

from __future__ import annotations

import re
from typing import Any

_RULES: list[tuple[re.Pattern[str], str]] = [(re.compile(pattern + r"\Z"), russian) for pattern, russian in [
    (r"Missing data for required field\.", "Обязательное поле."),
    (r"Unknown field\.", "Неизвестное поле."),
    (r"Field may not be null\.", "Поле не может быть пустым."),
    (r"Not a valid email address\.", "Неверный адрес email."),
    (r"Not a valid string\.", "Должна быть строка."),
    (r"Not a valid integer\.", "Должно быть целое число."),
    (r"Not a valid number\.", "Должно быть число."),
    (r"Not a valid boolean\.", "Должно быть «да» или «нет»."),
    (r"Not a valid URL\.", "Неверный URL."),
    (r"Not a valid date\.", "Неверная дата."),
    (r"Shorter than minimum length (\d+)\.", "Короче {0} символов."),
    (r"Longer than maximum length (\d+)\.", "Длиннее {0} символов."),
    (r"Length must be between (\d+) and (\d+)\.", "Длина — от {0} до {1} символов."),
    (r"Must be one of: (.*)\.", "Допустимые значения: {0}."),
    (r"Must be greater than or equal to (\S+) and less than or equal to (\S+)\.", "От {0} до {1}."),
    (r"Must be greater than or equal to (\S+)\.", "Не меньше {0}."),
    (r"Must be less than or equal to (\S+)\.", "Не больше {0}."),
    (r"sent more than once", "передано несколько раз"),
    (r"Type an amount such as 5 or 5\.00\.", "Введите сумму, например 5 или 5,00."),
    (r"At most (\d+) digits after the decimal point\.", "Не больше {0} знаков после запятой."),
    (r"Must be more than 0\.", "Должно быть больше 0."),
    (r"Must not be negative\.", "Не может быть отрицательной."),
    (r"Too large\.", "Слишком большая сумма."),
    (r"Use the form YYYY-MM-DD\.", "Формат: ГГГГ-ММ-ДД."),
    (r"Not a payment id \(pay_\.\.\.\)\.", "Это не id платежа (pay_…)."),
    (r"give a shop name to start a new shop, or an invitation code to join one",
     "укажите название магазина, чтобы создать новый, или код приглашения, чтобы присоединиться"),
]]


def in_russian(message: str) -> str:
    for pattern, russian in _RULES:
        match = pattern.match(message)
        if match:
            return russian.format(*match.groups())
    return message


def errors_in_russian(errors: dict[str, Any]) -> dict[str, Any]:
    """A form's errors by field, each message in Russian where known."""
    return {name: [in_russian(m) if isinstance(m, str) else m for m in messages] if isinstance(messages, list)
            else messages for name, messages in errors.items()}
