"""A shop's webhook receiver: a real aiohttp app that records what it got and verifies it with
the `standardwebhooks` package, answering each request as the test scripts it."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable

import standardwebhooks
from aiohttp import web

Answer = Callable[[web.Request], Awaitable[web.StreamResponse]]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float                     # the loop's clock when it arrived

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)

    @property
    def signatures(self) -> list[str]:
        return self.headers["webhook-signature"].split(" ")

    def verify(self, secret: str) -> dict[str, Any]:
        return standardwebhooks.Webhook(secret).verify(self.body, self.headers)


def status(code: int, body: bytes = b"ok", headers: dict[str, str] | None = None) -> Answer:
    async def answer(request: web.Request) -> web.StreamResponse:
        return web.Response(status=code, body=body, headers=headers)
    return answer


def slow(seconds: float, then: Answer | None = None) -> Answer:
    async def answer(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(seconds)
        return await (then or status(200))(request)
    return answer


def endless_body(chunk: int = 64 * 1024, chunks: int = 4096) -> Answer:
    """200 and then a body that goes on (up to 256 MB) for as long as the client reads."""
    async def answer(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(status=200)
        await response.prepare(request)
        try:
            for _ in range(chunks):
                await response.write(b"x" * chunk)
        except (ConnectionError, RuntimeError):
            pass
        return response
    return answer


@dataclass
class Receiver:
    """Answers with the scripted answers in order, then with `default`; records every request."""

    script: list[Answer] = field(default_factory=list)
    default: Answer = field(default_factory=lambda: status(200))
    received: list[Received] = field(default_factory=list)
    url: str = ""
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        return app

    async def start(self, aiohttp_server: Any, path: str = "/hooks") -> str:
        # 5 s for requests still running at teardown, as Kopek's own test servers (aiohttp waits 60 s,
        # which outlasts the per-test timeout when a delivery is cut off as the test ends).
        server = await aiohttp_server(self.app(), shutdown_timeout=5.0)
        self.url = str(server.make_url(path))
        return self.url

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.received.append(Received(request.path, {k.lower(): v for k, v in request.headers.items()}, body,
                                      asyncio.get_running_loop().time()))
        self._arrived.set()
        answer = self.script.pop(0) if self.script else self.default
        return await answer(request)

    async def wait_for(self, check: Callable[[list[Received]], bool], timeout_s: float = 15.0) -> list[Received]:
        """Until `check(received)` holds; fails the test with what did arrive otherwise."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while not check(self.received):
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"the receiver did not get what was expected; it got: "
                                     f"{[(r.path, r.payload.get('type')) for r in self.received]}")
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), min(remaining, 0.2))
            except asyncio.TimeoutError:
                pass
        return self.received

    async def wait_count(self, count: int, timeout_s: float = 15.0) -> list[Received]:
        return await self.wait_for(lambda got: len(got) >= count, timeout_s)

    def of_type(self, event_type: str) -> list[Received]:
        return [r for r in self.received if r.payload.get("type") == event_type]


def delivery_figures(received: list[Received]) -> dict[str, int]:
    """What a shop would count: events, requests, and requests that repeated an event."""
    ids = [r.webhook_id for r in received]
    return {"events": len(set(ids)), "requests": len(ids), "duplicates": len(ids) - len(set(ids))}


def record_figures(name: str, figures: dict[str, Any]) -> None:
    """Kept in artifacts/webhooks.json, one entry per test that measures, for the closing note."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "webhooks.json"
    try:
        existing = json.loads(path.read_text())
    except (OSError, ValueError):
        existing = {}
    existing[name] = figures
    path.write_text(json.dumps(existing, indent=2, sort_keys=True) + "\n")
