"""The dashboard's payment pages, used as a shop owner (and a viewer) would: the filtered list and
its pages, the CSV, the detail page, and refunds with their confirmation step."""

from __future__ import annotations

import asyncio
import csv
import html
import io
import re
import sqlite3
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from marshmallow import ValidationError

from kopek import keys
from kopek.ids import hash_secret
from kopek.payments.schemas import PaymentCreateSchema
from kopek.settings import Settings
from kopek.web.dashboard.forms import major_to_minor
from kopek.webhooks.events import EVENT_TYPES
from support import (
    DECLINED, SUCCEEDS, XSS_ATTRIBUTE, XSS_SCRIPT, assert_shown_as_text, attempt, confirm, html_escaped, make_settings,
)
from webhook_receiver import Receiver

LIST = "/dashboard/payments"


@pytest.fixture
def kopek_settings(tmp_path: Path, unused_tcp_port: int, aiohttp_server: Any) -> Settings:
    # One attempt per payment, so a declined wallet fails the payment. aiohttp_server (the webhook
    # receiver's) is set up before Kopek, so it is torn down after Kopek's webhook sender stops.
    return make_settings(tmp_path, unused_tcp_port, max_attempts_per_payment=1, webhook_retry_scale=0.001,
                         webhook_timeout_s=1.0)


# -- helpers: the shop's API with the owner's key --------------------------------------------

def auth(owner: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {owner.keys['sk-test']}"}


async def create(kopek: Any, owner: Any, amount: int = 500, order_id: str | None = None, **body: Any) -> dict[str, Any]:
    response = await kopek.client.post("/v1/payments", headers=auth(owner), json={
        "amount": amount, "currency": "RUB", "order_id": order_id or f"order-{uuid.uuid4().hex[:8]}", **body})
    assert response.status == 201, await response.text()
    return await response.json()


async def fetch(kopek: Any, owner: Any, payment: dict[str, Any]) -> dict[str, Any]:
    response = await kopek.client.get(f"/v1/payments/{payment['id']}", headers=auth(owner))
    assert response.status == 200
    return await response.json()


async def wait_status(kopek: Any, owner: Any, payment: dict[str, Any], wanted: str) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + 10
    while (current := await fetch(kopek, owner, payment))["status"] != wanted:
        assert asyncio.get_running_loop().time() < deadline, f"still {current['status']}, not {wanted}"
        await asyncio.sleep(0.05)
    return current


async def paid(kopek: Any, owner: Any, amount: int = 500, order_id: str | None = None) -> dict[str, Any]:
    payment = await create(kopek, owner, amount, order_id)
    assert (await attempt(kopek, payment, SUCCEEDS)).status == 200
    assert (await confirm(kopek, payment, await kopek.phone_code(payment["id"]))).status == 200
    return await wait_status(kopek, owner, payment, "succeeded")


async def failed(kopek: Any, owner: Any, amount: int = 700, order_id: str | None = None,
                 **body: Any) -> dict[str, Any]:
    payment = await create(kopek, owner, amount, order_id, **body)
    assert (await attempt(kopek, payment, DECLINED)).status == 200
    await confirm(kopek, payment, await kopek.phone_code(payment["id"]))   # WebMoney declines at the code
    return await wait_status(kopek, owner, payment, "failed")


async def api_refunds(kopek: Any, owner: Any, payment: dict[str, Any]) -> list[dict[str, Any]]:
    response = await kopek.client.get("/v1/refunds", params={"payment": payment["id"]}, headers=auth(owner))
    assert response.status == 200
    return (await response.json())["data"]


def refund_rows(kopek: Any, payment_id: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(kopek.app[keys.SETTINGS].db_path) as db:
        return db.execute("SELECT id, amount, status FROM refunds WHERE payment_id=?", (payment_id,)).fetchall()


async def live_payment(kopek: Any, owner: Any) -> str:
    """A live-mode payment of the owner's merchant (live keys do not work on a sandbox server)."""
    api_key = await kopek.app[keys.STORE].find_api_key(hash_secret(owner.keys["sk-test"]))
    data = PaymentCreateSchema().load({"amount": 900, "currency": "RUB", "order_id": "live-order"})
    payment = await kopek.app[keys.PAYMENTS].create(merchant_id=api_key.merchant_id, livemode=True, data=data)
    return payment.id


def listed_ids(page: Any) -> list[str]:
    return re.findall(r'<tr data-payment-id="([^"]+)"', page.text)


def newest_first(*payments: dict[str, Any]) -> list[str]:
    return [p["id"] for p in sorted(payments, key=lambda p: (p["created_at"], p["id"]), reverse=True)]


def href(page: Any, link_id: str) -> str:
    """The href of the link with this id."""
    tag = page.find(rf'(<a [^>]*id="{link_id}"[^>]*>)')
    return html.unescape(re.search(r'href="([^"]+)"', tag).group(1))


def hidden_fields(page: Any) -> dict[str, str]:
    form = page.find(r'(<form[^>]*id="confirm-form".*?</form>)')
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))
    fields = {k: html.unescape(v) for k, v in fields.items() if k != "csrf_token"}
    fields["confirm"] = "yes"
    return fields


