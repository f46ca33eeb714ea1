"""Shared fixtures: the real app on a temp SQLite file, served over real HTTP."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from aiohttp.web_runner import AppRunner, BaseRunner

from kopek import keys
from kopek.app import create_app
from kopek.ledger.providers import LAST_RUN_SETTING
from kopek.merchants import NewMerchant, create_merchant
from kopek.providers.registry import PLUGINS
from kopek.settings import Settings
from support import LIVE_ENV, ConnectionCounter, make_settings

SHOP_ORIGIN = "http://shop.test:8001"


class KopekTestServer(TestServer):
    """A test server that gives requests still running at teardown 5 s, not aiohttp's 60.

    Kopek posts webhooks to itself in some tests (the sandbox's built-in receiver); on a loaded
    machine one can be in flight when the test ends, and a 60 s graceful wait would outlast the
    per-test timeout. What a test asserts happens before teardown, so this changes no result."""

    async def _make_runner(self, **kwargs: Any) -> BaseRunner:
        return AppRunner(self.app, shutdown_timeout=5.0, **kwargs)


@dataclass
class Kopek:
    """A running Kopek server plus a merchant with keys, as a shop developer would have."""

    app: web.Application
    server: TestServer
    client: TestClient
    merchant: NewMerchant

    @property
    def base_url(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    def auth(self, secret_key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {secret_key or self.merchant.secret_key}"}

    async def create_payment(self, **overrides: Any) -> dict[str, Any]:
        body = {"amount": 500, "currency": "RUB", "order_id": f"order-{id(overrides)}-{len(overrides)}"}
        body.update(overrides)
        response = await self.client.post("/v1/payments", json=body, headers=self.auth())
        assert response.status == 201, await response.text()
        return await response.json()

    def checkout_headers(self, payment: dict[str, Any]) -> dict[str, str]:
        return {"Kopek-Client-Secret": payment["client_secret"]}

    async def phone_code(self, payment_id: str) -> str:
        response = await self.client.get("/sandbox/phone.json", params={"payment": payment_id})
        messages = (await response.json())["data"]
        assert messages, f"no code was sent for {payment_id}"
        return messages[0]["code"]


@pytest.fixture
def kopek_settings(tmp_path: Path, unused_tcp_port: int) -> Settings:
    return make_settings(tmp_path, unused_tcp_port)


@pytest.fixture
async def kopek(kopek_settings: Settings, aiohttp_client: Any) -> Kopek:
    app = create_app(kopek_settings)
    server = KopekTestServer(app, port=kopek_settings.port, host=kopek_settings.host)
    client = await aiohttp_client(server)
    merchant = await create_merchant(app[keys.STORE], "Test shop", [SHOP_ORIGIN])
    await startup_writes_done(app)
    return Kopek(app, server, client, merchant)


async def startup_writes_done(app: web.Application) -> None:
    """The provider settler records its schedule in its first moments. Tests that count rows, or
    that block the loop while a CLI process writes to the same file, start after that write."""
    for _ in range(500):
        if await app[keys.STORE].get_instance_setting(LAST_RUN_SETTING) is not None:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the provider settler never recorded its schedule")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests run last: sync Playwright drives its own event loop on the main thread,
    which must not overlap the asyncio tests' loops."""
    items.sort(key=lambda item: item.get_closest_marker("e2e") is not None)




@pytest.fixture
async def live(tmp_path, unused_tcp_port, aiohttp_client, monkeypatch):
    for name, value in LIVE_ENV.items():
        monkeypatch.setenv(name, value)
    settings = make_settings(tmp_path, unused_tcp_port, mode="live", webhook_timeout_s=1.0,
                             provider_urls={w: f"https://{w}.provider.example" for w in PLUGINS})
    app = create_app(settings)
    client = await aiohttp_client(KopekTestServer(app, port=settings.port, host=settings.host))
    merchant = await create_merchant(app[keys.STORE], "Live shop", [])
    return app, client, {"Authorization": f"Bearer {merchant.live_secret_key}"}


@pytest.fixture
async def inward_listener() -> Any:
    """An internal service on 127.0.0.1: it counts the connections that reach it."""
    counter = ConnectionCounter()
    await counter.start()
    yield counter
    await counter.close()
