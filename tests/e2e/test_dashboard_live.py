"""The payment list live, in a real browser: the owner keeps /dashboard/payments open in one tab
while the sandbox console in a second tab of the same browser starts and pays a test payment. The
first tab shows the new payment at the top, then its row turns "Succeeded", with no reload. A
payment the shop's server made and the shopper paid through the checkout API changes its row the
same way.

And without JavaScript (a context with java_script_enabled=False) the list, its filters and the
detail page still work: they are plain links and GET forms.
Every page visited passes check_page (axe, 1280 and 360 px screenshots, no CSP error).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any, Iterator

import pytest
from playwright.sync_api import Page, expect

from dashboard_support import (
    check_page, check_page_without_javascript, create_payment, log_in, open_person, pay_with_phone_code, sign_up,
    unique_email, wait_for_payment, watch_console,
)
from support import SUCCEEDS

pytestmark = pytest.mark.e2e
expect.set_options(timeout=15_000)

SOCKET_WAIT_MS = 10_000


@dataclass
class Owner:
    email: str
    secret_key: str
    paid: dict[str, Any]          # a payment already succeeded when the tests start


def path_of(page: Page) -> str:
    return re.sub(r"^https?://[^/]+", "", page.url)


def row(page: Page, payment_id: str) -> Any:
    return page.locator(f'#payments tbody tr[data-payment-id="{payment_id}"]')


def status_cell(page: Page, payment_id: str) -> Any:
    return row(page, payment_id).locator('td[data-cell="status"]')


@pytest.fixture(scope="module")
def owner(browser: Any, dashboard_server: Any) -> Iterator[Owner]:
    base = dashboard_server.base_url
    page = open_person(browser)
    email = unique_email("live")
    keys = sign_up(page, base, email, "Live list shop")
    page.context.close()
    paid = create_payment(base, keys["sk-test"], 990, f"live-{uuid.uuid4().hex[:8]}-first")
    pay_with_phone_code(base, paid, SUCCEEDS)
    paid = wait_for_payment(base, keys["sk-test"], paid["id"], lambda p: p["status"] == "succeeded", "succeeded")
    yield Owner(email, keys["sk-test"], paid)


def open_list_with_its_live_socket(page: Page, base: str) -> None:
    """Opens the payment list and waits until the browser's websocket to /dashboard/payments/live
    is open (its 101 answer seen through DevTools), so nothing that happens next can be missed."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    upgraded: list[int] = []
    cdp.on("Network.webSocketHandshakeResponseReceived", lambda event: upgraded.append(event["response"]["status"]))
    page.goto(f"{base}/dashboard/payments")
    for _ in range(SOCKET_WAIT_MS // 50):
        if upgraded:
            break
        page.wait_for_timeout(50)
    assert upgraded == [101], f"the live list's websocket did not open: {upgraded}"
    page.evaluate("window.openedOnce = true")      # gone if the tab reloads


def test_rows_change_and_new_payments_appear_without_a_reload(dashboard_server, owner, new_dashboard_page):
    base = dashboard_server.base_url
    waiting = create_payment(base, owner.secret_key, 450, f"live-{uuid.uuid4().hex[:8]}-api")
    payments = new_dashboard_page()
    log_in(payments, base, owner.email)
    open_list_with_its_live_socket(payments, base)
    expect(status_cell(payments, waiting["id"])).to_have_text("Waiting for a wallet")
    rows_before = payments.locator("#payments tbody tr").count()

    # The shop's customer pays the API-made payment: its row changes in place.
    pay_with_phone_code(base, waiting, SUCCEEDS)
    expect(status_cell(payments, waiting["id"])).to_have_text("Succeeded")
    expect(row(payments, waiting["id"])).to_have_class(re.compile(r"\bupdated\b"))
    expect(payments.locator("#live-announcer")).to_have_text(f"{waiting['id']}: Succeeded")

    # The sandbox console, in a second tab of the same browser, starts a payment for this merchant...
    console = watch_console(payments.context.new_page())
    console.goto(f"{base}/sandbox?amount=2.50")
    expect(console.locator("#console-whose")).to_contain_text("Test mode of your shop")
    with console.expect_navigation():
        console.get_by_role("button", name="Start a test payment").click()
    new_id = console.locator("#order-payment-id").inner_text().strip()
    first_row = payments.locator("#payments tbody tr").first
    expect(first_row).to_have_attribute("data-payment-id", new_id)       # ...which appears on top
    expect(first_row.locator('td[data-cell="amount"]')).to_have_text("2.50 RUB")
    expect(first_row.locator('td[data-cell="status"]')).to_have_text("Waiting for a wallet")
    expect(first_row.get_by_role("link", name=new_id)).to_have_attribute("href", f"/dashboard/payments/{new_id}")

    # ...and pays it through the widget with the magic account and the sandbox phone's code.
    frame = console.frame_locator("#pay iframe")
    frame.get_by_role("radio", name="WebMoney").check()
    frame.get_by_label("WMID, purse or phone").fill(SUCCEEDS)
    frame.get_by_role("button", name=re.compile("^Pay")).click()
    expect(frame.get_by_role("heading", name="Enter the code")).to_be_visible()
    code = console.locator("#phone-codes li").first
    expect(code).to_have_attribute("data-code", re.compile(r"^\d{6}$"))
    frame.get_by_label("Confirmation code").fill(code.get_attribute("data-code"))
    frame.get_by_role("button", name="Confirm").click()
    expect(frame.get_by_role("heading", name="Payment successful")).to_be_visible()
    check_page(console, "live-sandbox-paid")

    expect(status_cell(payments, new_id)).to_have_text("Succeeded")
    expect(payments.locator("#payments tbody tr")).to_have_count(rows_before + 1)
    assert payments.evaluate("window.openedOnce === true"), "the payment list reloaded"
    check_page(payments, "live-payments-updated")

    with payments.expect_navigation():
        first_row.get_by_role("link", name=new_id).click()       # the live-built row's link works
    expect(payments.get_by_role("heading", level=1)).to_contain_text(new_id)
    expect(payments.locator("#amount")).to_have_text("2.50 RUB")


def test_without_javascript_the_list_filters_and_detail_page_work(browser, dashboard_server, owner):
    base = dashboard_server.base_url
    open_payment = create_payment(base, owner.secret_key, 1700, f"live-{uuid.uuid4().hex[:8]}-nojs")
    page = open_person(browser, java_script_enabled=False)
    twin = open_person(browser)          # the same person with JavaScript on, for axe
    try:
        log_in(twin, base, owner.email)
        landed = log_in(page, base, owner.email)
        assert (landed.status, path_of(page)) == (200, "/dashboard/payments")
        expect(row(page, open_payment["id"])).to_be_visible()
        expect(row(page, owner.paid["id"])).to_be_visible()
        check_page_without_javascript(page, twin, "nojs-payments")

        page.get_by_label("Status").select_option(label="Succeeded")
        page.get_by_label("Amount from").fill("9.90")
        page.get_by_label("Amount to").fill("9.90")
        with page.expect_navigation():
            page.get_by_role("button", name="Show", exact=True).click()
        rows = page.locator("#payments tbody tr")
        expect(rows).to_have_count(1)
        expect(rows.first).to_have_attribute("data-payment-id", owner.paid["id"])
        check_page_without_javascript(page, twin, "nojs-payments-filtered")

        with page.expect_navigation():
            page.get_by_role("link", name="Clear the filters").click()
        page.get_by_label("Payment id or order id").fill(open_payment["order_id"])
        with page.expect_navigation():
            page.get_by_label("Payment id or order id").press("Enter")     # the search submits on Enter
        expect(rows).to_have_count(1)
        with page.expect_navigation():
            rows.first.get_by_role("link", name=open_payment["id"]).click()
        assert path_of(page) == f"/dashboard/payments/{open_payment['id']}"
        expect(page.locator("#amount")).to_have_text("17.00 RUB")
        expect(page.locator("#timeline li")).to_have_count(1)
        expect(page.locator("#refund-form")).to_have_count(0)            # nothing to refund yet
        check_page_without_javascript(page, twin, "nojs-payment")

        with page.expect_navigation():
            page.get_by_role("link", name="All payments").click()
        with page.expect_navigation():
            row(page, owner.paid["id"]).get_by_role("link", name=owner.paid["id"]).click()
        page.get_by_label("Amount (RUB)").fill("1")
        with page.expect_navigation():
            page.get_by_role("button", name="Refund…").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Confirm the refund")
        with page.expect_navigation():
            page.get_by_role("button", name="Refund 1.00 RUB").click()
        expect(page.get_by_role("status")).to_contain_text("Refunded 1.00 RUB")
        expect(page.locator("#refunded")).to_have_text("1.00 RUB")
    finally:
        page.context.close()
        twin.context.close()
