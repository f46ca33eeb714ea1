"""Fault injection from the console: set or clear the simulators' faults (latency, 503s,
duplicate, stale and forged notifications) for the visitor's own workspace: they strike only the
payments of that workspace (a member's merchant, or what an anonymous visitor started), never
anyone else's. The operator's KOPEK_SANDBOX_FAULTS strike everyone's, and are shown too."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from kopek import keys
from kopek.providers.sandbox.faults import FaultSettings
from kopek.web.dashboard.access import DashboardError, Form, public_action
from kopek.web.dashboard.forms import load_or_refuse
from kopek.web.dashboard.render import flash, see_other
from kopek.web.sandbox_console.forms import FaultsForm
from kopek.web.sandbox_console.workspace import Workspace, claimed_workspace

routes = web.RouteTableDef()
# (knob, English, Russian), in the order the form shows them.
KNOBS = (
    ("latency_ms", "Latency of each provider API call, ms (LOW-HIGH)",
     "Задержка каждого запроса к провайдеру, мс (ОТ-ДО)"),
    ("error_rate", "Share of provider API calls answered 503", "Доля запросов к провайдеру с ответом 503"),
    ("duplicate_callbacks", "Share of notifications sent twice at once", "Доля уведомлений, отправленных дважды"),
    ("out_of_order_callbacks", "Share followed by a stale notification",
     "Доля уведомлений, за которыми приходит устаревшее"),
    ("bad_signatures", "Share sent only with a forged signature", "Доля уведомлений только с поддельной подписью"),
)


@dataclass(frozen=True)
class FaultsView:
    values: dict[str, str]      # the form's values: the knobs as KOPEK_SANDBOX_FAULTS spells them
    text: str                   # this workspace's, as one KOPEK_SANDBOX_FAULTS value ("" when all are off)
    operator_text: str          # the operator's KOPEK_SANDBOX_FAULTS, which strike every workspace
    injected: dict[str, int]    # how many times each fault struck this workspace's payments since start


def view(app: web.Application, space: Workspace) -> FaultsView:
    injector = app[keys.SANDBOX_FAULTS]
    text = injector.workspace_settings(space.key).to_text()
    values = dict(item.split("=", 1) for item in text.split(",") if item)
    return FaultsView(values, text, injector.settings.to_text(), injector.injected_in(space.key))


@routes.post("/sandbox/faults")
@public_action
async def set_faults(request: web.Request, form: Form) -> web.StreamResponse:
    settings = requested_settings(load_or_refuse(FaultsForm(), form))
    space = await claimed_workspace(request)
    assert space.key is not None, "a claimed workspace has its key"
    request.app[keys.SANDBOX_FAULTS].set_workspace_settings(space.key, settings)
    if settings == FaultSettings():
        flash(request, "Fault injection is off.", "Внесение сбоев выключено.")
    else:
        flash(request, f"Faults set: {settings.to_text()}.", f"Сбои заданы: {settings.to_text()}.")
    raise see_other("/sandbox#faults")


def requested_settings(data: dict[str, Any]) -> FaultSettings:
    if data.pop("action") == "clear":
        return FaultSettings()
    text = ",".join(f"{name}={value}" for name, value in data.items())
    try:
        return FaultSettings.parse(text)
    except ValueError as exc:
        raise DashboardError(400, f"Nothing was changed: {exc}.", f"Ничего не изменилось: {exc}.") from exc
