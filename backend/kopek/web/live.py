"""The live status websocket. Authorised by the first message, never by the URL.

Resume: subscribe first, then replay from the store everything after the client's last
seq, then forward live events, skipping any seq already sent. Nothing is missed or repeated.
A client that asks for the state in its first message gets the checkout state (what
GET /v1/checkout/{id} answers) before any event, so a fresh widget needs no other request.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from aiohttp import WSMsgType, web

from kopek import keys, strict_json
from kopek.errors import KopekError, RateLimited
from kopek.limits import Cap, Limits
from kopek.live.hub import Subscription
from kopek.payments.views import event_object
from kopek.store.records import Event, Payment
from kopek.web.checkout import checkout_payment, checkout_state
from kopek.web.requests import client_ip

routes = web.RouteTableDef()
AUTH_TIMEOUT_S = 5.0
CLOSE_UNAUTHORIZED = 4401
# Over a cap: the standard "try again later"; the widget polls meanwhile and reconnects with backoff.
CLOSE_TRY_AGAIN_LATER = 1013
CLOSE_TOO_SLOW = 4008
CLOSE_BAD_REQUEST = 4400


@routes.get("/v1/checkout/{id}/live")
async def live(request: web.Request) -> web.WebSocketResponse:
    settings = request.app[keys.SETTINGS]
    ws = web.WebSocketResponse(heartbeat=settings.ws_heartbeat_s, max_msg_size=4096)
    await ws.prepare(request)
    limits = request.app[keys.LIMITS]
    try:
        async with limits.occupy(Cap("sockets_total", settings.ws_total_max, "the server is full"), "all"), \
                limits.occupy(Cap("sockets_per_ip", settings.ws_per_ip_max, "too many live connections from your "
                                  "address"), client_ip(request)):
            await _authorised_stream(request, ws, limits)
    except RateLimited as exc:
        if not ws.closed:
            await _close(ws, CLOSE_TRY_AGAIN_LATER, {"type": "error", "code": exc.code, "message": exc.message})
    return ws


async def _authorised_stream(request: web.Request, ws: web.WebSocketResponse, limits: Limits) -> None:
    hello = await _first_message(ws)
    if hello is None:
        return
    try:
        payment = await checkout_payment(request, str(hello.get("client_secret", "")))
    except KopekError as exc:
        await _close(ws, CLOSE_UNAUTHORIZED, {"type": "error", "code": exc.code, "message": exc.message})
        return
    after = hello.get("after", 0)
    after = after if isinstance(after, int) and not isinstance(after, bool) and after >= 0 else 0
    per_payment = request.app[keys.SETTINGS].ws_per_payment_max
    async with limits.occupy(Cap("sockets_per_payment", per_payment, "too many live connections for this "
                                 "payment"), payment.id):
        await _stream(request, ws, payment, after, with_state=hello.get("state") is True)


async def _first_message(ws: web.WebSocketResponse) -> dict[str, Any] | None:
    try:
        message = await ws.receive(timeout=AUTH_TIMEOUT_S)
    except asyncio.TimeoutError:
        await _close(ws, CLOSE_UNAUTHORIZED, {"type": "error", "code": "auth_timeout"})
        return None
    if message.type != WSMsgType.TEXT:
        await ws.close()
        return None
    try:
        hello = strict_json.loads(message.data)
    except ValueError:
        hello = None
    if not isinstance(hello, dict) or hello.get("type") != "auth":
        await _close(ws, CLOSE_BAD_REQUEST, {"type": "error", "code": "auth_expected"})
        return None
    return hello


async def _stream(request: web.Request, ws: web.WebSocketResponse, payment: Payment, after: int, *,
                  with_state: bool) -> None:
    hub = request.app[keys.HUB]
    subscription = hub.subscribe(payment.id)
    reader = asyncio.ensure_future(_drain_client(ws))
    try:
        if with_state:  # the state is as of payment.last_seq: the replay goes on from there
            await ws.send_json({"type": "state", **await checkout_state(request, payment)})
            after = max(after, payment.last_seq)
        last = await _replay(request, ws, payment.id, after)
        await _forward(ws, subscription, last, reader)
    finally:
        hub.unsubscribe(subscription)
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader


async def _replay(request: web.Request, ws: web.WebSocketResponse, payment_id: str, after: int) -> int:
    store = request.app[keys.STORE]
    while True:
        events = await store.events(payment_id, after, 100)
        for event in events:
            await _send(ws, event)
            after = event.seq
        if len(events) < 100:
            return after


async def _forward(ws: web.WebSocketResponse, subscription: Subscription, last: int,
                   reader: asyncio.Future[None]) -> None:
    while not ws.closed:
        getter = asyncio.ensure_future(subscription.queue.get())
        lagging = asyncio.ensure_future(subscription.lagging.wait())
        done, _ = await asyncio.wait({getter, lagging, reader}, return_when=asyncio.FIRST_COMPLETED)
        getter.cancel()
        lagging.cancel()
        if reader in done:
            return
        if subscription.lagging.is_set():
            await _close(ws, CLOSE_TOO_SLOW, {"type": "error", "code": "too_slow",
                                              "message": "reconnect with your last seq"})
            return
        if getter in done and not getter.cancelled():
            event = getter.result()
            if event.seq > last:
                await _send(ws, event)
                last = event.seq


async def _drain_client(ws: web.WebSocketResponse) -> None:
    """Read (and ignore) what the client sends, so pings and the close handshake are handled."""
    async for _ in ws:
        pass


async def _send(ws: web.WebSocketResponse, event: Event) -> None:
    await ws.send_json({"type": "event", "seq": event.seq, "event": event_object(event, shopper_view=True)})


async def _close(ws: web.WebSocketResponse, code: int, message: dict[str, Any]) -> None:
    with contextlib.suppress(ConnectionError, RuntimeError):
        await ws.send_json(message)
    await ws.close(code=code, message=message.get("code", "").encode())
