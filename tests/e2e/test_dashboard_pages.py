"""A tour of the dashboard's main pages in a real browser, in English and in Russian, at desktop and
phone widths: each page passes check_page (axe with no serious or critical violation, screenshots
at 1280 and 360 px, no sideways scrolling on a phone, no CSP error), has exactly one h1, and its
"Skip to content" link moves the focus to the content.

Also the keyboard on the payment list (Tab through the filters to the first payment), and a
viewer's limits in the browser: no refund form, no roll buttons, no webhook forms, and a form
forced into the page with the viewer's own CSRF token is refused with 403 and changes nothing.

One shop is set up for the module: payments (one refunded in part), the day's settlement, a
webhook endpoint with a delivery, a payment button, a check URL, an origin and a viewer.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest
from playwright.sync_api import Page, Response, expect

from dashboard_support import (
    PASSWORD, WebhookCatcher, api, check_page, create_payment, csrf_token, log_in, merchant_id_on_welcome,
    one_h1_and_skip_link, open_person, pay_with_phone_code, post_form, settle_today, sign_up, sign_up_with_code,
    tab_to, unique_email, wait_for_payment,
)
from support import DECLINED, SUCCEEDS

pytestmark = pytest.mark.e2e
expect.set_options(timeout=15_000)

OWNER_ONLY = "Only an owner can do this; your role is viewer. Nothing was changed."
LOCALES = {"en": "en-US", "ru": "ru-RU"}


@dataclass
class Shop:
    owner_email: str
    viewer_email: str
    secret_key: str
    paid: dict[str, Any]
    settlement_id: str
    endpoint_id: str


def path_of(page: Page) -> str:
    return re.sub(r"^https?://[^/]+", "", page.url)


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookCatcher]:
    catcher = WebhookCatcher()
    yield catcher
    catcher.stop()


@pytest.fixture(scope="module")
def shop(browser: Any, dashboard_server: Any, receiver: WebhookCatcher, e2e_dir: Path) -> Iterator[Shop]:
    base = dashboard_server.base_url
    owner = open_person(browser)
    owner_email, viewer_email = unique_email("tour-owner"), unique_email("tour-viewer")
    keys = sign_up(owner, base, owner_email, "Tour shop")
    merchant_id, sk = merchant_id_on_welcome(owner), keys["sk-test"]

    tag = uuid.uuid4().hex[:8]
    paid = create_payment(base, sk, 2500, f"tour-{tag}-1", description="Annual subscription")
    declined = create_payment(base, sk, 900, f"tour-{tag}-2")
    create_payment(base, sk, 150, f"tour-{tag}-3")
    pay_with_phone_code(base, paid, SUCCEEDS)
    pay_with_phone_code(base, declined, DECLINED)
    paid = wait_for_payment(base, sk, paid["id"], lambda p: p["status"] == "succeeded", "succeeded")
    status, refund = api(base, sk, "POST", "/v1/refunds", {"payment": paid["id"], "amount": 500})
    assert status == 200, refund
    settlement_id = settle_today(e2e_dir, merchant_id)

    status, endpoint = api(base, sk, "POST", "/v1/webhook_endpoints", {"url": receiver.url, "description": "ERP"})
    assert status == 201, endpoint
    assert api(base, sk, "POST", f"/v1/webhook_endpoints/{endpoint['id']}/test", {})[0] == 202
    receiver.wait_for("webhook.test")
    status, button = api(base, sk, "POST", "/v1/buttons",
                         {"amount": 4900, "currency": "RUB", "description": "Printable calendar"})
    assert status == 201, button
    status, merchant = api(base, sk, "POST", "/v1/merchant", {"check_url": receiver.url.replace("webhooks", "check")})
    assert status == 200, merchant

    owner.goto(f"{base}/dashboard/settings/origins")
    owner.get_by_label("Origin", exact=True).fill("https://tour-shop.example")
    with owner.expect_navigation():
        owner.get_by_role("button", name="Add", exact=True).click()
    expect(owner.locator("#origins")).to_contain_text("https://tour-shop.example")

    owner.goto(f"{base}/dashboard/team")
    invite = owner.locator('form[action="/dashboard/team/invites"]')
    invite.get_by_label("Email").fill(viewer_email)
    invite.get_by_label("Role").select_option("viewer")
    with owner.expect_navigation():
        invite.get_by_role("button", name="Create invitation").click()
    code = owner.locator("#invite-code").inner_text().strip()
    owner.context.close()
    viewer = open_person(browser)
    sign_up_with_code(viewer, base, viewer_email, code)
    assert path_of(viewer) == "/dashboard/payments", viewer.url
    viewer.context.close()
    yield Shop(owner_email, viewer_email, sk, paid, settlement_id, endpoint["id"])


@pytest.fixture
def person(browser: Any) -> Iterator[Any]:
    """Opens pages for people, each in its own context; closes them after the test."""
    pages: list[Page] = []

    def open_page(locale: str = "en-US") -> Page:
        pages.append(open_person(browser, locale=locale))
        return pages[-1]

    yield open_page
    for page in pages:
        page.context.close()


def visit(page: Page, url: str, name: str, locale: str) -> Response:
    """Loads a page and holds it to everything every page is held to."""
    response = page.goto(url)
    assert response is not None and response.status == 200, f"{url} answered {response and response.status}"
    expect(page.locator("html")).to_have_attribute("lang", locale)
    one_h1_and_skip_link(page)
    check_page(page, name)
    return response


def log_in_in(page: Page, base: str, email: str, locale: str) -> None:
    """The login form in the browser's language."""
    if locale == "en":
        log_in(page, base, email)
    else:
        page.goto(f"{base}/dashboard/login")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Пароль").fill(PASSWORD)
        with page.expect_navigation():
            page.get_by_role("button", name="Войти").click()
    assert path_of(page) == "/dashboard/payments", page.url


