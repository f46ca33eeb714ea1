"""Money is an integer count of minor units beside an ISO 4217 currency. Never a float."""

from __future__ import annotations

from dataclasses import dataclass

# ISO 4217 currencies Kopek accepts, with their minor-unit exponent.
CURRENCY_EXPONENTS: dict[str, int] = {
    "RUB": 2, "USD": 2, "EUR": 2, "UAH": 2, "KZT": 2, "BYN": 2, "GBP": 2,
}


class MoneyError(ValueError):
    pass


def check_currency(code: str) -> str:
    if code not in CURRENCY_EXPONENTS:
        raise MoneyError(f"unknown currency {code!r}; supported: {', '.join(sorted(CURRENCY_EXPONENTS))}")
    return code


@dataclass(frozen=True, order=True)
class Money:
    currency: str
    amount_minor: int

    def __post_init__(self) -> None:
        if isinstance(self.amount_minor, bool) or not isinstance(self.amount_minor, int):
            raise MoneyError("amount must be an integer number of minor units")
        check_currency(self.currency)

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.currency, self.amount_minor + other.amount_minor)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.currency, self.amount_minor - other.amount_minor)

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise MoneyError(f"cannot mix {self.currency} and {other.currency}")

    def decimal_string(self) -> str:
        """'5.00' for 500 kopecks: for display and CSV only."""
        exponent = CURRENCY_EXPONENTS[self.currency]
        sign = "-" if self.amount_minor < 0 else ""
        units, minor = divmod(abs(self.amount_minor), 10**exponent)
        return f"{sign}{units}.{minor:0{exponent}d}" if exponent else f"{sign}{units}"

    def __str__(self) -> str:
        return f"{self.decimal_string()} {self.currency}"
