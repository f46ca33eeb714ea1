"""When to try a failed delivery again: a fixed schedule with jitter, and the receiver's Retry-After."""

from __future__ import annotations

import random
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

# After the first attempt (made at once) fails: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h,
# 20 h, 24 h. Ten attempts in all over about three and a half days, then the delivery is abandoned.
RETRY_DELAYS_S = (5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 14 * 3600, 20 * 3600, 24 * 3600)
MAX_ATTEMPTS = len(RETRY_DELAYS_S) + 1
JITTER = 0.10
MAX_RETRY_AFTER_S = 24 * 3600


def retry_delay(attempts_made: int, scale: float, rng: random.Random | None = None) -> float | None:
    """Seconds until the next attempt after `attempts_made` failed ones, or None: give up."""
    if attempts_made < 1 or attempts_made > len(RETRY_DELAYS_S):
        return None
    jitter = (rng or random).uniform(1 - JITTER, 1 + JITTER)
    return RETRY_DELAYS_S[attempts_made - 1] * scale * jitter


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds or as an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        seconds = (moment - (now or datetime.now(timezone.utc))).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def next_delay(attempts_made: int, scale: float, retry_after_s: float | None,
               rng: random.Random | None = None) -> float | None:
    """The schedule's delay, or the receiver's Retry-After when that is later (the receiver's
    own wish is not scaled: it knows when it will be back)."""
    delay = retry_delay(attempts_made, scale, rng)
    if delay is None:
        return None
    if retry_after_s is not None and retry_after_s > delay:
        return retry_after_s
    return delay
