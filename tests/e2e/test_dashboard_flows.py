"""One operator's day in the dashboard, in a real browser, as a person does it: sign up, take a few
test payments (the shop's server makes them with the test secret key from the welcome page; the
shopper completes them through the checkout API and the sandbox phone), log out and back in, find a
payment by status and by order id, refund part of it, roll the test secret key, add a webhook
endpoint and send it a test event, and look at the balance and the day's settlement.

The tests are the day's steps, in order, and share the operator (one sign-up for the module);
each also stands on its own. Every step is a click or typing (get_by_label / get_by_role), never
a form posted behind the page's back; what the page says is checked against the API and the
shop's own webhook receiver.
Every page visited also passes check_page (axe, 1280 and 360 px screenshots, no CSP error).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest
import standardwebhooks
from playwright.sync_api import Page, expect

from dashboard_support import (
    WebhookCatcher, api, check_page, create_payment, log_in, log_out, merchant_id_on_welcome, open_person,
    pay_with_phone_code, settle_today, sign_up, unique_email, wait_for_payment,
)
from support import DECLINED, SUCCEEDS

pytestmark = pytest.mark.e2e
expect.set_options(timeout=15_000)

PAID_AMOUNT, DECLINED_AMOUNT, OPEN_AMOUNT = 1250, 700, 300   # minor units (RUB)


@dataclass
class Operator:
    page: Page
    email: str
    keys: dict[str, str]
    merchant_id: str
    paid: dict[str, Any]          # succeeded
    declined: dict[str, Any]      # its attempt was declined: waiting for another wallet
    waiting: dict[str, Any]       # the shopper never chose a wallet


def path_of(page: Page) -> str:
    return re.sub(r"^https?://[^/]+", "", page.url)


def click_to(page: Page, role: str, name: str, **options: Any) -> Any:
    """Clicks a link or button that loads another page; returns the response it landed on."""
    with page.expect_navigation() as landed:
        page.get_by_role(role, name=name, **options).click()
    return landed.value


def main_nav(page: Page, name: str) -> Any:
    with page.expect_navigation() as landed:
        page.get_by_role("navigation", name="Dashboard").get_by_role("link", name=name, exact=True).click()
    return landed.value


def settings_nav(page: Page, name: str) -> Any:
    with page.expect_navigation() as landed:
        page.get_by_role("navigation", name="Settings").get_by_role("link", name=name, exact=True).click()
    return landed.value


def payment_rows(page: Page) -> Any:
    return page.locator("#payments tbody tr")


def show_filtered(page: Page) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name="Show", exact=True).click()


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookCatcher]:
    catcher = WebhookCatcher()
    yield catcher
    catcher.stop()


@pytest.fixture(scope="module")
def operator(browser: Any, dashboard_server: Any) -> Iterator[Operator]:
    """Signs up through the form, then the shop's server takes three test payments with the test
    secret key the welcome page showed: one paid, one declined by the wallet, one left open."""
    base = dashboard_server.base_url
    page = open_person(browser)
    email = unique_email("operator")
    keys = sign_up(page, base, email, "Operator's books")
    check_page(page, "flow-welcome")
    merchant_id = merchant_id_on_welcome(page)
    sk = keys["sk-test"]
    day = uuid.uuid4().hex[:8]
    paid = create_payment(base, sk, PAID_AMOUNT, f"day-{day}-paid", description="Two e-books")
    declined = create_payment(base, sk, DECLINED_AMOUNT, f"day-{day}-declined")
    waiting = create_payment(base, sk, OPEN_AMOUNT, f"day-{day}-open")
    pay_with_phone_code(base, paid, SUCCEEDS)
    pay_with_phone_code(base, declined, DECLINED)
    paid = wait_for_payment(base, sk, paid["id"], lambda p: p["status"] == "succeeded", "succeeded")
    declined = wait_for_payment(base, sk, declined["id"],
                                lambda p: (p["last_error"] or {}).get("code") == "declined", "declined")
    yield Operator(page, email, keys, merchant_id, paid, declined, waiting)
    page.context.close()


def test_log_out_log_in_find_the_paid_payment_and_refund_part_of_it(dashboard_server, operator):
    base, page, paid = dashboard_server.base_url, operator.page, operator.paid
    assert (paid["status"], operator.declined["status"]) == ("succeeded", "requires_wallet")

    log_out(page)
    assert path_of(page) == "/dashboard/login"
    landed = log_in(page, base, operator.email)
    assert (landed.status, path_of(page)) == (200, "/dashboard/payments")
    expect(page.get_by_role("heading", level=1)).to_have_text("Payments")
    expect(payment_rows(page)).to_have_count(3)
    expect(payment_rows(page).locator("td:nth-child(2)")).to_have_text(
        [operator.waiting["id"], operator.declined["id"], paid["id"]])          # newest first
    check_page(page, "flow-payments")

    page.get_by_label("Status").select_option(label="Succeeded")
    show_filtered(page)
    assert "status=succeeded" in page.url
    expect(page.get_by_label("Status")).to_have_value("succeeded")
    expect(payment_rows(page)).to_have_count(1)
    expect(payment_rows(page).first).to_have_attribute("data-payment-id", paid["id"])
    expect(payment_rows(page).first.locator('td[data-cell="status"]')).to_have_text("Succeeded")
    check_page(page, "flow-payments-succeeded")

    click_to(page, "link", "Clear the filters")
    expect(page.get_by_label("Status")).to_have_value("")
    page.get_by_label("Payment id or order id").fill(operator.declined["order_id"])
    show_filtered(page)
    expect(payment_rows(page)).to_have_count(1)
    expect(payment_rows(page).first.locator('td[data-cell="status"]')).to_have_text("Waiting for a wallet")

    page.get_by_label("Payment id or order id").fill(paid["order_id"])
    show_filtered(page)
    expect(payment_rows(page)).to_have_count(1)
    expect(payment_rows(page).first.locator('td[data-cell="order"]')).to_have_text(paid["order_id"])
    check_page(page, "flow-payments-search")

    click_to(page, "link", paid["id"])
    assert path_of(page) == f"/dashboard/payments/{paid['id']}"
    expect(page.get_by_role("heading", level=1)).to_contain_text(paid["id"])
    expect(page.locator("#amount")).to_have_text("12.50 RUB")
    expect(page.locator("#order-id")).to_have_text(paid["order_id"])
    expect(page.locator("#refunded")).to_have_text("0.00 RUB")
    expect(page.locator("#timeline li").last).to_contain_text("payment.succeeded")
    check_page(page, "flow-payment")

    page.get_by_label("Amount (RUB)").fill("4.00")
    page.get_by_label("Reason (optional, the shop sees it)").fill("One book was never downloaded")
    landed = click_to(page, "button", "Refund…")
    assert landed.status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm the refund")
    expect(page.locator("#confirm-question")).to_have_text(
        f"Refund 4.00 RUB of payment {paid['id']} to WebMoney? This cannot be undone.")
    status, refunds = api(base, operator.keys["sk-test"], "GET", f"/v1/refunds?payment={paid['id']}")
    assert (status, refunds["data"]) == (200, []), "asking for the confirmation must not refund yet"
    check_page(page, "flow-refund-confirm")

    click_to(page, "button", "Refund 4.00 RUB")
    assert path_of(page) == f"/dashboard/payments/{paid['id']}"
    expect(page.get_by_role("status")).to_contain_text(re.compile(r"Refunded 4\.00 RUB \(re_\w+\)\."))
    refund_row = page.locator("#refunds tbody tr")
    expect(refund_row).to_have_count(1)
    expect(refund_row).to_contain_text("4.00 RUB")
    expect(refund_row).to_contain_text("One book was never downloaded")
    expect(page.locator("#refunded")).to_have_text("4.00 RUB")
    expect(page.get_by_label("Amount (RUB)")).to_have_value("8.50")      # what is left to refund
    status, refunds = api(base, operator.keys["sk-test"], "GET", f"/v1/refunds?payment={paid['id']}")
    assert status == 200 and [(r["amount"], r["status"]) for r in refunds["data"]] == [(400, "succeeded")]
    expect(refund_row).to_have_attribute("data-refund-id", refunds["data"][0]["id"])
    check_page(page, "flow-payment-refunded")


def test_roll_the_test_secret_key_with_an_overlap_and_use_the_new_one(dashboard_server, operator):
    base, page = dashboard_server.base_url, operator.page
    old_key = operator.keys["sk-test"]
    page.goto(f"{base}/dashboard/payments")
    main_nav(page, "Settings")
    assert path_of(page) == "/dashboard/settings/keys"
    expect(page.get_by_role("heading", level=1)).to_have_text("API keys")
    test_keys = page.locator("section", has=page.get_by_role("heading", name="Test keys", exact=True))
    expect(test_keys.locator("tbody tr")).to_have_count(2)
    check_page(page, "flow-settings-keys")

    test_keys.get_by_label("The current secret key stops").select_option(label="in 1 hour")
    with page.expect_navigation() as rolled:
        test_keys.get_by_role("button", name="Roll the secret key").click()
    landed = rolled.value
    assert landed.status == 201
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^New secret key\s+test$"))
    expect(page.get_by_role("alert")).to_have_text("Copy this key now: it will not be shown again.")
    new_key = page.locator("#new-key").inner_text().strip()
    assert re.fullmatch(r"sk_test_\w+", new_key) and new_key != old_key
    expect(page.locator("main")).to_contain_text("The previous key keeps working until")
    check_page(page, "flow-key-rolled")

    for key in (new_key, old_key):   # the new key works, and the old one still does for the hour
        status, listed = api(base, key, "GET", "/v1/payments?limit=1")
        assert status == 200 and listed["data"][0]["id"] == operator.waiting["id"], (key[:12], status, listed)
    status, refused = api(base, new_key[:-2] + "xx", "GET", "/v1/payments?limit=1")
    assert status == 401, (status, refused)

    click_to(page, "link", "Done: back to the keys")
    rows = test_keys.locator("tbody tr")
    expect(rows).to_have_count(3)          # the new secret, the old one in its overlap, the publishable
    expect(rows.filter(has_text="expires")).to_have_count(1)
    assert new_key not in page.content() and old_key not in page.content(), "a secret key shown twice"
    check_page(page, "flow-settings-keys-after-roll")


def test_add_a_webhook_endpoint_see_its_secret_once_and_send_a_test_event(dashboard_server, operator, receiver):
    page = operator.page
    page.goto(f"{dashboard_server.base_url}/dashboard/settings/keys")
    settings_nav(page, "Webhooks")
    expect(page.get_by_role("heading", level=1)).to_have_text("Webhooks")
    expect(page.locator("#no-endpoints")).to_have_text("No endpoints yet.")
    check_page(page, "flow-webhooks-empty")

    page.get_by_label("Endpoint URL").fill(receiver.url)
    page.get_by_label("Description (optional)").fill("Order system")
    landed = click_to(page, "button", "Add endpoint")
    assert landed.status == 201
    expect(page.get_by_role("heading", level=1)).to_have_text("Endpoint added")
    secret = page.locator("#webhook-secret").inner_text().strip()
    assert secret.startswith("whsec_"), secret
    check_page(page, "flow-webhook-secret")

    click_to(page, "link", "Go to the endpoint")
    assert re.fullmatch(r"/dashboard/settings/webhooks/we_\w+", path_of(page)), page.url
    expect(page.get_by_role("heading", level=2, name=receiver.url)).to_be_visible()
    expect(page.locator("#no-deliveries")).to_be_visible()
    assert secret not in page.content(), "the signing secret is shown only once"

    click_to(page, "button", "Send test event")
    expect(page.get_by_role("status")).to_have_text(
        "A webhook.test event is on its way; it appears in the delivery log below.")
    got = receiver.wait_for("webhook.test")
    assert got["path"] == "/kopek/webhooks"
    standardwebhooks.Webhook(secret).verify(got["raw"], got["headers"])

    delivered = page.locator("#deliveries tbody tr", has=page.locator("code", has_text="webhook.test"))
    for _ in range(50):            # the log is server-rendered: reload, as a person would
        if delivered.count() and delivered.first.get_attribute("data-status") == "succeeded":
            break
        page.wait_for_timeout(200)
        page.reload()
    expect(delivered).to_have_count(1)
    expect(delivered.locator(".status")).to_have_text("delivered")
    expect(delivered).to_contain_text("HTTP 200")
    check_page(page, "flow-webhook-delivered")


def rub(minor: int) -> str:
    return f"{minor / 100:.2f} RUB"


def test_the_balance_has_its_chart_and_the_days_settlement_lists_the_payment_and_its_refunds(
        dashboard_server, operator, e2e_dir: Path):
    base, page, paid, sk = dashboard_server.base_url, operator.page, operator.paid, operator.keys["sk-test"]
    page.goto(f"{base}/dashboard/payments")
    main_nav(page, "Balance")
    expect(page.get_by_role("heading", level=1)).to_have_text("Balance")
    card = page.locator('.balance-card[data-currency="RUB"]')
    status, balance = api(base, sk, "GET", "/v1/balance")
    assert status == 200, balance
    for figure in ("pending", "available"):
        amount = next(entry["amount"] for entry in balance[figure] if entry["currency"] == "RUB")
        expect(card.locator(f".{figure}")).to_have_text(rub(amount))
    chart = page.get_by_role("img", name="Daily volume in RUB, last 30 days")
    expect(chart).to_be_visible()
    expect(chart.locator("title", has_text="WebMoney: 12.50 RUB")).to_have_count(1)     # today's bar
    expect(page.locator("#no-volume")).to_have_count(0)
    expect(page.locator("#volume-RUB-table tfoot .total")).to_have_text("12.50 RUB")
    check_page(page, "flow-balance")

    # The day is over: the operator's `kopek settle` makes the settlement.
    settlement_id = settle_today(e2e_dir, operator.merchant_id)
    status, settled = api(base, sk, "GET", f"/v1/settlements/{settlement_id}")
    assert status == 200, settled
    refunds = [line for line in settled["lines"]["data"] if line["type"] == "refund"]
    with page.expect_navigation():
        page.get_by_role("navigation", name="Money").get_by_role("link", name="Settlements").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Settlements")
    row = page.locator(f'#settlements tr[data-settlement="{settlement_id}"]')
    expect(row).to_have_count(1)
    expect(row.locator(".gross")).to_have_text("12.50 RUB")
    expect(row.locator(".refunds")).to_have_text(rub(-sum(line["amount"] for line in refunds)))
    expect(row.locator(".net")).to_have_text(rub(settled["net_payable"][0]["amount"]))
    check_page(page, "flow-settlements")

    with page.expect_navigation():
        row.get_by_role("link").click()
    assert path_of(page) == f"/dashboard/settlements/{settlement_id}"
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Settlement for \d{4}-\d{2}-\d{2}$"))
    expect(page.locator("#lines tbody tr")).to_have_count(1 + len(refunds))
    expect(page.locator(f'#lines tr[data-line="{paid["id"]}"]')).to_contain_text("12.50 RUB")
    for line in refunds:
        expect(page.locator(f'#lines tr[data-line="{line["id"]}"]')).to_contain_text(rub(line["amount"]))
    expect(page.locator("#net-payable .net")).to_have_text(rub(settled["net_payable"][0]["amount"]))
    check_page(page, "flow-settlement")