def text(page: Any) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.text)))


# -- the list ---------------------------------------------------------------------------------

async def test_the_list_shows_this_merchants_payments_in_the_mode_shown(kopek, owner, viewer) -> None:
    mine = [await create(kopek, owner, 500, "A-1"), await create(kopek, owner, 250, "A-2")]
    others = await kopek.create_payment(order_id="not-yours")
    live_id = await live_payment(kopek, owner)

    page = await owner.get(LIST)
    assert page.status == 200
    assert listed_ids(page) == newest_first(*mine)
    assert others["id"] not in page.text and live_id not in page.text
    assert "5.00 RUB" in page.text and "2.50 RUB" in page.text and 'class="status status-requires_wallet"' in page.text
    assert f'<a href="/dashboard/payments/{mine[0]["id"]}">' in page.text
    assert re.search(r'<script src="/static/widget/dashboard-live.js" nonce="[^"]+" defer>', page.text)
    assert 'aria-live="polite"' in page.text and 'data-live-prepend="true"' in page.text

    assert listed_ids(await viewer.get(LIST)) == newest_first(*mine)   # the same shop, read-only

    await owner.post("/dashboard/mode", {"mode": "live", "next": LIST})
    assert listed_ids(owner.last) == [live_id]
    assert (await owner.get(f"{LIST}/{mine[0]['id']}")).status == 404   # a test payment, not in live data
    assert (await owner.get(f"{LIST}/{live_id}")).status == 200


async def test_a_visitor_who_is_not_logged_in_goes_to_the_login_page(visitors) -> None:
    page = await visitors().get(LIST, status="succeeded")
    assert page.url.path == "/dashboard/login" and page.url.query["next"] == "/dashboard/payments?status=succeeded"


async def test_each_filter_narrows_the_list(kopek, owner) -> None:
    won = await paid(kopek, owner, 500, "shop-1001")
    lost = await failed(kopek, owner, 700, "shop-1002")
    open_ = await create(kopek, owner, 100, "web-77")
    assert lost["wallet"] == "webmoney" and open_["wallet"] is None
    today = datetime.now(timezone.utc).date()   # the filters' dates are UTC

    async def ids(**query: str) -> set[str]:
        page = await owner.get(LIST, **query)
        assert page.status == 200, page.text
        return set(listed_ids(page))

    assert await ids() == {won["id"], lost["id"], open_["id"]}
    assert await ids(status="succeeded") == {won["id"]}
    assert await ids(status="failed") == {lost["id"]}
    assert await ids(status="requires_wallet") == {open_["id"]}
    assert await ids(wallet="webmoney") == {won["id"], lost["id"]}
    assert await ids(wallet="eport") == set()
    assert await ids(amount_min="5") == {won["id"], lost["id"]}
    assert await ids(amount_min="5.01") == {lost["id"]}
    assert await ids(amount_max="5.00") == {won["id"], open_["id"]}
    assert await ids(amount_min="0.01", amount_max="1") == {open_["id"]}
    assert await ids(amount_min="5,00", amount_max="5,00") == {won["id"]}
    assert await ids(created_from=str(today), created_to=str(today)) == {won["id"], lost["id"], open_["id"]}
    assert await ids(created_to=str(today - timedelta(days=1))) == set()
    assert await ids(created_from=str(today + timedelta(days=1))) == set()
    assert await ids(q=won["id"]) == {won["id"]}
    assert await ids(q="shop-1002") == {lost["id"]}
    assert await ids(q="shop-") == {won["id"], lost["id"]}
    assert await ids(q="hop-") == set()                        # a prefix, not any substring
    assert await ids(status="failed", q="shop-") == {lost["id"]}
    page = await owner.get(LIST, status="succeeded", wallet="", q="")   # the form's empty fields count as absent
    assert listed_ids(page) == [won["id"]] and 'data-live-prepend="false"' in page.text
    assert 'id="no-payments"' in (await owner.get(LIST, q="nothing-like-this")).text


