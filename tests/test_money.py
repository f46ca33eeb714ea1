import pytest

from kopek.money import Money, MoneyError, check_currency


def test_minor_units_and_display():
    assert Money("RUB", 1).decimal_string() == "0.01"
    assert str(Money("RUB", 500)) == "5.00 RUB"
    assert Money("USD", -1234).decimal_string() == "-12.34"


def test_arithmetic_keeps_currency():
    assert Money("RUB", 150) + Money("RUB", 50) == Money("RUB", 200)
    assert Money("RUB", 150) - Money("RUB", 50) == Money("RUB", 100)
    with pytest.raises(MoneyError):
        Money("RUB", 1) + Money("USD", 1)


@pytest.mark.parametrize("amount", [1.0, 0.5, "5", True, None])
def test_only_integers(amount):
    with pytest.raises(MoneyError):
        Money("RUB", amount)


def test_unknown_currency():
    with pytest.raises(MoneyError):
        check_currency("XYZ")
    with pytest.raises(MoneyError):
        Money("rub", 1)
