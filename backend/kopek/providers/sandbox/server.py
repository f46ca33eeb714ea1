"""The wallet simulators as a server of their own (`kopek simulators`), outside Kopek's process,
as real providers are: a Kopek restart does not lose what the "providers" know."""

from __future__ import annotations

from aiohttp import web

from kopek import keys
from kopek.providers import registry
from kopek.providers.plugin import SimulatorContext
from kopek.providers.sandbox.faults import FaultInjector, FaultSettings
from kopek.providers.sandbox.phone import SandboxPhone
from kopek.web.sandbox_console.live import phone_json


def create_simulators_app(time_scale: float, faults: str = "") -> web.Application:
    app = web.Application()
    app[keys.PHONE] = SandboxPhone()
    context = SimulatorContext(app[keys.PHONE], time_scale, FaultInjector(FaultSettings.parse(faults)))
    for wallet, simulator in registry.build_simulators(context).items():
        app.add_subapp(f"/sandbox/providers/{wallet}/", simulator)
    app.router.add_get("/sandbox/phone.json", phone_json)
    return app
