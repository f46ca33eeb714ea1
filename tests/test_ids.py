"""Identifiers and secrets: the right shape, unbiased letters, and timestamps that sort as text."""

from __future__ import annotations

import string
from collections import Counter
from datetime import datetime, timedelta, timezone

from kopek import clock
from kopek.ids import new_id, random_token

ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase


def test_tokens_have_the_asked_length_and_only_letters_and_digits():
    for length in (1, 8, 24, 32, 64):
        token = random_token(length)
        assert len(token) == length and set(token) <= set(ALPHABET)
    assert new_id("pay").startswith("pay_") and len(new_id("pay")) == 4 + 24


def test_every_letter_is_equally_likely():
    """A chi-square test over 62 letters (61 degrees of freedom): a byte folded by `% 62` makes the
    first eight letters 5/4 as likely as the rest, which scores in the thousands here."""
    counts = Counter("".join(random_token(64) for _ in range(4000)))
    expected = 64 * 4000 / len(ALPHABET)
    chi_square = sum((counts[letter] - expected) ** 2 / expected for letter in ALPHABET)
    assert set(counts) == set(ALPHABET)
    assert chi_square < 130, chi_square  # p ≈ 1e-6 for an unbiased source


def test_tokens_do_not_repeat():
    assert len({random_token() for _ in range(20000)}) == 20000


def test_timestamps_are_fixed_width_utc_and_round_trip():
    moments = [datetime(2026, 1, 1, tzinfo=timezone.utc),
               datetime(2026, 3, 5, 7, 9, 11, 13, tzinfo=timezone(timedelta(hours=3))),
               clock.now()]
    texts = [clock.to_iso(moment) for moment in moments]
    assert texts[0] == "2026-01-01T00:00:00.000000Z"
    assert texts[1] == "2026-03-05T04:09:11.000013Z"
    assert {len(text) for text in texts} == {27}
    assert [clock.from_iso(text) for text in texts] == [m.astimezone(timezone.utc) for m in moments]
