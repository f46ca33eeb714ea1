"""A small fixed-window rate limiter, in memory, bounded in the number of keys it tracks."""

from __future__ import annotations

import time
from collections import OrderedDict


class RateLimiter:
    def __init__(self, limit: int, window_s: float, max_keys: int = 10_000) -> None:
        self.limit = limit
        self.window_s = window_s
        self.max_keys = max_keys
        self._windows: OrderedDict[str, tuple[float, int]] = OrderedDict()

    def hit(self, key: str) -> bool:
        """Count one event for `key`; False once the key is over its limit in this window."""
        now = time.monotonic()
        started, count = self._windows.get(key, (now, 0))
        if now - started >= self.window_s:
            started, count = now, 0
        self._windows[key] = (started, count + 1)
        self._windows.move_to_end(key)
        while len(self._windows) > self.max_keys:
            self._windows.popitem(last=False)
        return count + 1 <= self.limit

    def blocked(self, key: str) -> bool:
        started, count = self._windows.get(key, (0.0, 0))
        return time.monotonic() - started < self.window_s and count >= self.limit

    def retry_after_s(self, key: str) -> int:
        started, _ = self._windows.get(key, (time.monotonic(), 0))
        return max(1, int(self.window_s - (time.monotonic() - started)) + 1)
