"""The dashboard's money pages as a shop's people use them: the balance per currency, the daily
volume chart and its table, settlements with their report and CSV. Payments are made through the
real checkout API against the sandbox wallets, with the owner's own secret key; settlements are
made by the ledger's real services, as `kopek settle` and the provider settler make them."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest

from kopek import clock, keys
from kopek.providers.registry import PLUGINS, WALLETS
from kopek.web.dashboard.chart import ChartText, Series, nice_step, volume_svg
from support import SUCCEEDS, attempt, confirm

MONEY_PAGES = ("/dashboard/balance", "/dashboard/settlements")


# -- helpers: payments through the real API, as the shop and its shoppers make them ------------

def bearer(secret_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret_key}"}


async def api(kopek, secret_key: str, path: str, **params):
    response = await kopek.client.get(path, headers=bearer(secret_key), params=params)
    assert response.status == 200, await response.text()
    return await response.json()


async def api_csv(kopek, secret_key: str, path: str):
    response = await kopek.client.get(path, headers=bearer(secret_key))
    assert response.status == 200, await response.text()
    return response.headers, await response.read()


async def paid(kopek, secret_key: str, amount: int, wallet: str = "webmoney", currency: str = "RUB") -> dict:
    """A payment the shopper completes in the checkout with the wallet's magic account that succeeds:
    a code by SMS for WebMoney, a PIN for e-port and KreditPilot."""
    response = await kopek.client.post("/v1/payments", headers=bearer(secret_key), json={
        "amount": amount, "currency": currency, "order_id": f"order-{uuid.uuid4()}"})
    assert response.status == 201, await response.text()
    payment = await response.json()
    if wallet == "webmoney":
        assert (await attempt(kopek, payment, SUCCEEDS)).status < 300
        assert (await confirm(kopek, payment, await kopek.phone_code(payment["id"]))).status < 300
    else:
        details = PLUGINS[wallet].example_details(PLUGINS[wallet].example_account("01"))
        started = await kopek.client.post(
            f"/v1/checkout/{payment['id']}/attempts", json={"wallet": wallet, "details": details},
            headers={**kopek.checkout_headers(payment), "Idempotency-Key": str(uuid.uuid4())})
        assert started.status < 300, await started.text()
    return await succeeded(kopek, secret_key, payment)


async def succeeded(kopek, secret_key: str, payment: dict, timeout_s: float = 10.0) -> dict:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        current = await api(kopek, secret_key, f"/v1/payments/{payment['id']}")
        if current["status"] == "succeeded":
            return current
        assert asyncio.get_running_loop().time() < deadline, current
        await asyncio.sleep(0.05)


async def refunded(kopek, secret_key: str, payment: dict, amount: int) -> dict:
    response = await kopek.client.post("/v1/refunds", headers=bearer(secret_key),
                                       json={"payment": payment["id"], "amount": amount})
    body = await response.json()
    assert response.status == 200 and body["status"] == "succeeded", body
    return body


def freeze_on(monkeypatch, day: date) -> None:
    """Kopek's clock reads noon UTC of `day` (still ticking, so timeouts work)."""
    noon, started = datetime(day.year, day.month, day.day, 12, tzinfo=timezone.utc), datetime.now(timezone.utc)
    monkeypatch.setattr(clock, "now", lambda: noon + (datetime.now(timezone.utc) - started))


def today() -> date:
    return clock.now().date()


@pytest.fixture(autouse=True)
def midday(monkeypatch) -> date:
    """Each test runs from noon UTC of the real day (the clock still ticks): no test straddles
    midnight, where a payment and the page showing it would fall on different days."""
    day = today()
    freeze_on(monkeypatch, day)
    return day


async def settle(kopek, day: date) -> None:
    """What `kopek settle --date DAY` does, run once the day is over."""
    await kopek.app[keys.LEDGER].settlements.settle_day(day, livemode=False, today=day + timedelta(days=1))


# -- helpers: reading pages --------------------------------------------------------------------