async def test_pages_follow_cursors_both_ways_and_keep_the_filters(kopek, owner) -> None:
    made = [await create(kopek, owner, 100 + n, f"page-{n}") for n in range(5)]
    await create(kopek, owner, 999, "other-1")
    order = newest_first(*made)

    first = await owner.get(LIST, q="page-", limit="2")
    assert listed_ids(first) == order[:2] and 'id="newer"' not in first.text
    older = href(first, "older")
    assert "q=page-" in older and "limit=2" in older and f"starting_after={order[1]}" in older

    second = await owner.get(older)
    assert listed_ids(second) == order[2:4]
    third = await owner.get(href(second, "older"))
    assert listed_ids(third) == order[4:] and 'id="older"' not in third.text

    back = await owner.get(href(third, "newer"))
    assert listed_ids(back) == order[2:4]
    assert "ending_before=" in str(back.url) and "q=page-" in str(back.url)
    top = await owner.get(href(back, "newer"))
    assert listed_ids(top) == order[:2] and 'id="newer"' not in top.text
    assert listed_ids(await owner.get(href(third, "first-page"))) == order[:2]


@pytest.mark.parametrize("query, parameter", [
    ({"foo": "1"}, "foo"),
    ({"csrf_token": "x"}, "csrf_token"),
    ({"limit": "-1"}, "limit"),
    ({"limit": "abc"}, "limit"),
    ({"limit": "101"}, "limit"),
    ({"status": "paid"}, "status"),
    ({"wallet": "paypal"}, "wallet"),
    ({"created_from": "2026-13-01"}, "created_from"),
    ({"created_from": "26-1-1"}, "created_from"),
    ({"created_from": "2026-03-02", "created_to": "2026-03-01"}, "created_to"),
    ({"amount_min": "1.234"}, "amount_min"),
    ({"amount_min": "-1"}, "amount_min"),
    ({"amount_max": "1e3"}, "amount_max"),
    ({"amount_min": "NaN"}, "amount_min"),
    ({"amount_min": "9", "amount_max": "8"}, "amount_max"),
    ({"starting_after": "../etc"}, "starting_after"),
    ({"starting_after": "pay_x", "ending_before": "pay_y"}, "ending_before"),
])
async def test_a_tampered_query_string_is_a_400_that_names_the_parameter(owner, query, parameter) -> None:
    page = await owner.get(LIST, **query)
    assert page.status == 400
    assert f"<li><code>{parameter}</code>:" in page.text
    assert 'id="payments"' not in page.text


async def test_repeated_parameters_and_foreign_cursors_are_refused(kopek, owner) -> None:
    page = await owner.get(f"{LIST}?status=failed&status=succeeded")
    assert page.status == 400 and "<li><code>status</code>: sent more than once" in page.text
    others = await kopek.create_payment(order_id="someone-elses")
    page = await owner.get(LIST, starting_after=others["id"])
    assert page.status == 400 and f"no payment {others['id']}" in page.text


# -- the CSV ----------------------------------------------------------------------------------

