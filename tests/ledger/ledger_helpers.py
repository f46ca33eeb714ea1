"""Moving payments to their end the way the real flow does (PaymentService.apply, so the ledger's
hook books them), without the wallet simulators: for tests that need many payments quickly."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import AsyncIterator

from kopek import clock
from kopek.ledger.booking import book_on_success
from kopek.ledger.service import Ledger
from kopek.live.hub import LiveHub
from kopek.master_key import open_keyring
from kopek.merchants import create_merchant
from kopek.payments import states
from kopek.payments.service import PaymentService
from kopek.providers import registry
from kopek.settings import Settings
from kopek.store.records import Payment
from kopek.store.refunds import Refund, RefundStore
from kopek.store.sqlite import SqliteStore


def create_data(amount: int, order_id: str, currency: str = "RUB", wallets: list[str] | None = None) -> dict:
    return {"amount": amount, "currency": currency, "order_id": order_id, "description": "", "return_url": None,
            "metadata": {}, "expires_in": None, "wallets": wallets}


async def finish(service: PaymentService, payment: Payment, wallet: str, succeed: bool = True) -> Payment:
    """requires_wallet -> processing (with the wallet) -> succeeded or failed."""
    processing = await service.apply(payment, states.PROCESSING, "process",
                                     payment_fields={"wallet": wallet, "attempts_count": 1})
    return await service.apply(processing, states.SUCCEEDED if succeed else states.FAILED, "complete")


async def pay(service: PaymentService, merchant_id: str, amount: int, wallet: str, order_id: str,
              succeed: bool = True, currency: str = "RUB") -> Payment:
    payment = await service.create(merchant_id=merchant_id, livemode=False,
                                   data=create_data(amount, order_id, currency))
    return await finish(service, payment, wallet, succeed)


async def refund(store: SqliteStore, payment_id: str, amount: int, succeed: bool = True) -> Refund:
    """Reserve a refund and finish it as its wallet would (succeeded, or declined), the way
    RefundService does, without a connector. Raises NotRefundable as reserve() does."""
    refunds = RefundStore(store)
    pending = await refunds.reserve(payment_id=payment_id, amount=amount, reason=None)
    return await refunds.finish(pending, succeeded=succeed, provider_refund_ref="sim" if succeed else None,
                                failure_code=None if succeed else "declined", render=lambda r, p: {"id": r.id})


class Harness:
    """A store with the ledger's hook, a payment service and the ledger: no HTTP server."""

    def __init__(self, path: Path) -> None:
        self.store = SqliteStore(path)
        self.settings = Settings(db_path=path)

    async def open(self) -> Harness:
        await self.store.open()
        keyring = await open_keyring(self.settings, self.store)
        self.store.change_hooks.append(book_on_success)
        self.service = PaymentService(store=self.store, hub=LiveHub(100), settings=self.settings,
                                      wallets=registry.WALLETS, client_keys=keyring.purpose("client_secret"))
        self.ledger = Ledger(self.store, registry.WALLETS)
        return self

    async def merchant(self, name: str = "Shop") -> str:
        return (await create_merchant(self.store, name, [])).merchant.id

    async def close(self) -> None:
        await self.store.close()


@asynccontextmanager
async def harness(path: Path) -> AsyncIterator[Harness]:
    opened = await Harness(path).open()
    try:
        yield opened
    finally:
        await opened.close()


def today() -> date:
    return clock.now().date()


def tomorrow() -> date:
    return today() + timedelta(days=1)


def freeze_day(monkeypatch, day: date) -> None:
    """Kopek's clock reads noon UTC of `day` (its wall clock still ticks for asyncio)."""
    noon = datetime(day.year, day.month, day.day, 12, tzinfo=timezone.utc)
    started = datetime.now(timezone.utc)
    monkeypatch.setattr(clock, "now", lambda: noon + (datetime.now(timezone.utc) - started))


def run(coro):
    return asyncio.run(coro)
