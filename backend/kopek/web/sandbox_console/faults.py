"""Fault injection from the console: set or clear the simulators' faults (latency, 503s,
duplicate, stale and forged notifications). They are instance-wide simulator settings, so anyone
on a sandbox server may change them, with the session's CSRF token."""

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
    text: str                   # the same as one KOPEK_SANDBOX_FAULTS value ("" when all are off)
    injected: dict[str, int]    # how many times each fault struck since start


def view(app: web.Application) -> FaultsView:
    injector = app[keys.SANDBOX_FAULTS]
    text = injector.settings.to_text()
    values = dict(item.split("=", 1) for item in text.split(",") if item)
    return FaultsView(values, text, dict(injector.injected))


@routes.post("/sandbox/faults")
@public_action
async def set_faults(request: web.Request, form: Form) -> web.StreamResponse:
    settings = requested_settings(load_or_refuse(FaultsForm(), form))
    request.app[keys.SANDBOX_FAULTS].replace_settings(settings)
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