async def test_the_csv_has_the_filtered_rows(kopek, owner) -> None:
    won = await paid(kopek, owner, 12345, "=SUM(A1)")
    await failed(kopek, owner, 700)
    await kopek.create_payment(order_id="someone-elses")

    async with owner.http.get(f"{kopek.base_url}{LIST}.csv", params={"status": "succeeded"}) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
        assert response.headers["Content-Disposition"].startswith('attachment; filename="kopek-payments-test-')
        assert response.headers["Cache-Control"] == "no-store"
        rows = list(csv.reader(io.StringIO(await response.text())))
    assert rows[0] == ["id", "created_at", "order_id", "wallet", "status", "amount", "currency", "fee", "net",
                       "refunded"]
    fee, net = won["fee"], won["net"]
    assert fee is not None and fee + net == 12345
    assert rows[1:] == [[won["id"], won["created_at"], "'=SUM(A1)", "webmoney", "succeeded", "123.45", "RUB",
                         f"{fee // 100}.{fee % 100:02d}", f"{net // 100}.{net % 100:02d}", "0.00"]]

    async with owner.http.get(f"{kopek.base_url}{LIST}.csv") as response:
        every = list(csv.reader(io.StringIO(await response.text())))
    assert len(every) == 3   # the header and the owner's two payments, not the other shop's


async def test_the_list_links_to_the_csv_with_its_filters(owner) -> None:
    page = await owner.get(LIST, status="succeeded", limit="10")
    assert href(page, "csv-link") == "/dashboard/payments.csv?status=succeeded"


@pytest.mark.parametrize("query", [{"limit": "5"}, {"starting_after": "pay_abc"}, {"bar": "1"}, {"amount_min": "x"}])
async def test_a_tampered_csv_query_is_a_400_page(kopek, owner, query) -> None:
    page = await owner.get(f"{LIST}.csv", **query)
    assert page.status == 400 and page.headers["Content-Type"].startswith("text/html")
    assert next(iter(query)) in page.text


# -- the detail page -------------------------------------------------------------------------

async def test_the_detail_page_shows_what_happened_to_the_payment(kopek, owner, aiohttp_server) -> None:
    receiver = Receiver()
    url = await receiver.start(aiohttp_server)
    response = await kopek.client.post("/v1/webhook_endpoints", json={"url": url, "events": list(EVENT_TYPES)},
                                       headers=auth(owner))
    assert response.status == 201, await response.text()
    lost = await failed(kopek, owner, 500, "detail-1", description="Ebook", metadata={"customer": "c-42"})
    won = await paid(kopek, owner, 800, "detail-2")
    refund = await kopek.client.post("/v1/refunds", json={"payment": won["id"], "amount": 300, "reason": "late"},
                                     headers=auth(owner))
    assert refund.status == 200
    made = await refund.json()
    await receiver.wait_for(lambda got: any(r.payload["type"] == "refund.succeeded" for r in got))

    page = await owner.get(f"{LIST}/{won['id']}")
    assert page.status == 200
    shown = text(page)
    with sqlite3.connect(kopek.app[keys.SETTINGS].db_path) as db:
        provider_ref, hint = db.execute("SELECT provider_ref, account_hint FROM attempts WHERE payment_id=?",
                                        (won["id"],)).fetchone()
    assert provider_ref and provider_ref in shown and hint in shown
    assert "8.00 RUB" in page.find(r'id="amount">([^<]+)<') and "detail-2" in shown
    assert page.find(r'id="fee">([^<]+)<') == f"{won['fee'] // 100}.{won['fee'] % 100:02d} RUB"
    assert page.find(r'id="net">([^<]+)<') == f"{won['net'] // 100}.{won['net'] % 100:02d} RUB"
    assert page.find(r'id="refunded">([^<]+)<') == "3.00 RUB"
    timeline = re.findall(r'<li data-seq="(\d+)"><strong>#\d+</strong> <code>([^<]+)</code>', page.text)
    assert timeline == [("1", "payment.created"), ("2", "payment.requires_confirmation"),
                        ("3", "payment.processing"), ("4", "payment.succeeded"), ("5", "refund.succeeded")]
    assert f'data-refund-id="{made["id"]}"' in page.text and "late" in shown
    deliveries = page.find(r'(<table id="deliveries"[^>]*>.*?</table>)')
    assert deliveries.count(url) == 5 and "refund.succeeded" in deliveries and "HTTP 200" in deliveries

    page = await owner.get(f"{LIST}/{lost['id']}")
    shown = text(page)
    assert "Ebook" in shown and "customer" in shown and "c-42" in shown and "payment.failed" in shown
    assert page.find(r'<tr data-attempt-id="[^"]+">.*?<td><code>(failed)</code></td>')
    assert lost["last_error"]["code"] in page.find(r'(<table id="attempts"[^>]*>.*?</table>)')
    assert 'id="refund-form"' not in page.text     # nothing to refund


