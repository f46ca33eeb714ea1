"""Dashboard money: balances per currency, the daily volume chart, settlements and their CSV.

Everything here reads; nothing changes money, so viewers see the same pages as owners. Every
page shows the member's merchant in the mode they chose (test or live) and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Callable

from aiohttp import web
from marshmallow import Schema, fields, validate
from markupsafe import Markup

from kopek import clock, keys
from kopek.errors import InvalidRequest, NotFound
from kopek.ledger import accounts
from kopek.ledger.schemas import SettlementListQuerySchema, SettlementQuerySchema
from kopek.ledger.settlements import day_bounds
from kopek.providers.registry import WALLETS
from kopek.store.settlements import Settlement, SettlementLine
from kopek.store.volume import SettlementSummary, VolumeStore
from kopek.web.dashboard.access import DashboardError, member_page
from kopek.web.dashboard.chart import ChartText, Series, swatch, volume_series, volume_svg
from kopek.web.dashboard.context import LOCALES, PAGE, Member
from kopek.web.dashboard.filters import money
from kopek.web.dashboard.forms import load_or_refuse
from kopek.web.dashboard.render import render, translator
from kopek.web.money import stream_settlement_csv

routes = web.RouteTableDef()
DAY_CHOICES = (7, 14, 30, 90)
RECENT_SETTLEMENTS = 5
WALLET_ORDER = list(WALLETS)


class PageQuery(Schema):
    """Any page may carry the language switch; anything it does not know is refused."""

    locale = fields.String(validate=validate.OneOf(LOCALES))


class BalanceQuery(PageQuery):
    days = fields.Integer(load_default=30, validate=validate.OneOf(DAY_CHOICES))


class SettlementsQuery(SettlementListQuerySchema, PageQuery):
    """The API's limit and cursor for the list of settlements."""


class ReportQuery(SettlementQuerySchema, PageQuery):
    """The API's limit and cursor for a settlement's lines."""


@dataclass(frozen=True)
class SettlementRow:
    settlement: Settlement
    summaries: list[SettlementSummary]      # one per currency


@dataclass(frozen=True)
class VolumeChart:
    series: Series
    svg: Markup
    legend: list[tuple[str, str, int]]      # wallet id, name, swatch


# -- pages ----------------------------------------------------------------------------------

@routes.get("/dashboard/balance")
@member_page
async def balance(request: web.Request, member: Member) -> web.StreamResponse:
    query = load_or_refuse(BalanceQuery(), request.query)
    recent, _ = await settlement_rows(request, member, RECENT_SETTLEMENTS)
    return render(request, "dashboard/balance.html", {
        "cards": await balance_cards(request, member), "days": query["days"], "day_choices": DAY_CHOICES,
        "charts": await volume_charts(request, member, query["days"]), "rows": recent})


@routes.get("/dashboard/settlements")
@member_page
async def settlements_page(request: web.Request, member: Member) -> web.StreamResponse:
    query = load_or_refuse(SettlementsQuery(), request.query)
    rows, has_more = await settlement_rows(request, member, query["limit"], query.get("starting_after"))
    return render(request, "dashboard/settlements.html", {
        "rows": rows, "next_page": next_page(request, rows[-1].settlement.id if has_more else None),
        "later_pages": "starting_after" in query})


# Before the report's route, whose {id} would match "stl_....csv" too.
@routes.get("/dashboard/settlements/{id}.csv")
@member_page
async def settlement_csv(request: web.Request, member: Member) -> web.StreamResponse:
    load_or_refuse(PageQuery(), request.query)
    return await stream_settlement_csv(request, await own_settlement(request, member))


@routes.get("/dashboard/settlements/{id}")
@member_page
async def settlement_report(request: web.Request, member: Member) -> web.StreamResponse:
    query = load_or_refuse(ReportQuery(), request.query)
    settlements = request.app[keys.LEDGER].settlements
    settlement = await own_settlement(request, member)
    lines, has_more = await settlement_lines(request, settlement, query["limit"], query.get("starting_after"))
    return render(request, "dashboard/settlement.html", {
        "report": await settlements.report(settlement), "lines": lines,
        "summaries": await VolumeStore(request.app[keys.STORE]).settlement_summaries([settlement.id]),
        "next_page": next_page(request, lines[-1].ref_id if has_more else None),
        "later_pages": "starting_after" in query,
        "wallet_names": {wallet: wallet_name(wallet, request[PAGE].locale) for wallet in WALLETS}})


# -- reading the request --------------------------------------------------------------------

def next_page(request: web.Request, cursor: str | None) -> str | None:
    """The same address (limit, language) continuing after `cursor`."""
    return str(request.rel_url.update_query(starting_after=cursor)) if cursor else None


async def own_settlement(request: web.Request, member: Member) -> Settlement:
    settlement_id = request.match_info["id"]
    try:
        return await request.app[keys.LEDGER].settlements.get_for_merchant(
            member.merchant_id, member.livemode, settlement_id)
    except NotFound as exc:
        raise _no_settlement(settlement_id, member) from exc


