"""A shopper pays on a shop page (one origin) through the widget served by Kopek (another origin)."""

from __future__ import annotations

import json
import sqlite3
import re
import urllib.request

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e
expect.set_options(timeout=15_000)
SUCCEEDS, DECLINED = "R100000000001", "R100000000002"


def open_checkout(page: Page, shop, query: str = "") -> tuple[str, object]:
    page.goto(f"{shop.origin}/checkout{query}")
    payment_id = page.locator("body").get_attribute("data-payment-id")
    frame = page.frame_locator("#pay iframe")
    expect(frame.get_by_role("heading", name="Pay with an e-wallet")).to_be_visible()
    return payment_id, frame


def pay_with(frame, account: str) -> None:
    frame.get_by_role("radio", name="WebMoney").check()
    frame.get_by_label("WMID, purse or phone").fill(account)
    frame.get_by_role("button", name=re.compile("^Pay")).click()


def enter_code(frame, kopek_server, payment_id: str) -> None:
    """Wait for the code screen (the code is sent by then), read the phone, type the code."""
    expect(frame.get_by_role("heading", name="Enter the code")).to_be_visible()
    frame.get_by_label("Confirmation code").fill(code_from_phone(kopek_server, payment_id))
    frame.get_by_role("button", name="Confirm").click()


def code_from_phone(kopek_server, payment_id: str) -> str:
    url = f"{kopek_server.base_url}/sandbox/phone.json?payment={payment_id}"
    with urllib.request.urlopen(url) as response:
        messages = json.loads(response.read())["data"]
    assert messages, "the sandbox phone got no code"
    return messages[0]["code"]


def shop_events(page: Page) -> list[str]:
    return page.locator("#events li").evaluate_all("items => items.map(i => i.dataset.event + ':' + i.dataset.status)")


def shop_server_sees(page: Page, shop, payment_id: str) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{shop.origin.rsplit(':', 1)[1]}/orders/{payment_id}") as response:
        return json.loads(response.read())


def test_shopper_pays_with_webmoney_and_the_shop_hears_succeeded(page, shop, kopek_server):
    payment_id, frame = open_checkout(page, shop)
    expect(page.locator('#events li[data-event="kopek:ready"]')).to_have_count(1)

    pay_with(frame, SUCCEEDS)
    enter_code(frame, kopek_server, payment_id)

    expect(frame.get_by_role("heading", name="Payment successful")).to_be_visible()
    expect(page.locator('#events li[data-event="kopek:succeeded"]')).to_have_count(1)
    statuses = [e for e in shop_events(page) if e.startswith("kopek:status")]
    assert statuses[-1] == "kopek:status:succeeded"
    assert "kopek:status:requires_confirmation" in statuses
    assert shop_server_sees(page, shop, payment_id)["status"] == "succeeded"


def test_a_decline_then_another_try_succeeds(page, shop, kopek_server):
    payment_id, frame = open_checkout(page, shop)
    pay_with(frame, DECLINED)
    enter_code(frame, kopek_server, payment_id)
    expect(frame.get_by_role("heading", name="Payment did not go through")).to_be_visible()
    expect(frame.locator(".kopek-error-message")).to_contain_text("declined")

    frame.get_by_role("button", name="Try another wallet").click()
    pay_with(frame, SUCCEEDS)
    enter_code(frame, kopek_server, payment_id)
    expect(frame.get_by_role("heading", name="Payment successful")).to_be_visible()
    expect(page.locator('#events li[data-event="kopek:succeeded"]')).to_have_count(1)
    assert page.locator('#events li[data-event="kopek:failed"]').count() == 0
    assert shop_server_sees(page, shop, payment_id)["status"] == "succeeded"


def test_the_form_is_checked_in_the_browser_before_anything_is_sent(page, shop, kopek_server):
    payment_id, frame = open_checkout(page, shop)
    pay_with(frame, "R12")
    expect(frame.locator("#kopek-field-account-error")).to_be_visible()
    expect(frame.get_by_label("WMID, purse or phone")).to_have_attribute("aria-invalid", "true")
    with urllib.request.urlopen(f"{kopek_server.base_url}/sandbox/phone.json?payment={payment_id}") as response:
        assert json.loads(response.read())["data"] == []