def card_figure(page, currency: str, figure: str) -> str:
    return page.find(rf'data-currency="{currency}">.*?<dd class="amount {figure}">([^<]+)</dd>')


def bars(svg: str) -> dict[tuple[str, str], dict[str, float]]:
    """(day, wallet) -> the bar's numbers, from a chart's SVG."""
    found = {}
    for attrs in re.findall(r'<rect ([^>]*class="bar [^>]*)>', svg):
        a = dict(re.findall(r'([\w-]+)="([^"]*)"', attrs))
        found[(a["data-day"], a["data-wallet"])] = {
            "amount": int(a["data-amount"]), "height": float(a["height"]), "y": float(a["y"])}
    return found


def table_row(page, table_id: str, day: str) -> list[str]:
    table = page.find(rf'(<table id="{table_id}">.*?</table>)')
    row = re.search(rf'<tr data-day="{day}">(.*?)</tr>', table, re.S)
    assert row, f"no row for {day} in {table_id}"
    return re.findall(r'<t[dh][^>]*>([^<]*)</t[dh]>', row.group(1))


def settlement_row(page, settlement_id: str, currency: str = "RUB") -> dict[str, str]:
    row = page.find(rf'(<tr data-settlement="{settlement_id}" data-currency="{currency}">.*?</tr>)')
    cells = dict(re.findall(r'<td class="num ([\w-]+)">([^<]*)', row))
    return {name: value.strip() for name, value in cells.items()}


def figures(page) -> list[str]:
    return re.findall(r'class="num[^"]*">([^<]+)<', page.text)


def money(amount: int, currency: str = "RUB") -> str:
    sign = "-" if amount < 0 else ""
    return f"{sign}{abs(amount) // 100}.{abs(amount) % 100:02d} {currency}"


def assert_refused(page, status: int, words: str) -> None:
    assert page.status == status, page.text
    assert 'data-status="%d"' % status in page.text
    assert words in page.text


# -- the balance -------------------------------------------------------------------------------

async def test_the_balance_shows_what_the_api_shows_as_payments_succeed_and_providers_settle(kopek, owner):
    key = owner.keys["sk-test"]
    page = await owner.get("/dashboard/balance")
    assert page.status == 200 and 'id="no-balance"' in page.text and 'id="no-volume"' in page.text
    assert "<svg" not in page.text

    await paid(kopek, key, 1_000, "webmoney")
    await paid(kopek, key, 500, "eport")
    api_balance = await api(kopek, key, "/v1/balance")
    assert api_balance["pending"] == [{"currency": "RUB", "amount": 985 + 492}]
    page = await owner.get("/dashboard/balance")
    assert card_figure(page, "RUB", "pending") == money(1_477)
    assert card_figure(page, "RUB", "available") == money(0)
    assert card_figure(page, "RUB", "paid-out") == money(0)
    assert "the wallets have not settled with Kopek yet" in page.text      # each figure is explained

    await kopek.app[keys.LEDGER].provider_settler.run_once()
    api_balance = await api(kopek, key, "/v1/balance")
    page = await owner.get("/dashboard/balance")
    assert card_figure(page, "RUB", "pending") == money(api_balance["pending"][0]["amount"]) == money(0)
    assert card_figure(page, "RUB", "available") == money(api_balance["available"][0]["amount"]) == money(1_477)

    russian = await owner.get("/dashboard/balance", locale="ru")
    assert russian.status == 200 and "Доступно" in russian.text and "ещё не рассчитались" in russian.text


async def test_a_payout_moves_available_to_paid_out(kopek, owner):
    key = owner.keys["sk-test"]
    await paid(kopek, key, 2_000, "eport")
    await settle(kopek, today())
    await kopek.app[keys.LEDGER].provider_settler.run_once()
    listed = await api(kopek, key, "/v1/settlements")
    await kopek.app[keys.LEDGER].settlements.pay(listed["data"][0]["id"])

    page = await owner.get("/dashboard/balance")
    api_balance = await api(kopek, key, "/v1/balance")
    assert card_figure(page, "RUB", "available") == money(api_balance["available"][0]["amount"]) == money(0)
    assert card_figure(page, "RUB", "paid-out") == money(1_970)