async def test_the_shops_strings_are_shown_as_text_never_markup(kopek, owner) -> None:
    order_id, description = f"X-{XSS_ATTRIBUTE}", f"Ebook {XSS_SCRIPT}"
    metadata, reason = {XSS_SCRIPT: XSS_ATTRIBUTE, "note": XSS_SCRIPT}, f"late {XSS_ATTRIBUTE}"
    payment = await create(kopek, owner, 800, order_id, description=description, metadata=metadata)
    assert (await attempt(kopek, payment, SUCCEEDS)).status == 200
    assert (await confirm(kopek, payment, await kopek.phone_code(payment["id"]))).status == 200
    await wait_status(kopek, owner, payment, "succeeded")
    refund = await kopek.client.post("/v1/refunds", json={"payment": payment["id"], "amount": 300, "reason": reason},
                                     headers=auth(owner))
    assert refund.status == 200, await refund.text()

    listed = await owner.get(LIST)
    assert listed.status == 200 and listed_ids(listed) == [payment["id"]]
    assert_shown_as_text(listed.text, order_id)
    searched = await owner.get(LIST, q=order_id)   # what was typed comes back in the search field
    assert searched.status == 200 and listed_ids(searched) == [payment["id"]]
    assert_shown_as_text(searched.text, order_id)
    assert f'value="{html_escaped(order_id)}"' in searched.text
    detail = await owner.get(f"{LIST}/{payment['id']}")
    assert detail.status == 200
    assert_shown_as_text(detail.text, order_id, description, XSS_SCRIPT, XSS_ATTRIBUTE, reason)
    assert detail.find(r'id="order-id">([^<]+)<') == order_id


async def test_other_merchants_and_unknown_payments_are_404(kopek, owner) -> None:
    others = await kopek.create_payment(order_id="not-yours")
    for payment_id in (others["id"], "pay_doesnotexist", "nothing"):
        page = await owner.get(f"{LIST}/{payment_id}")
        assert page.status == 404 and f"no payment {payment_id}" in page.text
    await owner.get(LIST)
    page = await owner.post(f"{LIST}/{others['id']}/refund", {"amount": "1"})
    assert page.status == 404 and refund_rows(kopek, others["id"]) == []


# -- refunds ---------------------------------------------------------------------------------

async def confirmation(owner: Any, payment: dict[str, Any], amount: str, reason: str = "") -> Any:
    await owner.get(f"{LIST}/{payment['id']}")
    return await owner.post(f"{LIST}/{payment['id']}/refund", {"amount": amount, "reason": reason})