def tour(shop: Shop) -> list[tuple[str, str]]:
    """(path, screenshot name) of every main page that is a GET."""
    return [
        ("/dashboard/payments", "payments"),
        (f"/dashboard/payments/{shop.paid['id']}", "payment"),
        ("/dashboard/balance", "balance"),
        ("/dashboard/settlements", "settlements"),
        (f"/dashboard/settlements/{shop.settlement_id}", "settlement"),
        ("/dashboard/settings/keys", "settings-keys"),
        ("/dashboard/settings/origins", "settings-origins"),
        ("/dashboard/settings/webhooks", "settings-webhooks"),
        (f"/dashboard/settings/webhooks/{shop.endpoint_id}", "settings-webhook-endpoint"),
        ("/dashboard/settings/check", "settings-check"),
        ("/dashboard/settings/buttons", "settings-buttons"),
        ("/dashboard/settings/wallets", "settings-wallets"),
        ("/dashboard/team", "team"),
        ("/sandbox", "sandbox-member"),
    ]


@pytest.mark.parametrize("locale", list(LOCALES))
def test_every_main_page_in_each_language_passes_axe_and_fits_a_phone(
        dashboard_server, shop, person, locale):
    base = dashboard_server.base_url
    owner = person(LOCALES[locale])          # the browser's language picks the dashboard's
    log_in_in(owner, base, shop.owner_email, locale)
    for path, name in tour(shop):
        visit(owner, base + path, f"pages-{name}-{locale}", locale)

    owner.goto(f"{base}/dashboard/payments/{shop.paid['id']}")
    refund = owner.locator("#refund-form")
    expect(refund.locator('input[name="amount"]')).to_have_value("20.00")    # 25.00 less the 5.00 refunded
    refund.locator('input[name="amount"]').fill("2.50")
    with owner.expect_navigation():
        refund.get_by_role("button").click()
    expect(owner.locator("#confirm-question")).to_contain_text("2.50 RUB")
    expect(owner.locator("h1")).to_have_text({"en": "Confirm the refund", "ru": "Подтвердите возврат"}[locale])
    check_page(owner, f"pages-refund-confirm-{locale}")

    anonymous = person(LOCALES[locale])
    visit(anonymous, f"{base}/sandbox", f"pages-sandbox-anonymous-{locale}", locale)
    expect(anonymous.locator("#console-whose")).to_contain_text(
        {"en": "shared sandbox shop", "ru": "общего магазина песочницы"}[locale])


