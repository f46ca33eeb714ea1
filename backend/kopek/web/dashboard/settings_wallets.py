"""Wallets and fee plans in the dashboard: switch a wallet on or off for the shop, and (on a
sandbox server only, as in the API) try a fee plan. On a live server the Kopek operator sets fees."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from kopek import keys
from kopek.ledger.fees import MAX_BASIS_POINTS, FeePlan
from kopek.ledger.schemas import FeePlanUpdateSchema
from kopek.payments.schemas import WalletUpdateSchema
from kopek.web.api import merchant_wallets
from kopek.web.dashboard.access import DashboardError, Form, form_action, member_page
from kopek.web.dashboard.api_forms import FromForm, typed_values
from kopek.web.dashboard.forms import FormInvalid, load_form, load_or_refuse
from kopek.web.dashboard.context import Member
from kopek.web.dashboard.render import flash, render, see_other
from kopek.web.dashboard.settings_common import say, strict_query

routes = web.RouteTableDef()
WALLETS = "/dashboard/settings/wallets"
PERCENT = re.compile(r"(\d{1,5})(?:[.,](\d{1,2}))?")


class WalletSwitchForm(FromForm, WalletUpdateSchema):
    pass


class FeePlanForm(FromForm, FeePlanUpdateSchema):
    """The API's schema and rules; the form asks for a percentage ("1.5") rather than basis points (150)."""

    def adapt(self, data: dict[str, Any]) -> dict[str, Any]:
        if "percent" in data:
            data["basis_points"] = _basis_points(data.pop("percent"))
        return data


def _basis_points(percent: str) -> str:
    """'1.5' -> '150'; text that is not such a number stays as it is, for the schema to refuse."""
    match = PERCENT.fullmatch(percent)
    return str(int(match[1]) * 100 + int((match[2] or "0").ljust(2, "0"))) if match else percent


def percent_text(basis_points: int) -> str:
    """150 -> '1.5', 10000 -> '100', 5 -> '0.05'."""
    return f"{basis_points // 100}.{basis_points % 100:02d}".rstrip("0").rstrip(".")


@routes.get(WALLETS)
@member_page
@strict_query
async def wallets_page(request: web.Request, member: Member) -> web.StreamResponse:
    return await _wallets_page(request, member)


@routes.post(WALLETS + "/{wallet}/enabled")
@form_action()
@strict_query
async def switch_wallet(request: web.Request, member: Member, form: Form) -> web.StreamResponse:
    wallet = _known_wallet(request)
    enabled = load_or_refuse(WalletSwitchForm(), form)["enabled"]
    await request.app[keys.STORE].set_wallet_enabled(member.merchant_id, wallet, enabled)
    flash(request, f"{wallet} is {'on' if enabled else 'off'} for your shop.",
          f"{wallet} {'включён' if enabled else 'выключен'} для вашего магазина.")
    raise see_other(WALLETS)


@routes.post(WALLETS + "/{wallet}/fee_plan")
@form_action()
@strict_query
async def set_fee_plan(request: web.Request, member: Member, form: Form) -> web.StreamResponse:
    wallet = _known_wallet(request)
    if not request.app[keys.SETTINGS].sandbox:
        raise DashboardError(403, "On a live server fees are set by the Kopek operator; nothing was changed.",
                             "На боевом сервере комиссии устанавливает оператор Kopek; ничего не изменилось.")
    try:
        plan: FeePlan = load_form(FeePlanForm(), form)
    except FormInvalid as exc:
        return await _wallets_page(request, member, errors=_as_percent(request, exc.errors), failed=wallet,
                                   values=form, status=400)
    await request.app[keys.LEDGER].fee_plans.set(member.merchant_id, wallet, plan)
    flash(request, f"The fee plan for {wallet} is saved.", f"Тариф для {wallet} сохранён.")
    raise see_other(WALLETS)


def _known_wallet(request: web.Request) -> str:
    wallet = request.match_info["wallet"]
    if wallet not in request.app[keys.PAYMENTS].wallets:
        raise DashboardError(404, "There is no such wallet; nothing was changed.",
                             "Такого кошелька нет; ничего не изменилось.")
    return wallet


def _as_percent(request: web.Request, errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """The schema speaks of basis points; the form asks for a percentage."""
    if errors.pop("basis_points", None) is None:
        return errors
    top = percent_text(MAX_BASIS_POINTS)
    return {**errors, "percent": [say(request, f"A percentage from 0 to {top}, with at most two decimals, such as 1.5.",
                                      f"Процент от 0 до {top}, не больше двух знаков после запятой, например 1,5.")]}


async def _wallets_page(request: web.Request, member: Member, *, status: int = 200, failed: str | None = None,
                        errors: dict[str, list[str]] | None = None, values: Form | None = None) -> web.Response:
    plans = {wallet: (plan, default)
             for wallet, plan, default in await request.app[keys.LEDGER].fee_plans.effective(member.merchant_id)}
    rows = [{**wallet, "plan": plans[wallet["id"]][0], "default_plan": plans[wallet["id"]][1],
             "percent": percent_text(plans[wallet["id"]][0].basis_points)}
            for wallet in await merchant_wallets(request, member.merchant_id)]
    return render(request, "dashboard/settings_wallets.html", {
        "wallets": rows, "failed": failed, "errors": errors or {},
        "values": typed_values(values) if values else {}}, status=status)
