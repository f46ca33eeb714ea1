"""What a wallet package gives Kopek: its description, its connector and its simulator."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import aiohttp
from aiohttp import web

from kopek.providers.contract import Connector, WalletInfo
from kopek.providers.credentials import EnvCredentials
from kopek.providers.sandbox.faults import FaultInjector
from kopek.providers.sandbox.phone import SandboxPhone
from kopek.settings import Settings

# (base_url, settings, http) -> the connector
BuildConnector = Callable[[str, Settings, aiohttp.ClientSession], Connector]


@dataclass(frozen=True)
class SimulatorContext:
    phone: SandboxPhone
    time_scale: float
    faults: FaultInjector


@dataclass(frozen=True)
class WalletPlugin:
    info: WalletInfo
    build_connector: BuildConnector
    build_simulator: Callable[[SimulatorContext], web.Application]
    # "01" -> an example magic account for this wallet, e.g. "R100000000001"
    example_account: Callable[[str], str]
    # the form values for an example account (PIN wallets add a PIN)
    example_details: Callable[[str], dict[str, str]]


def connector_factory(connector: Callable[..., Connector], credentials: type[EnvCredentials]) -> BuildConnector:
    """The usual `build_connector`: `credentials.from_settings(settings)` (sandbox keys or the
    live KOPEK_<WALLET>_* variables) and the configured provider timeout."""
    def build(base_url: str, settings: Settings, http: aiohttp.ClientSession) -> Connector:
        return connector(base_url=base_url, credentials=credentials.from_settings(settings), http=http,
                         timeout_s=settings.provider_timeout_s)

    return build
