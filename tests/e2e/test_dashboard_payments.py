"""The payment pages in a real browser: the list gaining and updating rows live, the detail page,
and a refund through its confirmation step. Every page visited is checked with axe-core,
photographed at 1280 and 360 px, and must break no Content-Security-Policy rule."""

from __future__ import annotations

import json
import re
import time
import urllib.request
import uuid
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from dashboard_support import check_page, sign_up, unique_email
from processes import KopekProcess, http_json

pytestmark = pytest.mark.e2e
expect.set_options(timeout=15_000)

SUCCEEDS = "R100000000001"


def api(server: KopekProcess, keys: dict[str, str], method: str, path: str, body: Any = None,
        headers: dict[str, str] | None = None) -> Any:
    status, answer = http_json(method, f"{server.base_url}{path}", body,
                               headers or {"Authorization": f"Bearer {keys['sk-test']}"})
    assert status < 300, answer
    return answer


def create(server: KopekProcess, keys: dict[str, str], amount: int) -> dict[str, Any]:
    return api(server, keys, "POST", "/v1/payments",
               {"amount": amount, "currency": "RUB", "order_id": f"e2e-{uuid.uuid4().hex[:8]}"})


def start_attempt(server: KopekProcess, payment: dict[str, Any]) -> None:
    api(server, {}, "POST", f"/v1/checkout/{payment['id']}/attempts",
        {"wallet": "webmoney", "details": {"account": SUCCEEDS}},
        {"Kopek-Client-Secret": payment["client_secret"], "Idempotency-Key": str(uuid.uuid4())})


def pay(server: KopekProcess, keys: dict[str, str], amount: int) -> dict[str, Any]:
    payment = create(server, keys, amount)
    start_attempt(server, payment)
    with urllib.request.urlopen(f"{server.base_url}/sandbox/phone.json?payment={payment['id']}") as response:
        code = json.loads(response.read())["data"][0]["code"]
    api(server, {}, "POST", f"/v1/checkout/{payment['id']}/confirm", {"code": code},
        {"Kopek-Client-Secret": payment["client_secret"]})
    deadline = time.monotonic() + 15
    while api(server, keys, "GET", f"/v1/payments/{payment['id']}")["status"] != "succeeded":
        assert time.monotonic() < deadline, "the payment never succeeded"
        time.sleep(0.1)
    return payment


def click_through(page: Page, button: str) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name=button, exact=True).click()


def test_the_list_shows_new_payments_and_changes_live(dashboard_server: KopekProcess, dashboard_page: Page) -> None:
    page, base = dashboard_page, dashboard_server.base_url
    keys = sign_up(page, base, unique_email("live"), "Live list shop")
    first = create(dashboard_server, keys, 150)
    page.goto(f"{base}/dashboard/payments")
    expect(page.locator("table#payments")).to_have_attribute("data-live-state", "open")
    check_page(page, "payments-list")

    new = create(dashboard_server, keys, 275)
    row = page.locator(f'tr[data-payment-id="{new["id"]}"]')
    expect(row).to_have_class(re.compile(r"\bupdated\b"))
    expect(page.locator("#payments tbody tr").first).to_have_attribute("data-payment-id", new["id"])
    expect(row.locator('[data-cell="amount"]')).to_have_text("2.75 RUB")
    expect(row.locator('[data-cell="status"]')).to_have_text("Waiting for a wallet")
    expect(page.locator("#live-announcer")).to_have_text(f"{new['id']}: Waiting for a wallet")

    start_attempt(dashboard_server, first)
    older = page.locator(f'tr[data-payment-id="{first["id"]}"]')
    expect(older.locator('[data-cell="status"] .status')).to_have_class("status status-requires_confirmation")
    expect(older.locator('[data-cell="wallet"]')).to_have_text("WebMoney")
    expect(page.locator("#live-announcer")).to_have_text(f"{first['id']}: Waiting for confirmation")


def test_a_filtered_list_updates_rows_but_adds_none(dashboard_server: KopekProcess, dashboard_page: Page) -> None:
    page, base = dashboard_page, dashboard_server.base_url
    keys = sign_up(page, base, unique_email("filtered"), "Filtered shop")
    first = create(dashboard_server, keys, 500)
    page.goto(f"{base}/dashboard/payments?status=requires_wallet")
    expect(page.locator("table#payments")).to_have_attribute("data-live-state", "open")
    new = create(dashboard_server, keys, 600)
    start_attempt(dashboard_server, first)
    expect(page.locator(f'tr[data-payment-id="{first["id"]}"] [data-cell="status"]')).to_have_text(
        "Waiting for confirmation")
    expect(page.locator(f'tr[data-payment-id="{new["id"]}"]')).to_have_count(0)


def test_a_refund_is_confirmed_then_shown(dashboard_server: KopekProcess, dashboard_page: Page) -> None:
    page, base = dashboard_page, dashboard_server.base_url
    keys = sign_up(page, base, unique_email("refund"), "Refund shop")
    payment = pay(dashboard_server, keys, 500)
    page.goto(f"{base}/dashboard/payments")
    with page.expect_navigation():
        page.get_by_role("link", name=payment["id"]).click()
    expect(page.locator("#timeline li")).to_have_count(4)
    check_page(page, "payment-detail")

    page.get_by_label("Amount (RUB)").fill("2.00")
    page.get_by_label("Reason (optional, the shop sees it)").fill("damaged")
    click_through(page, "Refund…")
    expect(page.locator("#confirm-question")).to_have_text(
        f"Refund 2.00 RUB of payment {payment['id']} to WebMoney? This cannot be undone.")
    check_page(page, "payment-refund-confirm")

    click_through(page, "Refund 2.00 RUB")
    expect(page.locator("main .alert-info")).to_contain_text("Refunded 2.00 RUB")
    expect(page.locator("#refunds tbody tr")).to_have_count(1)
    expect(page.get_by_label("Amount (RUB)")).to_have_value("3.00")
    check_page(page, "payment-detail-refunded")


def test_the_payment_pages_in_russian(dashboard_server: KopekProcess, dashboard_page: Page) -> None:
    page, base = dashboard_page, dashboard_server.base_url
    keys = sign_up(page, base, unique_email("ru"), "Russian shop")
    payment = pay(dashboard_server, keys, 500)
    page.goto(f"{base}/dashboard/payments?locale=ru")
    expect(page.get_by_role("heading", level=1)).to_have_text("Платежи")
    expect(page.locator(f'tr[data-payment-id="{payment["id"]}"] [data-cell="status"]')).to_have_text("Успешно")
    check_page(page, "payments-list-ru")
    page.goto(f"{base}/dashboard/payments/{payment['id']}")
    expect(page.get_by_role("heading", name="Возврат", exact=True)).to_be_visible()
    check_page(page, "payment-detail-ru")
