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


def test_phone_json_lists_codes_newest_first(kopek_server, page):
    response = page.request.get(f"{kopek_server.base_url}/sandbox/phone.json")
    assert response.ok
    sent = [m["sent_at"] for m in response.json()["data"]]
    assert sent == sorted(sent, reverse=True)
