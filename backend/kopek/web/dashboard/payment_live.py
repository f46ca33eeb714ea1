"""The live payment list: a websocket that sends a row's new state whenever one of the member's
payments changes, in the mode (test or live) the member is looking at.

It is authorised by the session cookie, as the pages are. Browsers send that cookie with a
websocket handshake started by any site, so the Origin header must be Kopek's own public origin
(cross-site websocket hijacking). Each socket has the hub's bounded queue: one that falls behind is
closed and the page reconnects. A socket lives at most LIFETIME_S, so that a logout or a removal
from the team ends it soon after: the reconnect is checked again.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Mapping
from urllib.parse import urlsplit

from aiohttp import web

from kopek import keys
from kopek.live.hub import Subscription
from kopek.providers.contract import WalletInfo
from kopek.store.records import Event
from kopek.web.dashboard.access import error_page
from kopek.web.dashboard.context import Member, load_page_context
from kopek.web.dashboard.filters import money, when
from kopek.web.dashboard.payment_forms import status_label, wallet_label

LIFETIME_S = 600.0
CLOSE_AGAIN = 4000       # lifetime over: reconnect (and be authorised again)
CLOSE_TOO_SLOW = 4008    # fell behind: reconnect and reload to catch up


async def live_socket(request: web.Request) -> web.StreamResponse:
    page = await load_page_context(request, start_session=False)
    if page.member is None:
        return error_page(request, 401, "Log in to see payments live.", "Войдите, чтобы видеть платежи вживую.")
    if not _from_own_origin(request):
        return error_page(request, 403, "This page may only be opened from Kopek's dashboard.",
                          "Эту страницу можно открыть только из кабинета Kopek.")
    ws = web.WebSocketResponse(heartbeat=request.app[keys.SETTINGS].ws_heartbeat_s, max_msg_size=1024)
    await ws.prepare(request)
    await _stream(request, ws, page.member, page.locale)
    return ws


def _from_own_origin(request: web.Request) -> bool:
    public = urlsplit(request.app[keys.SETTINGS].public_base_url)
    return request.headers.get("Origin", "").lower() == f"{public.scheme}://{public.netloc}".lower()


async def _stream(request: web.Request, ws: web.WebSocketResponse, member: Member, locale: str) -> None:
    hub = request.app[keys.HUB]
    subscription = hub.subscribe_merchant(member.merchant_id, member.livemode)
    reader = asyncio.ensure_future(_drain_client(ws))
    wallets = request.app[keys.PAYMENTS].wallets
    deadline = asyncio.get_running_loop().time() + LIFETIME_S
    try:
        while (event := await _next_event(ws, subscription, reader, deadline)) is not None:
            await ws.send_json(row_message(event, locale, wallets))
    finally:
        hub.unsubscribe(subscription)
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader


async def _next_event(ws: web.WebSocketResponse, subscription: Subscription, reader: asyncio.Future[None],
                      deadline: float) -> Event | None:
    """The next event, or None once the socket is to end (closed, too slow, lifetime over)."""
    if ws.closed:
        return None
    getter = asyncio.ensure_future(subscription.queue.get())
    lagging = asyncio.ensure_future(subscription.lagging.wait())
    remaining = max(0.0, deadline - asyncio.get_running_loop().time())
    done, _ = await asyncio.wait({getter, lagging, reader}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
    getter.cancel()
    lagging.cancel()
    if reader in done:
        return None
    if subscription.lagging.is_set() or not done:
        await ws.close(code=CLOSE_TOO_SLOW if subscription.lagging.is_set() else CLOSE_AGAIN)
        return None
    return getter.result() if getter in done and not getter.cancelled() else None


async def _drain_client(ws: web.WebSocketResponse) -> None:
    """Read (and ignore) what the client sends, so pings and the close handshake are handled."""
    async for _ in ws:
        pass


def row_message(event: Event, locale: str, wallets: Mapping[str, WalletInfo]) -> dict[str, Any]:
    """What a row of the list shows, as the page would render it."""
    payment = event.data
    return {
        "id": event.payment_id, "status": event.status, "status_label": status_label(event.status, locale),
        "amount_display": money(payment["amount"], payment["currency"]), "wallet": payment.get("wallet"),
        "wallet_display": wallet_label(wallets, payment.get("wallet"), locale), "order_id": payment["order_id"],
        "created_at_display": when(payment["created_at"]), "updated": when(event.created_at),
        "new": event.type == "payment.created",
    }