# -- the volume chart --------------------------------------------------------------------------

async def test_the_chart_stacks_each_days_volume_per_wallet_in_proportion(kopek, owner, monkeypatch, midday):
    key = owner.keys["sk-test"]
    two_days_ago = midday - timedelta(days=2)
    freeze_on(monkeypatch, two_days_ago)
    await paid(kopek, key, 300, "eport")
    freeze_on(monkeypatch, midday)
    await paid(kopek, key, 1_000, "webmoney")
    await paid(kopek, key, 500, "eport")
    await paid(kopek, key, 400, "eport", currency="USD")
    failed = await kopek.client.post("/v1/payments", headers=bearer(key),
                                     json={"amount": 9_900, "currency": "RUB", "order_id": "never-paid"})
    assert failed.status == 201                     # open, never succeeded: not volume

    page = await owner.get("/dashboard/balance", days="7")
    assert page.status == 200
    now, before = today().isoformat(), two_days_ago.isoformat()
    rub = page.find(r'(<svg[^>]*id="volume-RUB".*?</svg>)')
    rub_bars = bars(rub)
    assert {k: v["amount"] for k, v in rub_bars.items()} == {
        (now, "webmoney"): 1_000, (now, "eport"): 500, (before, "eport"): 300}
    usd = page.find(r'(<svg[^>]*id="volume-USD".*?</svg>)')
    assert {k: v["amount"] for k, v in bars(usd).items()} == {(now, "eport"): 400}
    heights = {k: v["height"] for k, v in rub_bars.items()}
    assert heights[(now, "webmoney")] / heights[(now, "eport")] == pytest.approx(2, rel=1e-3)
    assert heights[(before, "eport")] / heights[(now, "eport")] == pytest.approx(0.6, rel=1e-3)
    # stacked in the legend's order: e-port sits on WebMoney, and the day's total reaches the top line (15 RUB)
    assert rub_bars[(now, "eport")]["y"] + heights[(now, "eport")] == pytest.approx(rub_bars[(now, "webmoney")]["y"])
    top_line = re.search(r'<line class="gridline"[^>]*y1="([\d.]+)"[^>]*/>\s*<text[^>]*>15<', rub)
    assert top_line and rub_bars[(now, "eport")]["y"] == pytest.approx(float(top_line.group(1)))
    assert re.findall(r'text-anchor="end"[^>]*>([^<]+)<', rub) == ["0", "5", "10", "15"]
    assert today().strftime("%m-%d") in rub and two_days_ago.strftime("%m-%d") in rub
    assert 'role="img"' in rub and 'aria-labelledby="volume-RUB-title volume-RUB-desc"' in rub
    assert '<title id="volume-RUB-title">Daily volume in RUB, last 7 days</title>' in rub
    assert "busiest day was %s with 15.00 RUB" % now in rub

    assert table_row(page, "volume-RUB-table", now) == [now, "10.00 RUB", "5.00 RUB", "15.00 RUB"]
    assert table_row(page, "volume-RUB-table", before) == [before, "0.00 RUB", "3.00 RUB", "3.00 RUB"]
    assert page.find(r'<table id="volume-RUB-table">.*?<tfoot>.*?<td class="num total">([^<]+)<') == "18.00 RUB"
    assert table_row(page, "volume-USD-table", now) == [now, "4.00 USD", "4.00 USD"]
    legend = page.find(r'(<ul class="legend".*?</ul>)')
    assert WALLETS["webmoney"].name_en in legend and WALLETS["eport"].name_en in legend
    assert page.text.index('id="volume-RUB"') < page.text.index('id="volume-USD"')   # the largest first
    assert "style=" not in page.text

    one_day_window = await owner.get("/dashboard/balance", days="7", locale="ru")
    assert "Оборот по дням в RUB за последние 7 дн." in one_day_window.text
    default = await owner.get("/dashboard/balance")
    assert 'id="volume-RUB"' in default.text and '<option value="30" selected>' in default.text


