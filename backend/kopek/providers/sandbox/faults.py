"""Fault injection for the simulators, for shop developers' own tests.

Set with KOPEK_SANDBOX_FAULTS, e.g. "latency_ms=5-50,error_rate=0.1,duplicate_callbacks=0.2,
out_of_order_callbacks=0.1,bad_signatures=0.05", for every request; each sandbox console visitor
may add faults of their own at run time, which strike only their own workspace's payments.
"""

from __future__ import annotations

import asyncio
import random
from collections import OrderedDict
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, fields, replace
from typing import Any, Awaitable, Callable, Iterator

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

    def strongest(self, other: FaultSettings) -> FaultSettings:
        """Knob by knob, the higher of the two (a latency range by its ends)."""
        return FaultSettings(**{f.name: max(getattr(self, f.name), getattr(other, f.name)) for f in fields(self)})

    def to_json(self) -> dict[str, float]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def to_text(self) -> str:
        """The inverse of `parse`: only the knobs that are on, e.g. 'latency_ms=5-50,error_rate=0.1'."""
        parts = [f"latency_ms={self.latency_ms_min}-{self.latency_ms_max}"] if self.latency_ms_max else []
        parts += [f"{name}={getattr(self, name):g}" for name in RATES if getattr(self, name)]
        return ",".join(parts)


# The sandbox workspace a provider request belongs to: set by Kopek's side around a connector call
# (sent as WORKSPACE_HEADER) and by the simulators' middleware around the request it serves, so
# the tasks a simulator spawns for that request (its notifications) inherit it.
WORKSPACE_HEADER = "Kopek-Sandbox-Workspace"
_workspace: ContextVar[str | None] = ContextVar("sandbox_workspace", default=None)
MAX_WORKSPACES = 10_000


def current_workspace() -> str | None:
    return _workspace.get()


@contextmanager
def within_workspace(workspace: str | None) -> Iterator[None]:
    token = _workspace.set(workspace)
    try:
        yield
    finally:
        _workspace.reset(token)


class FaultInjector:
    """Shared by all simulators. `settings` are the operator's (KOPEK_SANDBOX_FAULTS): they strike
    every request. A sandbox workspace (one console visitor or merchant) may add its own, which
    strike only the requests of its payments; where both set a knob, the stronger one wins."""

    def __init__(self, settings: FaultSettings, rng: random.Random | None = None) -> None:
        self.settings = settings
        self._rng = rng or random.Random()
        self.injected: dict[str, int] = _no_strikes()      # every strike, whoever's
        self._by_workspace: OrderedDict[str, FaultSettings] = OrderedDict()
        self._injected_by_workspace: OrderedDict[str, dict[str, int]] = OrderedDict()

    def replace_settings(self, settings: FaultSettings) -> FaultSettings:
        """Every operator knob at once; the next provider request sees them. Returns the old ones."""
        previous, self.settings = self.settings, settings
        return previous

    def set_workspace_settings(self, workspace: str, settings: FaultSettings) -> None:
        """A workspace's own knobs, all at once (the sandbox console); the least recently set go first."""
        self._by_workspace.pop(workspace, None)
        if settings != FaultSettings():
            self._by_workspace[workspace] = settings
            _bound(self._by_workspace)

    def workspace_settings(self, workspace: str | None) -> FaultSettings:
        return self._by_workspace.get(workspace or "", FaultSettings())

    def injected_in(self, workspace: str | None) -> dict[str, int]:
        return dict(self._injected_by_workspace.get(workspace or "", _no_strikes()))

    def effective(self) -> FaultSettings:
        """What strikes the request being served: the operator's knobs and its workspace's."""
        return self.settings.strongest(self.workspace_settings(current_workspace()))

    def roll(self, name: str) -> bool:
        hit = self._rng.random() < getattr(self.effective(), name)
        if hit:
            self._count(name)
        return hit

    async def delay(self) -> None:
        settings = self.effective()
        if settings.latency_ms_max:
            self._count("latency")
            await asyncio.sleep(self._rng.uniform(settings.latency_ms_min, settings.latency_ms_max) / 1000)

    def _count(self, name: str) -> None:
        self.injected[name] += 1
        workspace = current_workspace()
        if workspace is not None:
            counts = self._injected_by_workspace.setdefault(workspace, _no_strikes())
            self._injected_by_workspace.move_to_end(workspace)
            counts[name] += 1
            _bound(self._injected_by_workspace)

    @web.middleware
    async def middleware(self, request: web.Request,
                         handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
        """Latency and 503s on the provider's API (POSTs); the shopper's pages (GETs) stay fast."""
        with within_workspace(request.headers.get(WORKSPACE_HEADER)):
            if request.method == "POST":
                await self.delay()
                if self.roll("error_rate"):
                    return web.Response(status=503, text="sandbox fault: service unavailable")
            return await handler(request)


def _no_strikes() -> dict[str, int]:
    return {name: 0 for name in ("latency", *RATES)}


def _bound(entries: OrderedDict[str, Any]) -> None:
    while len(entries) > MAX_WORKSPACES:
        entries.popitem(last=False)