def _no_settlement(settlement_id: str, member: Member) -> DashboardError:
    mode_en, mode_ru = ("live", "боевых") if member.livemode else ("test", "тестовых")
    return DashboardError(404, f"There is no settlement {settlement_id} in your shop's {mode_en} data.",
                          f"Среди {mode_ru} данных вашего магазина нет расчёта {settlement_id}.")


# -- balances -------------------------------------------------------------------------------

async def balance_cards(request: web.Request, member: Member) -> list[dict[str, Any]]:
    """One card per currency: the API's balance, plus what has been paid out so far."""
    ledger = request.app[keys.LEDGER]
    figures = await ledger.balance(member.merchant_id, member.livemode)
    paid_out = {total.currency: -total.amount
                for total in await ledger.store.merchant_accounts(member.merchant_id, member.livemode)
                if total.account.endswith(":" + accounts.PAID_OUT)}
    available = {entry["currency"]: entry["amount"] for entry in figures[accounts.AVAILABLE]}
    return [{"currency": entry["currency"], "pending": entry["amount"], "available": available[entry["currency"]],
             "paid_out": paid_out.get(entry["currency"], 0)} for entry in figures[accounts.PENDING]]


# -- the volume chart -----------------------------------------------------------------------

def last_days(count: int) -> list[date]:
    """The last `count` UTC days, today included, oldest first."""
    today = clock.now().date()
    return [today - timedelta(days=back) for back in range(count - 1, -1, -1)]


async def volume_charts(request: web.Request, member: Member, count: int) -> list[VolumeChart]:
    days = last_days(count)
    rows = await VolumeStore(request.app[keys.STORE]).daily_volume(
        member.merchant_id, member.livemode, day_bounds(days[0])[0], day_bounds(days[-1])[1])
    locale = request[PAGE].locale
    names = {wallet: wallet_name(wallet, locale) for wallet in {row.wallet for row in rows}}
    return [volume_chart(series, chart_text(translator(locale), series, names))
            for series in volume_series(rows, days, WALLET_ORDER)]


def volume_chart(series: Series, text: ChartText) -> VolumeChart:
    svg = volume_svg(series, WALLET_ORDER, f"volume-{series.currency}", text)
    legend = [(wallet, text.wallet_names[wallet], swatch(wallet, WALLET_ORDER)) for wallet in series.wallets]
    return VolumeChart(series, svg, legend)


def wallet_name(wallet: str, locale: str) -> str:
    info = WALLETS.get(wallet)
    if info is None:
        return wallet
    return info.name_ru if locale == "ru" else info.name_en


def chart_text(tr: Callable[[str, str], str], series: Series, names: dict[str, str]) -> ChartText:
    busiest = max(series.days, key=series.day_total)
    facts = {"currency": series.currency, "count": len(series.days), "first": series.days[0].isoformat(),
             "last": series.days[-1].isoformat(), "wallets": ", ".join(names[w] for w in series.wallets),
             "total": money(series.total, series.currency), "busiest": busiest.isoformat(),
             "busiest_total": money(series.day_total(busiest), series.currency)}
    title = tr("Daily volume in {currency}, last {count} days",
               "Оборот по дням в {currency} за последние {count} дн.").format(**facts)
    desc = tr("Stacked bars, one per UTC day from {first} to {last}, split by wallet: {wallets}. "
              "Total {total}; the busiest day was {busiest} with {busiest_total}. "
              "The table below the chart lists every figure.",
              "Столбцы с накоплением, по одному на день (UTC) с {first} по {last}, по кошелькам: {wallets}. "
              "Всего {total}; больше всего — {busiest}: {busiest_total}. "
              "Все числа — в таблице под графиком.").format(**facts)
    return ChartText(title, desc, names)


# -- settlements ----------------------------------------------------------------------------

async def settlement_rows(request: web.Request, member: Member, limit: int,
                          starting_after: str | None = None) -> tuple[list[SettlementRow], bool]:
    """A page of settlements, newest first, each with its figures per currency."""
    try:
        found, has_more = await request.app[keys.LEDGER].settlements.list(
            member.merchant_id, member.livemode, limit, starting_after)
    except NotFound as exc:
        raise _no_settlement(str(starting_after), member) from exc
    summaries = await VolumeStore(request.app[keys.STORE]).settlement_summaries([s.id for s in found])
    return [SettlementRow(s, [x for x in summaries if x.settlement_id == s.id]) for s in found], has_more


async def settlement_lines(request: web.Request, settlement: Settlement, limit: int,
                           starting_after: str | None) -> tuple[list[SettlementLine], bool]:
    try:
        return await request.app[keys.LEDGER].settlements.lines(settlement, limit, starting_after)
    except InvalidRequest as exc:
        raise DashboardError(400, f"{starting_after} is not a line of settlement {settlement.id}.",
                             f"{starting_after} — не строка расчёта {settlement.id}.") from exc
