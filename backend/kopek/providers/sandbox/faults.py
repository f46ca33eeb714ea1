"""Fault injection for the simulators, for shop developers' own tests.

Set with KOPEK_SANDBOX_FAULTS, e.g. "latency_ms=5-50,error_rate=0.1,duplicate_callbacks=0.2,
out_of_order_callbacks=0.1,bad_signatures=0.05", and changeable at run time (sandbox console).
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, fields, replace
from typing import Awaitable, Callable

from aiohttp import web

RATES = ("error_rate", "duplicate_callbacks", "out_of_order_callbacks", "bad_signatures")


@dataclass(frozen=True)
class FaultSettings:
    latency_ms_min: int = 0
    latency_ms_max: int = 0
    error_rate: float = 0.0              # share of provider API requests answered with a 503
    duplicate_callbacks: float = 0.0     # share of notifications sent twice at once
    out_of_order_callbacks: float = 0.0  # share followed by a stale notice
    bad_signatures: float = 0.0          # share sent only with a broken signature

    @classmethod
    def parse(cls, text: str) -> FaultSettings:
        """'latency_ms=5-50,error_rate=0.1' -> FaultSettings; raises ValueError with the reason."""
        settings = cls()
        for item in filter(None, (part.strip() for part in text.split(","))):
            name, sep, value = item.partition("=")
            name = name.strip()
            if not sep:
                raise ValueError(f"sandbox fault {item!r} needs a value: name=value")
            if name == "latency_ms":
                low, _, high = value.partition("-")
                settings = replace(settings, latency_ms_min=int(low), latency_ms_max=int(high or low))
            elif name in RATES:
                rate = float(value)
                if not 0.0 <= rate <= 1.0:
                    raise ValueError(f"{name} is a share from 0 to 1, not {value}")
                settings = replace(settings, **{name: rate})
            else:
                known = ", ".join(("latency_ms",) + RATES)
                raise ValueError(f"unknown sandbox fault {name!r}; known: {known}")
        if not 0 <= settings.latency_ms_min <= settings.latency_ms_max <= 60_000:
            raise ValueError("latency_ms is LOW-HIGH milliseconds, 0 <= LOW <= HIGH <= 60000")
        return settings

    def to_json(self) -> dict[str, float]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def to_text(self) -> str:
        """The inverse of `parse`: only the knobs that are on, e.g. 'latency_ms=5-50,error_rate=0.1'."""
        parts = [f"latency_ms={self.latency_ms_min}-{self.latency_ms_max}"] if self.latency_ms_max else []
        parts += [f"{name}={getattr(self, name):g}" for name in RATES if getattr(self, name)]
        return ",".join(parts)


class FaultInjector:
    """Shared by all simulators; `settings` may be swapped while running."""

    def __init__(self, settings: FaultSettings, rng: random.Random | None = None) -> None:
        self.settings = settings
        self._rng = rng or random.Random()
        self.injected: dict[str, int] = {name: 0 for name in ("latency", *RATES)}

    def replace_settings(self, settings: FaultSettings) -> FaultSettings:
        """Every knob at once (the sandbox console); the next provider request sees them. Returns the old ones."""
        previous, self.settings = self.settings, settings
        return previous

    def roll(self, name: str) -> bool:
        hit = self._rng.random() < getattr(self.settings, name)
        if hit:
            self.injected[name] += 1
        return hit

    async def delay(self) -> None:
        low, high = self.settings.latency_ms_min, self.settings.latency_ms_max
        if high:
            self.injected["latency"] += 1
            await asyncio.sleep(self._rng.uniform(low, high) / 1000)

    @web.middleware
    async def middleware(self, request: web.Request,
                         handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
        """Latency and 503s on the provider's API (POSTs); the shopper's pages (GETs) stay fast."""
        if request.method == "POST":
            await self.delay()
            if self.roll("error_rate"):
                return web.Response(status=503, text="sandbox fault: service unavailable")
        return await handler(request)