def test_kopek_mount_api_and_callbacks(page, shop, kopek_server):
    page.goto(f"{shop.origin}/checkout?embed=mount")
    payment_id = page.locator("body").get_attribute("data-payment-id")
    frame = page.frame_locator("#pay iframe")
    pay_with(frame, SUCCEEDS)
    enter_code(frame, kopek_server, payment_id)
    page.wait_for_function("() => window.succeededCallback !== undefined")
    detail = page.evaluate("() => window.succeededCallback")
    assert detail["paymentId"] == payment_id and detail["status"] == "succeeded"


def test_russian_locale(page, shop):
    page.goto(f"{shop.origin}/checkout?locale=ru")
    frame = page.frame_locator("#pay iframe")
    expect(frame.get_by_role("heading", name="Оплата электронным кошельком")).to_be_visible()
    expect(frame.get_by_label("WMID, кошелёк или телефон")).to_be_visible()


def test_keyboard_only_shopper_can_reach_the_wallet_and_form(page, shop):
    _, frame = open_checkout(page, shop)
    frame.locator("#kopek-wallet-webmoney").focus()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    focused = frame.locator(":focus")
    expect(focused).to_have_attribute("id", "kopek-field-account")


def test_an_origin_not_on_the_allow_list_cannot_frame_the_checkout(page, other_shop):
    page.goto(f"{other_shop.origin}/checkout")
    page.wait_for_timeout(2000)
    frame = next(f for f in page.frames if f != page.main_frame)
    assert frame.locator("#kopek-checkout").count() == 0
    assert page.locator('#events li[data-event="kopek:ready"]').count() == 0


def test_running_out_of_attempts_fires_kopek_failed(page, shop):
    payment_id, frame = open_checkout(page, shop)
    for attempt_number in range(5):
        if attempt_number:
            frame.get_by_role("button", name="Try another wallet").click()
        pay_with(frame, "R100000000009")
        if attempt_number < 4:
            expect(frame.get_by_role("heading", name="Payment did not go through")).to_be_visible()
    expect(frame.get_by_role("heading", name="Payment failed")).to_be_visible()
    expect(page.locator('#events li[data-event="kopek:failed"]')).to_have_count(1)
    assert shop_server_sees(page, shop, payment_id)["status"] == "failed"


def test_the_shopper_cancels_and_the_shop_hears_canceled(page, shop):
    payment_id, frame = open_checkout(page, shop)
    frame.get_by_role("button", name="Cancel").click()
    expect(frame.get_by_role("heading", name="Payment canceled")).to_be_visible()
    expect(page.locator('#events li[data-event="kopek:canceled"]')).to_have_count(1)
    assert shop_server_sees(page, shop, payment_id)["status"] == "canceled"


def test_a_russian_shopper_reads_why_the_payment_failed_in_russian(page, shop):
    page.goto(f"{shop.origin}/checkout?locale=ru")
    frame = page.frame_locator("#pay iframe")
    frame.get_by_role("radio", name="WebMoney").check()
    frame.get_by_label("WMID, кошелёк или телефон").fill("R100000000009")
    frame.get_by_role("button", name=re.compile("^Оплатить")).click()
    expect(frame.locator(".kopek-error-message")).to_have_text("Такого кошелька нет.")


def test_when_websockets_fail_the_widget_polls_and_still_sees_success(page, shop, kopek_server):
    refused = []

    def refuse(ws):
        refused.append(ws.url)
        ws.close(code=1011, reason="sockets blocked by a proxy")

    page.route_web_socket(re.compile(r".*/live$"), refuse)
    payment_id, frame = open_checkout(page, shop)
    pay_with(frame, SUCCEEDS)
    enter_code(frame, kopek_server, payment_id)
    expect(frame.get_by_role("heading", name="Payment successful")).to_be_visible()
    expect(page.locator('#events li[data-event="kopek:succeeded"]')).to_have_count(1)
    assert refused, "the widget never tried the websocket"


def test_time_running_out_fires_kopek_expired(page, shop, e2e_dir):
    payment_id, frame = open_checkout(page, shop)
    with sqlite3.connect(e2e_dir / "kopek.db") as db:  # let the half hour pass
        db.execute("UPDATE payments SET expires_at='2000-01-01T00:00:00.000000Z' WHERE id=?", (payment_id,))
    expect(frame.get_by_role("heading", name="Payment expired")).to_be_visible()
    expect(page.locator('#events li[data-event="kopek:expired"]')).to_have_count(1)
    assert shop_server_sees(page, shop, payment_id)["status"] == "expired"