async def test_the_chart_window_leaves_out_older_days(kopek, owner, monkeypatch, midday):
    key = owner.keys["sk-test"]
    freeze_on(monkeypatch, midday - timedelta(days=10))
    await paid(kopek, key, 700, "eport")
    freeze_on(monkeypatch, midday)
    week = await owner.get("/dashboard/balance", days="7")
    assert 'id="no-volume"' in week.text and "No succeeded payments in the last 7 days." in week.text
    assert "<svg" not in week.text
    fortnight = await owner.get("/dashboard/balance", days="14")
    assert {k[1]: v["amount"] for k, v in bars(fortnight.text).items()} == {"eport": 700}


def test_the_svg_escapes_its_words_and_scales_bars_to_a_nice_top():
    assert [nice_step(n) for n in (1, 4, 5, 9, 1_500, 1_999, 10_001)] == [1, 1, 2, 5, 500, 500, 5_000]
    day = date(2026, 1, 2)
    series = Series("RUB", [day], ["webmoney"], {(day, "webmoney"): 1})
    svg = str(volume_svg(series, ["webmoney"], "c", ChartText('<script>"x"</script>', "a & b", {})))
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "a &amp; b" in svg
    assert 'viewBox="0 0 480 240"' in svg and 'width="100%"' in svg
    assert re.findall(r'text-anchor="end"[^>]*>([^<]+)<', svg) == ["0.00", "0.01"]   # below one rouble


@pytest.mark.parametrize("query", [
    {"days": "abc"}, {"days": "-1"}, {"days": "0"}, {"days": "31"}, {"days": "7.5"}, {"foo": "1"},
    {"locale": "de"}, {"days": "7", "limit": "2"},
])
async def test_a_tampered_balance_address_is_a_400_page(owner, query):
    page = await owner.get("/dashboard/balance", **query)
    assert_refused(page, 400, "the request is not valid")


async def test_a_parameter_given_twice_is_a_400_page(owner):
    page = await owner.get("/dashboard/balance?days=7&days=30")
    assert_refused(page, 400, "sent more than once")


# -- settlements -------------------------------------------------------------------------------

async def a_settled_day(kopek, owner) -> dict:
    """Three payments and a refund today, settled, funded by the providers and paid out."""
    key = owner.keys["sk-test"]
    first = await paid(kopek, key, 1_000, "webmoney")
    on_eport = await paid(kopek, key, 500, "eport")
    await paid(kopek, key, 300, "eport")
    await refunded(kopek, key, on_eport, 100)
    await settle(kopek, today())
    return {"key": key, "first": first, "listed": await api(kopek, key, "/v1/settlements")}


