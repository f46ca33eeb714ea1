"""What a wallet package gives Kopek: its description, its connector and its simulator."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import aiohttp
from aiohttp import web

from kopek.providers.contract import Connector, WalletInfo
from kopek.providers.sandbox.faults import FaultInjector
from kopek.providers.sandbox.phone import SandboxPhone
from kopek.settings import Settings


@dataclass(frozen=True)
class SimulatorContext:
    phone: SandboxPhone
    time_scale: float
    faults: FaultInjector


@dataclass(frozen=True)
class WalletPlugin:
    info: WalletInfo
    # (base_url, settings, http) -> the connector
    build_connector: Callable[[str, Settings, aiohttp.ClientSession], Connector]
    build_simulator: Callable[[SimulatorContext], web.Application]
    # "01" -> an example magic account for this wallet, e.g. "R100000000001"
    example_account: Callable[[str], str]
    # the form values for an example account (PIN wallets add a PIN)
    example_details: Callable[[str], dict[str, str]]
