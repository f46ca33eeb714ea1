"""Which wallets exist, and how their connectors and sandbox simulators are built.

Adding a wallet means adding its package with a `PLUGIN` and listing it here.
"""

from __future__ import annotations

import aiohttp
from aiohttp import web

from kopek.providers import eport, kreditpilot, webmoney, yandex_dengi
from kopek.providers.contract import Connector, WalletInfo
from kopek.providers.plugin import SimulatorContext, WalletPlugin
from kopek.providers.sandbox.magic import example_accounts
from kopek.settings import Settings


PLUGINS: dict[str, WalletPlugin] = {plugin.info.id: plugin for plugin in (
    webmoney.PLUGIN, yandex_dengi.PLUGIN, eport.PLUGIN, kreditpilot.PLUGIN)}
WALLETS: dict[str, WalletInfo] = {wallet_id: plugin.info for wallet_id, plugin in PLUGINS.items()}


def build_connectors(settings: Settings, http: aiohttp.ClientSession) -> dict[str, Connector]:
    return {wallet_id: plugin.build_connector(settings.provider_url(wallet_id), settings, http)
            for wallet_id, plugin in PLUGINS.items()}


def build_simulators(context: SimulatorContext) -> dict[str, web.Application]:
    """Sandbox only: each wallet's fake provider, mounted at /sandbox/providers/<wallet>/."""
    return {wallet_id: plugin.build_simulator(context) for wallet_id, plugin in PLUGINS.items()}


def magic_accounts(wallet_id: str) -> list[dict[str, str]]:
    return example_accounts(PLUGINS[wallet_id].example_account)


def wallet_limits_rule(wallets: dict[str, WalletInfo] = WALLETS) -> dict[str, object]:
    """The JSON Schema (OpenAPI 3.0) of "some offered wallet takes this amount in this currency", which
    payments and buttons check: one branch per wallet and currency. `properties` holds when `wallets` is
    absent, so a request that names no wallets needs only some wallet's limits."""
    return {"anyOf": [
        {"properties": {"currency": {"enum": [limits.currency]},
                        "amount": {"minimum": limits.min_amount, "maximum": limits.max_amount},
                        "wallets": {"not": {"items": {"not": {"enum": [wallet.id]}}}}}}
        for wallet in wallets.values() for limits in wallet.limits]}