async def test_settlements_list_report_and_csv_match_the_api(kopek, owner):
    day = await a_settled_day(kopek, owner)
    key, settlement = day["key"], day["listed"]["data"][0]
    report = await api(kopek, key, f"/v1/settlements/{settlement['id']}")
    lines = report["lines"]["data"]
    gross = sum(line["amount"] for line in lines if line["type"] == "payment")
    refunds = -sum(line["amount"] for line in lines if line["type"] == "refund")
    fees = sum(line["fee"] for line in lines)
    net = report["net_payable"][0]["amount"]
    assert (gross, refunds, net) == (1_800, 100, gross - refunds - fees) and len(lines) == 4

    page = await owner.get("/dashboard/settlements")
    assert settlement_row(page, settlement["id"]) == {
        "gross": money(gross), "fees": money(fees), "refunds": money(refunds), "net": money(net),
        "paid-out": "not yet"}
    assert settlement["date"] in page.text and "status-open" in page.text

    page = await owner.get(f"/dashboard/settlements/{settlement['id']}")
    assert page.status == 200
    assert page.find(r'<h1>([^<]+)</h1>') == f"Settlement for {settlement['date']}"
    for total in report["totals"]:
        row = page.find(rf'(<tr data-wallet="{total["wallet"]}" data-currency="{total["currency"]}">.*?</tr>)')
        assert re.findall(r'<td class="num">([^<]+)</td>', row) == [
            str(total["count"]), money(total["amount"]), money(total["fee"]), money(total["net"])]
    assert re.findall(r'<tr data-line="([^"]+)">', page.text) == [line["id"] for line in lines]
    assert page.find(r'<td class="num net">([^<]+)</td>') == money(net)

    headers, dashboard_csv = await csv_of(owner, f"/dashboard/settlements/{settlement['id']}.csv")
    api_headers, api_csv_body = await api_csv(kopek, key, f"/v1/settlements/{settlement['id']}/report.csv")
    assert dashboard_csv == api_csv_body and dashboard_csv.startswith(b"type,id,order_id")
    assert headers["Content-Type"] == api_headers["Content-Type"] == "text/csv; charset=utf-8"
    assert headers["Content-Disposition"] == api_headers["Content-Disposition"]

    await kopek.app[keys.LEDGER].provider_settler.run_once()
    await kopek.app[keys.LEDGER].settlements.pay(settlement["id"])
    paid_at = (await api(kopek, key, f"/v1/settlements/{settlement['id']}"))["paid_at"]
    page = await owner.get("/dashboard/settlements")
    assert settlement_row(page, settlement["id"])["paid-out"].startswith(money(net))
    assert clock.from_iso(paid_at).strftime("%Y-%m-%d %H:%M:%S UTC") in page.text
    balance = await owner.get("/dashboard/balance")      # the balance page lists it too
    assert settlement_row(balance, settlement["id"])["net"] == money(net)


async def csv_of(visitor, path: str):
    async with visitor.http.get(visitor.base_url + path) as response:
        assert response.status == 200, await response.text()
        return response.headers, await response.read()


async def test_report_lines_and_the_list_page_by_cursor(kopek, owner, monkeypatch, midday):
    key = owner.keys["sk-test"]
    earlier = midday - timedelta(days=3)
    freeze_on(monkeypatch, earlier)
    await paid(kopek, key, 200, "eport")
    await settle(kopek, earlier)
    freeze_on(monkeypatch, midday)
    day = await a_settled_day(kopek, owner)
    newest, older = [s["id"] for s in day["listed"]["data"]]

    first = await owner.get("/dashboard/settlements", limit="1")
    assert re.findall(r'<tr data-settlement="([^"]+)"', first.text) == [newest]
    second = await owner.get(first.find(r'<a href="([^"]+)" rel="next"'))
    assert second.status == 200 and re.findall(r'<tr data-settlement="([^"]+)"', second.text) == [older]
    assert "First page" in second.text and 'rel="next"' not in second.text

    lines = (await api(kopek, key, f"/v1/settlements/{newest}"))["lines"]["data"]
    page = await owner.get(f"/dashboard/settlements/{newest}", limit="3")
    assert re.findall(r'<tr data-line="([^"]+)">', page.text) == [line["id"] for line in lines[:3]]
    rest = await owner.get(page.find(r'<a href="([^"]+)" rel="next"'))
    assert re.findall(r'<tr data-line="([^"]+)">', rest.text) == [line["id"] for line in lines[3:]]

    assert_refused(await owner.get(f"/dashboard/settlements/{newest}", starting_after="pay_nothere"), 400,
                   "is not a line of settlement")
    assert_refused(await owner.get("/dashboard/settlements", starting_after="stl_nothere"), 404,
                   "There is no settlement stl_nothere")


@pytest.mark.parametrize("query", [{"limit": "-1"}, {"limit": "0"}, {"limit": "abc"}, {"limit": "101"},
                                   {"foo": "1"}, {"starting_after": "x"}])
async def test_a_tampered_settlements_address_is_a_400_page(owner, query):
    assert_refused(await owner.get("/dashboard/settlements", **query), 400, "the request is not valid")


