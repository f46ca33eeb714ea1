"""Plugging the ledger into the app: its routes, the booking hook, and the provider settlements
that run on the providers' schedule."""

from __future__ import annotations

import asyncio
import logging
from typing import AsyncIterator

from aiohttp import web

from kopek import keys
from kopek.ledger.booking import book_missed, book_on_success
from kopek.ledger.service import Ledger
from kopek.providers import registry
from kopek.web import money

log = logging.getLogger(__name__)


def setup(app: web.Application) -> None:
    """Call after the database's cleanup context is registered: the ledger needs the store."""
    app.router.add_routes(money.routes)
    app.cleanup_ctx.append(_ledger)


async def _ledger(app: web.Application) -> AsyncIterator[None]:
    store, settings = app[keys.STORE], app[keys.SETTINGS]
    store.change_hooks.append(book_on_success)
    ledger = Ledger(store, registry.WALLETS)
    app[keys.LEDGER] = ledger
    # Anything that succeeded before the hook was in place (an older database, or a reconciler
    # round during start-up) is booked now.
    if booked := await book_missed(ledger.store):
        log.warning("booked %d succeeded payment(s) that had no ledger transaction", booked)
    interval_s = settings.provider_settlement_interval_s * settings.provider_time_scale
    task = asyncio.create_task(ledger.provider_settler.run_forever(interval_s))
    yield
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    store.change_hooks.remove(book_on_success)