# When the shop hears kopek:ready, the frame already has the height it keeps, filled by the
# checkout: a click right after ready lands where the shopper aimed.
HEIGHT_AT_READY = """() => {
  document.addEventListener('kopek:ready', () => {
    const frame = document.querySelector('#pay iframe');
    window.heightAtReady = frame.getBoundingClientRect().height;
  });
}"""


def test_the_frame_has_its_final_height_when_it_says_ready(page, shop):
    page.add_init_script(f"({HEIGHT_AT_READY})()")
    page.goto(f"{shop.origin}/checkout")
    expect(page.locator('#events li[data-event="kopek:ready"]')).to_have_count(1)
    page.wait_for_timeout(500)  # any resize after ready has arrived by now
    settled = page.locator("#pay iframe").evaluate("frame => frame.getBoundingClientRect().height")
    content = page.frame_locator("#pay iframe").locator("#kopek-checkout").evaluate(
        "root => Math.ceil(root.getBoundingClientRect().height)")
    assert page.evaluate("window.heightAtReady") == settled == pytest.approx(content, abs=1)


# The shop page reserves the widget's height (min-height: 760px, as the README's snippet does), and
# the widget keeps exactly that height through every screen: nothing on the shop page moves.
WIDGET_HEIGHT = 760
LAYOUT_SHIFTS = """() => {
  if (window !== window.top) return;
  window.layoutShifts = [];
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) window.layoutShifts.push(entry.value);
  }).observe({type: 'layout-shift', buffered: true});
}"""


@pytest.mark.parametrize("width", [900, 360, 320])
def test_nothing_on_the_shop_page_moves_from_load_to_success(page, shop, kopek_server, width):
    page.set_viewport_size({"width": width, "height": 800})
    page.add_init_script(f"({LAYOUT_SHIFTS})()")
    payment_id, frame = open_checkout(page, shop)
    for wallet in frame.get_by_role("radio").all():  # each wallet's fields, the longest form
        wallet.check()
    pay_with(frame, SUCCEEDS)
    enter_code(frame, kopek_server, payment_id)
    expect(frame.get_by_role("heading", name="Payment successful")).to_be_visible()
    page.wait_for_timeout(300)  # a late resize would still be counted
    assert page.evaluate("window.layoutShifts") == []
    assert frame_height(page) == WIDGET_HEIGHT


def test_without_the_reserved_height_the_page_moves_once_when_the_widget_mounts(page, shop, kopek_server):
    page.add_init_script(f"({LAYOUT_SHIFTS})()")
    payment_id, frame = open_checkout(page, shop, "?reserve=0")
    pay_with(frame, SUCCEEDS)
    enter_code(frame, kopek_server, payment_id)
    expect(frame.get_by_role("heading", name="Payment successful")).to_be_visible()
    page.wait_for_timeout(300)
    assert len(page.evaluate("window.layoutShifts")) == 1


def test_the_longest_form_in_russian_on_a_small_phone_fits_too(page, shop):
    page.set_viewport_size({"width": 320, "height": 640})
    page.add_init_script(f"({LAYOUT_SHIFTS})()")
    page.goto(f"{shop.origin}/checkout?locale=ru")
    frame = page.frame_locator("#pay iframe")
    expect(frame.get_by_role("heading", name="Оплата электронным кошельком")).to_be_visible()
    for wallet in frame.get_by_role("radio").all():
        wallet.check()
    page.wait_for_timeout(300)
    assert page.evaluate("window.layoutShifts") == []
    assert frame_height(page) == WIDGET_HEIGHT


def frame_height(page: Page) -> float:
    return page.locator("#pay iframe").evaluate("frame => frame.getBoundingClientRect().height")


def test_a_cold_load_asks_only_for_the_loader_and_the_frame(page, shop):
    """The checkout state comes over the websocket the widget opens anyway, not in a request of its own."""
    requests, sockets = [], []
    page.on("request", lambda request: requests.append(request.url))
    page.on("websocket", lambda socket: sockets.append(socket.url))
    payment_id, _ = open_checkout(page, shop)
    kopek = [url.split("?")[0] for url in requests if url.startswith(shop.kopek_url)]
    assert kopek == [f"{shop.kopek_url}/v1/kopek.js", f"{shop.kopek_url}/v1/checkout/{payment_id}/frame"]
    assert sockets == [f"{shop.kopek_url.replace('http', 'ws', 1)}/v1/checkout/{payment_id}/live"]