async def test_a_tampered_report_or_csv_address_is_a_400_page(kopek, owner):
    settlement_id = (await a_settled_day(kopek, owner))["listed"]["data"][0]["id"]
    for query in ({"limit": "-1"}, {"limit": "1001"}, {"foo": "1"}):
        assert_refused(await owner.get(f"/dashboard/settlements/{settlement_id}", **query), 400, "the request is not valid")
    assert_refused(await owner.get(f"/dashboard/settlements/{settlement_id}.csv", foo="1"), 400, "the request is not valid")


# -- whose data -------------------------------------------------------------------------------

async def test_another_merchants_money_never_appears_and_their_settlement_is_a_404(kopek, owner):
    await paid(kopek, kopek.merchant.secret_key, 7_777, "eport")       # the other shop's
    await paid(kopek, owner.keys["sk-test"], 1_000, "webmoney")
    await settle(kopek, today())
    theirs = (await api(kopek, kopek.merchant.secret_key, "/v1/settlements"))["data"][0]["id"]
    mine = (await api(kopek, owner.keys["sk-test"], "/v1/settlements"))["data"][0]["id"]

    for path in (*MONEY_PAGES, f"/dashboard/settlements/{mine}"):
        page = await owner.get(path)
        assert page.status == 200 and "77.77" not in page.text and theirs not in page.text
        assert "76.60" not in page.text                                # nor their net
    for path in (f"/dashboard/settlements/{theirs}", f"/dashboard/settlements/{theirs}.csv",
                 "/dashboard/settlements/stl_unknown", "/dashboard/settlements/nonsense.csv"):
        page = await owner.get(path)
        assert_refused(page, 404, "There is no settlement")
        assert page.headers["Content-Type"].startswith("text/html")


async def test_live_mode_shows_none_of_the_test_money(kopek, owner):
    await paid(kopek, owner.keys["sk-test"], 1_000, "webmoney")
    await settle(kopek, today())
    test_settlement = (await api(kopek, owner.keys["sk-test"], "/v1/settlements"))["data"][0]["id"]
    await owner.get("/dashboard/balance")              # the mode switch's form, with its CSRF token
    switched = await owner.post("/dashboard/mode", {"mode": "live", "next": "/dashboard/balance"})
    assert switched.status == 200 and "Live data" in switched.text
    assert 'id="no-balance"' in switched.text and 'id="no-volume"' in switched.text
    assert test_settlement not in (await owner.get("/dashboard/settlements")).text
    assert_refused(await owner.get(f"/dashboard/settlements/{test_settlement}"), 404, "live data")


# -- who may look -----------------------------------------------------------------------------

async def test_a_viewer_sees_every_money_page_and_nothing_to_change(kopek, owner, viewer):
    settlement_id = (await a_settled_day(kopek, owner))["listed"]["data"][0]["id"]
    for path in (*MONEY_PAGES, f"/dashboard/settlements/{settlement_id}"):
        mine, theirs = await owner.get(path), await viewer.get(path)
        assert theirs.status == 200, (path, theirs.text)
        assert figures(theirs) == figures(mine) and figures(mine)
        forms = re.findall(r'<form method="post" action="([^"]+)"', theirs.text)
        assert set(forms) == {"/dashboard/mode", "/dashboard/logout"}          # only the layout's own
    _, body = await csv_of(viewer, f"/dashboard/settlements/{settlement_id}.csv")
    assert body.startswith(b"type,id,order_id")


@pytest.mark.parametrize("path", [*MONEY_PAGES, "/dashboard/settlements/stl_x", "/dashboard/settlements/stl_x.csv"])
async def test_logged_out_visitors_go_to_the_login_page(visitors, path):
    page = await visitors().get(path, days="7") if path.endswith("balance") else await visitors().get(path)
    assert page.status == 200 and page.url.path == "/dashboard/login"
    assert page.url.query["next"].startswith(path)
