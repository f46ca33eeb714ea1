"""The shop's money API, authorised by a secret key: fee plans, the balance, settlements and
their CSV reports."""

from __future__ import annotations

from aiohttp import web

from kopek import keys
from kopek.errors import PermissionDenied
from kopek.ledger import report as csv_report
from kopek.ledger.schemas import FeePlanUpdateSchema, SettlementListQuerySchema, SettlementQuerySchema
from kopek.ledger.views import fee_plan_object, line_object, settlement_object
from kopek.store.settlements import Settlement
from kopek.web.downloads import start_csv
from kopek.web.requests import authenticate, read_json, read_query

routes = web.RouteTableDef()
CSV_PAGE = 1000


@routes.get("/v1/fee_plans")
async def list_fee_plans(request: web.Request) -> web.Response:
    api_key = await authenticate(request)
    plans = await request.app[keys.LEDGER].fee_plans.effective(api_key.merchant_id)
    return web.json_response({"object": "list", "data": [fee_plan_object(*p) for p in plans], "has_more": False})


@routes.post("/v1/fee_plans/{wallet}")
async def set_fee_plan(request: web.Request) -> web.Response:
    """What Kopek charges is the operator's to set: shops may try plans on a sandbox server only."""
    api_key = await authenticate(request)
    if not request.app[keys.SETTINGS].sandbox:
        raise PermissionDenied("fee plans are set by the Kopek operator (kopek merchant fees) on a live server",
                               code="fee_plans_operator_only")
    plan = await read_json(request, FeePlanUpdateSchema)
    wallet = request.match_info["wallet"]
    await request.app[keys.LEDGER].fee_plans.set(api_key.merchant_id, wallet, plan)
    return web.json_response(fee_plan_object(wallet, plan, False))


@routes.get("/v1/balance")
async def balance(request: web.Request) -> web.Response:
    api_key = await authenticate(request)
    return web.json_response(await request.app[keys.LEDGER].balance(api_key.merchant_id, api_key.livemode))


@routes.get("/v1/settlements")
async def list_settlements(request: web.Request) -> web.Response:
    api_key = await authenticate(request)
    query = read_query(request, SettlementListQuerySchema)
    settlements = request.app[keys.LEDGER].settlements
    rows, has_more = await settlements.list(api_key.merchant_id, api_key.livemode, query["limit"],
                                            query.get("starting_after"))
    data = [settlement_object(await settlements.report(s)) for s in rows]
    return web.json_response({"object": "list", "data": data, "has_more": has_more})


@routes.get("/v1/settlements/{id}")
async def get_settlement(request: web.Request) -> web.Response:
    api_key = await authenticate(request)
    query = read_query(request, SettlementQuerySchema)
    settlements = request.app[keys.LEDGER].settlements
    settlement = await settlements.get_for_merchant(api_key.merchant_id, api_key.livemode, request.match_info["id"])
    lines, has_more = await settlements.lines(settlement, query["limit"], query.get("starting_after"))
    return web.json_response({**settlement_object(await settlements.report(settlement)),
                              "lines": {"object": "list", "data": [line_object(line) for line in lines],
                                        "has_more": has_more}})


@routes.get("/v1/settlements/{id}/report.csv")
async def settlement_csv(request: web.Request) -> web.StreamResponse:
    api_key = await authenticate(request)
    settlements = request.app[keys.LEDGER].settlements
    settlement = await settlements.get_for_merchant(api_key.merchant_id, api_key.livemode, request.match_info["id"])
    return await stream_settlement_csv(request, settlement)


async def stream_settlement_csv(request: web.Request, settlement: Settlement) -> web.StreamResponse:
    """The settlement's CSV report, for the API and the dashboard alike. Streamed page by page,
    so a day of ten thousand payments never sits in memory at once."""
    settlements = request.app[keys.LEDGER].settlements
    report = await settlements.report(settlement)
    response = await start_csv(request, csv_report.filename(report))
    await response.write(csv_report.csv_rows([csv_report.header_row()]))
    lines, has_more = await settlements.lines(settlement, CSV_PAGE)
    while lines:
        await response.write(csv_report.csv_rows(csv_report.line_row(line) for line in lines))
        if not has_more:
            break
        lines, has_more = await settlements.lines(settlement, CSV_PAGE, lines[-1].ref_id)
    await response.write(csv_report.csv_rows(csv_report.total_rows(report)))
    await response.write_eof()
    return response