def test_tab_through_the_payment_filters_to_the_first_payment(dashboard_server, shop, person):
    base = dashboard_server.base_url
    owner = person()
    log_in(owner, base, shop.owner_email)
    owner.goto(f"{base}/dashboard/payments")
    stops = [owner.get_by_label("Status"), owner.get_by_label("Wallet"), owner.get_by_label("Created from (UTC)"),
             owner.get_by_label("Created to (UTC, inclusive)"), owner.get_by_label("Amount from"),
             owner.get_by_label("Amount to"), owner.get_by_label("Payment id or order id"),
             owner.get_by_label("Per page"), owner.get_by_role("button", name="Show", exact=True),
             owner.get_by_role("link", name="Clear the filters"), owner.get_by_role("link", name="Download CSV")]
    tab_to(owner, stops[0])
    for stop in stops[1:]:
        tab_to(owner, stop, max_tabs=4)      # a date field takes a Tab per part (day, month, year)
    first_payment = owner.locator("#payments tbody tr").first.get_by_role("link")
    tab_to(owner, first_payment, max_tabs=1)
    newest = owner.locator("#payments tbody tr").first.get_attribute("data-payment-id")
    with owner.expect_navigation():
        owner.keyboard.press("Enter")
    assert path_of(owner) == f"/dashboard/payments/{newest}"


def expect_refused(page: Page, response: Response | None) -> None:
    assert response is not None and response.status == 403, f"expected 403, got {response and response.status}"
    expect(page.locator("#message")).to_have_text(OWNER_ONLY)


def test_a_viewer_sees_no_owner_forms_and_a_forced_post_is_refused(dashboard_server, shop, person):
    base = dashboard_server.base_url
    viewer = person()
    log_in(viewer, base, shop.viewer_email)
    paid = shop.paid

    visit(viewer, f"{base}/dashboard/payments/{paid['id']}", "viewer-payment", "en")
    expect(viewer.locator("#refund-form")).to_have_count(0)
    expect(viewer.locator("#owner-only")).to_have_text("Only an owner can refund this payment.")
    expect(viewer.locator("#refunded")).to_have_text("5.00 RUB")
    response = post_form(viewer, f"/dashboard/payments/{paid['id']}/refund",
                         {"amount": "1.00", "csrf_token": csrf_token(viewer)})
    expect_refused(viewer, response)
    check_page(viewer, "viewer-refund-refused")
    status, refunds = api(base, shop.secret_key, "GET", f"/v1/refunds?payment={paid['id']}")
    assert status == 200 and [r["amount"] for r in refunds["data"]] == [500], "the forced refund went through"

    visit(viewer, f"{base}/dashboard/settings/keys", "viewer-settings-keys", "en")
    expect(viewer.get_by_role("button", name=re.compile("^Roll"))).to_have_count(0)
    expect(viewer.locator('form[action="/dashboard/settings/keys/roll"]')).to_have_count(0)
    response = post_form(viewer, "/dashboard/settings/keys/roll",
                         {"kind": "secret", "mode": "test", "overlap": "0", "csrf_token": csrf_token(viewer)})
    expect_refused(viewer, response)
    assert api(base, shop.secret_key, "GET", "/v1/payments?limit=1")[0] == 200, "the forced roll ended the key"

    visit(viewer, f"{base}/dashboard/settings/webhooks", "viewer-settings-webhooks", "en")
    expect(viewer.locator("#endpoints")).to_contain_text("ERP")
    expect(viewer.locator("main form")).to_have_count(0)
    visit(viewer, f"{base}/dashboard/settings/webhooks/{shop.endpoint_id}", "viewer-webhook-endpoint", "en")
    expect(viewer.locator("#deliveries tbody tr")).to_have_count(1)
    expect(viewer.locator("main form")).to_have_count(0)
    expect(viewer.get_by_role("button", name="Send test event")).to_have_count(0)
    response = post_form(viewer, "/dashboard/settings/webhooks",
                         {"url": "http://127.0.0.1:9/forced", "csrf_token": csrf_token(viewer)})
    expect_refused(viewer, response)
    viewer.goto(f"{base}/dashboard/settings/webhooks/{shop.endpoint_id}")
    response = post_form(viewer, f"/dashboard/settings/webhooks/{shop.endpoint_id}/test",
                         {"csrf_token": csrf_token(viewer)})
    expect_refused(viewer, response)
    status, endpoints = api(base, shop.secret_key, "GET", "/v1/webhook_endpoints")
    assert status == 200 and [e["id"] for e in endpoints["data"]] == [shop.endpoint_id], "a forced endpoint was made"
    status, deliveries = api(base, shop.secret_key, "GET", f"/v1/webhook_endpoints/{shop.endpoint_id}/deliveries")
    assert status == 200 and len(deliveries["data"]) == 1, "the forced test event was sent"