async def test_a_full_refund_asks_for_confirmation_then_refunds(kopek, owner) -> None:
    payment = await paid(kopek, owner, 500)
    detail = await owner.get(f"{LIST}/{payment['id']}")
    assert detail.find(r'id="f-amount" name="amount" type="text" value="([^"]+)"') == "5.00"

    page = await confirmation(owner, payment, "5.00", "customer asked")
    assert page.status == 200
    assert page.find(r'id="confirm-question">(.*?)</p>').replace("<code>", "").replace("</code>", "") == (
        f"Refund 5.00 RUB of payment {payment['id']} to WebMoney? This cannot be undone.")
    assert refund_rows(kopek, payment["id"]) == []     # nothing happens before the confirmation

    done = await owner.post(f"{LIST}/{payment['id']}/refund", hidden_fields(page))
    assert done.status == 200 and done.url.path == f"{LIST}/{payment['id']}"
    assert "Refunded 5.00 RUB" in done.text
    refunds = await api_refunds(kopek, owner, payment)
    assert [(r["amount"], r["status"], r["reason"]) for r in refunds] == [(500, "succeeded", "customer asked")]
    assert 'id="refund-form"' not in done.text and (await fetch(kopek, owner, payment))["amount_refunded"] == 500

    again = await owner.post(f"{LIST}/{payment['id']}/refund", hidden_fields(page))   # the back button
    assert again.status == 200 and "This confirmation was already sent. Refunded 5.00 RUB" in again.text
    assert len(refund_rows(kopek, payment["id"])) == 1


async def test_the_confirmation_redirects_with_303(kopek, owner) -> None:
    payment = await paid(kopek, owner, 500)
    page = await confirmation(owner, payment, "1")
    async with owner.http.post(f"{kopek.base_url}{LIST}/{payment['id']}/refund", allow_redirects=False,
                               data={**hidden_fields(page), "csrf_token": page.csrf()}) as response:
        assert response.status == 303 and response.headers["Location"] == f"{LIST}/{payment['id']}"


async def test_partial_refunds_then_the_rest(kopek, owner) -> None:
    payment = await paid(kopek, owner, 500)
    page = await confirmation(owner, payment, "2")
    assert "Refund 2.00 RUB of payment" in text(page)
    await owner.post(f"{LIST}/{payment['id']}/refund", hidden_fields(page))
    detail = await owner.get(f"{LIST}/{payment['id']}")
    assert detail.find(r'id="f-amount" name="amount" type="text" value="([^"]+)"') == "3.00"

    too_much = await confirmation(owner, payment, "3.01")
    assert too_much.status == 400 and "At most 3.00 RUB can still be refunded." in too_much.text
    rest = await confirmation(owner, payment, "3,00")
    await owner.post(f"{LIST}/{payment['id']}/refund", hidden_fields(rest))
    assert sorted(r["amount"] for r in await api_refunds(kopek, owner, payment)) == [200, 300]


async def test_the_same_confirmation_posted_twice_refunds_once(kopek, owner) -> None:
    payment = await paid(kopek, owner, 500)
    page = await confirmation(owner, payment, "1.50")
    form = {**hidden_fields(page), "csrf_token": page.csrf()}

    async def post() -> str:
        async with owner.http.post(f"{kopek.base_url}{LIST}/{payment['id']}/refund", data=form) as response:
            assert response.status == 200
            return await response.text()

    first, second = await asyncio.gather(post(), post())     # a double click
    third = await post()                                       # and the back button, later
    refunds = await api_refunds(kopek, owner, payment)
    assert [r["amount"] for r in refunds] == [150] and len(refund_rows(kopek, payment["id"])) == 1
    # Both clicks land on the payment showing its one refund. (Which of the two notices each shows
    # depends on the order their redirects read the one session, as in a browser.)
    for landed in (first, second, third):
        assert landed.count(f'data-refund-id="{refunds[0]["id"]}"') == 1
    assert "This confirmation was already sent. Refunded 1.50 RUB" in third


@pytest.mark.parametrize("amount, message", [
    ("abc", "Type an amount such as 5 or 5.00."),
    ("1.234", "At most 2 digits after the decimal point."),
    ("-1", "Type an amount such as 5 or 5.00."),
    ("0", "Must be more than 0."),
    ("0.00", "Must be more than 0."),
    ("", "Missing data for required field."),
    ("5.01", "At most 5.00 RUB can still be refunded."),
])
async def test_a_bad_amount_is_a_400_and_refunds_nothing(kopek, owner, amount, message) -> None:
    payment = await paid(kopek, owner, 500)
    page = await confirmation(owner, payment, amount)
    assert page.status == 400 and message in page.text and 'id="confirm-form"' not in page.text
    assert refund_rows(kopek, payment["id"]) == []


