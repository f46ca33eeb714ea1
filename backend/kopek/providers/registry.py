"""Which wallets exist, and how their connectors and sandbox simulators are built."""

from __future__ import annotations

import aiohttp
from aiohttp import web

from kopek.providers.contract import Connector, WalletInfo
from kopek.providers.sandbox_phone import SandboxPhone
from kopek.providers.webmoney import connector as webmoney_connector
from kopek.providers.webmoney import simulator as webmoney_simulator
from kopek.settings import Settings

WALLETS: dict[str, WalletInfo] = {
    webmoney_connector.INFO.id: webmoney_connector.INFO,
}


def build_connectors(settings: Settings, http: aiohttp.ClientSession) -> dict[str, Connector]:
    return {
        "webmoney": webmoney_connector.WebMoneyConnector(
            base_url=settings.provider_url("webmoney"),
            credentials=webmoney_connector.WebMoneyCredentials.from_settings(settings),
            http=http,
            timeout_s=settings.provider_timeout_s,
        ),
    }


def build_simulators(settings: Settings, phone: SandboxPhone) -> dict[str, web.Application]:
    """Sandbox only: each wallet's fake provider, mounted at /sandbox/providers/<wallet>/."""
    return {
        "webmoney": webmoney_simulator.create_simulator_app(
            phone=phone, time_scale=settings.sandbox_time_scale,
        ),
    }
