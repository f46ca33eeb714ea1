"""The sandbox page on Kopek's own origin: a demo shop with the magic wallets and an event log."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e
expect.set_options(timeout=15_000)


def test_sandbox_page_pays_and_logs_the_events(page, kopek_server, request):
    page.goto(f"{kopek_server.base_url}/sandbox?amount=100")
    expect(page.locator("#magic-wallets")).to_contain_text("R100000000001")
    expect(page.locator("#pay iframe")).to_have_count(0)      # viewing the console starts no payment
    with page.expect_navigation():
        page.get_by_role("button", name="Start a test payment").click()
    expect(page.locator("#order-amount")).to_have_text("100.00 RUB")
    frame = page.frame_locator("#pay iframe")
    frame.get_by_role("radio", name="WebMoney").check()
    frame.get_by_label("WMID, purse or phone").fill("R100000000001")
    page.screenshot(path=str(request.config.rootpath / "artifacts" / "sandbox-wallet-form.png"))
    frame.get_by_role("button", name=re.compile("^Pay")).click()
    expect(frame.get_by_role("heading", name="Enter the code")).to_be_visible()

    phone = page.context.new_page()
    phone.goto(f"{kopek_server.base_url}/sandbox/phone")
    payment_id = page.locator("#order-payment-id").inner_text().strip()
    code = phone.locator(f'tr[data-payment-id="{payment_id}"] strong.code').first.inner_text().strip()
    phone.close()

    frame.get_by_label("Confirmation code").fill(code)
    frame.get_by_role("button", name="Confirm").click()
    expect(frame.get_by_role("heading", name="Payment successful")).to_be_visible()
    expect(page.locator('#events li[data-event="kopek:succeeded"]')).to_have_count(1)


def test_a_second_visitor_sees_neither_the_first_ones_payment_nor_faults(page, kopek_server, browser):
    base = kopek_server.base_url
    page.goto(f"{base}/sandbox")
    page.locator("#f-error_rate").fill("1")
    with page.expect_navigation():
        page.locator("#faults-save").click()
    expect(page.locator("#faults-env")).to_have_text("KOPEK_SANDBOX_FAULTS=error_rate=1")
    with page.expect_navigation():
        page.get_by_role("button", name="Start a test payment").click()
    theirs = page.locator("#order-payment-id").inner_text().strip()

    other = browser.new_context().new_page()      # another visitor: their own cookies
    other.goto(f"{base}/sandbox")
    expect(other.locator("#faults-current")).to_contain_text("No faults are injected now.")
    assert other.goto(f"{base}/sandbox?payment={theirs}").status == 404
    other.goto(f"{base}/sandbox")
    with other.expect_navigation():
        other.get_by_role("button", name="Start a test payment").click()
    frame = other.frame_locator("#pay iframe")
    frame.get_by_role("radio", name="WebMoney").check()
    frame.get_by_label("WMID, purse or phone").fill("R100000000001")
    frame.get_by_role("button", name=re.compile("^Pay")).click()
    expect(frame.get_by_role("heading", name="Enter the code")).to_be_visible()   # no 503 for them
    other.context.close()


def test_phone_json_lists_codes_newest_first(kopek_server, page):
    response = page.request.get(f"{kopek_server.base_url}/sandbox/phone.json")
    assert response.ok
    sent = [m["sent_at"] for m in response.json()["data"]]
    assert sent == sorted(sent, reverse=True)