async def test_a_tampered_confirmation_refunds_nothing(kopek, owner) -> None:
    payment = await paid(kopek, owner, 500)
    page = await confirmation(owner, payment, "1")
    for tampered in ({**hidden_fields(page), "amount": "9"}, {**hidden_fields(page), "refund_key": "short"},
                     {k: v for k, v in hidden_fields(page).items() if k != "refund_key"},
                     {**hidden_fields(page), "confirm": "maybe"}, {**hidden_fields(page), "extra": "1"}):
        result = await owner.post(f"{LIST}/{payment['id']}/refund", tampered, csrf=page.csrf())
        assert result.status == 400, tampered
        if "refund_key" not in tampered:
            assert "The confirmation is incomplete, so nothing was refunded." in result.text
    assert refund_rows(kopek, payment["id"]) == []


async def test_a_payment_that_has_not_succeeded_cannot_be_refunded(kopek, owner) -> None:
    payment = await create(kopek, owner, 500)
    page = await confirmation(owner, payment, "1")
    assert page.status == 409 and "Only a succeeded payment can be refunded" in page.text
    assert refund_rows(kopek, payment["id"]) == []
    assert 'id="refund-form"' not in (await owner.get(f"{LIST}/{payment['id']}")).text


async def test_a_viewer_sees_no_refund_form_and_is_refused(kopek, owner, viewer) -> None:
    payment = await paid(kopek, owner, 500)
    owners_confirmation = await confirmation(owner, payment, "1")
    page = await viewer.get(f"{LIST}/{payment['id']}")
    assert page.status == 200 and 'id="refund-form"' not in page.text and 'id="owner-only"' in page.text
    refused = await viewer.post(f"{LIST}/{payment['id']}/refund", {"amount": "1"})
    assert refused.status == 403 and "Only an owner can do this" in refused.text
    await viewer.get(f"{LIST}/{payment['id']}")
    assert (await viewer.post(f"{LIST}/{payment['id']}/refund", hidden_fields(owners_confirmation))).status == 403
    assert refund_rows(kopek, payment["id"]) == []


async def test_a_refund_without_the_right_csrf_token_is_refused(kopek, owner) -> None:
    payment = await paid(kopek, owner, 500)
    page = await confirmation(owner, payment, "1")
    assert (await owner.post(f"{LIST}/{payment['id']}/refund", hidden_fields(page), with_csrf=False)).status == 403
    assert (await owner.post(f"{LIST}/{payment['id']}/refund", hidden_fields(page), csrf="x" * 43)).status == 403
    assert refund_rows(kopek, payment["id"]) == []


async def test_reloading_the_confirmation_address_goes_back_to_the_payment(kopek, owner) -> None:
    payment = await create(kopek, owner)
    page = await owner.get(f"{LIST}/{payment['id']}/refund")
    assert page.status == 200 and page.url.path == f"{LIST}/{payment['id']}"


async def test_the_pages_speak_russian(kopek, owner) -> None:
    payment = await paid(kopek, owner, 500)
    page = await owner.get(LIST, locale="ru")
    assert page.status == 200 and "Платежи" in page.text and "Успешно" in page.text
    detail = await owner.get(f"{LIST}/{payment['id']}")
    assert "Возврат" in detail.text and "Попытки" in detail.text
    assert (await owner.get(f"{LIST}/pay_none")).text.count("Платежа pay_none нет") == 1


@pytest.mark.parametrize("typed, minor", [("5", 500), ("5.00", 500), ("0.01", 1), ("0,5", 50), ("0", 0),
                                          ("1234567890.12", 123456789012), (" 5", 500), ("5 000", 500000),
                                          ("1\u00a0000,50", 100050)])
def test_major_amounts_become_minor_units(typed, minor) -> None:
    assert major_to_minor(typed, 2, minimum=0) == minor


@pytest.mark.parametrize("typed", ["5.001", "-5", "+5", "5.", ".5", "1e2", "NaN", "Infinity", "٥",
                                   "99999999999999"])
def test_other_amounts_are_refused(typed) -> None:
    with pytest.raises(ValidationError):
        major_to_minor(typed, 2, minimum=0)
