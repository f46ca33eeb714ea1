"""Every wallet, paid for in the real widget: approval in a popup, in a new tab or by a full
redirect (Yandex.Dengi), account or card + PIN (e-port, KreditPilot), and WebMoney's code resend.

Each test checks what the shopper sees in the frame, what the shop page hears
(`#events li[data-event=…]`) and what the shop's server learns from Kopek (/orders/<id>).
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Frame, FrameLocator, Page, expect

from kopek.providers.registry import PLUGINS

pytestmark = pytest.mark.e2e
expect.set_options(timeout=15_000)

PAY = re.compile("^Pay")
APPROVAL_PATH = "/sandbox/providers/yandex_dengi/ext_auth"
SCREEN_HEADINGS = """() => {
  window.kopekHeadings = [];
  const holder = document.getElementById('kopek-screen');
  new MutationObserver(() => {
    const heading = holder.querySelector('h1');
    if (heading) window.kopekHeadings.push(heading.textContent);
  }).observe(holder, {childList: true});
}"""


# ---- helpers ------------------------------------------------------------------------------

def account(wallet: str, ending: str) -> str:
    return PLUGINS[wallet].example_account(ending)


def labels(wallet: str) -> dict[str, str]:
    return {field.name: field.label_en for field in PLUGINS[wallet].info.fields}


def open_checkout(page: Page, shop, path: str = "/checkout") -> tuple[str, FrameLocator]:
    page.goto(f"{shop.origin}{path}")
    payment_id = page.locator("body").get_attribute("data-payment-id")
    frame = page.frame_locator("#pay iframe")
    expect(page.locator('#events li[data-event="kopek:ready"]')).to_have_count(1)
    return payment_id, frame


def frame_of(page: Page) -> Frame:
    """The checkout frame itself, to run a script in it (a FrameLocator cannot)."""
    return page.locator("#pay iframe").element_handle().content_frame()


def choose(frame: FrameLocator, wallet: str) -> None:
    frame.get_by_role("radio", name=PLUGINS[wallet].info.name_en).check()


def fill_details(frame: FrameLocator, wallet: str, values: dict[str, str]) -> None:
    names = labels(wallet)
    for name, value in values.items():
        frame.get_by_label(names[name], exact=True).fill(value)


def enter(frame: FrameLocator, wallet: str, ending: str) -> None:
    """Pick the wallet and fill in its form for the magic account with this ending."""
    choose(frame, wallet)
    fill_details(frame, wallet, PLUGINS[wallet].example_details(account(wallet, ending)))


def shop_events(page: Page) -> list[str]:
    return page.locator("#events li").evaluate_all("items => items.map(i => i.dataset.event + ':' + i.dataset.status)")


def statuses(page: Page) -> list[str]:
    return [e.removeprefix("kopek:status:") for e in shop_events(page) if e.startswith("kopek:status:")]


def shop_server_sees(shop, payment_id: str) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{shop.origin.rsplit(':', 1)[1]}/orders/{payment_id}") as response:
        return json.loads(response.read())


def shop_server_eventually_sees(shop, payment_id: str, status: str, timeout_s: float = 15) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        payment = shop_server_sees(shop, payment_id)
        if payment["status"] == status or time.monotonic() > deadline:
            assert payment["status"] == status, payment
            return payment
        time.sleep(0.1)


def phone_messages(kopek, payment_id: str) -> list[dict]:
    with urllib.request.urlopen(f"{kopek.base_url}/sandbox/phone.json?payment={payment_id}") as response:
        return json.loads(response.read())["data"]


def expect_success_everywhere(page: Page, frame: FrameLocator, shop, payment_id: str) -> None:
    expect(frame.get_by_role("heading", name="Payment successful")).to_be_visible()
    expect(page.locator('#events li[data-event="kopek:succeeded"]')).to_have_count(1)
    assert page.locator('#events li[data-event="kopek:failed"]').count() == 0
    assert shop_server_sees(shop, payment_id)["status"] == "succeeded"


def wait_until_closed(popup: Page, page: Page, timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while not popup.is_closed() and time.monotonic() < deadline:
        page.wait_for_timeout(50)  # lets Playwright's sync API take in the "close" event
    assert popup.is_closed(), f"the approval window is still open at {popup.url}"


def approval_page_is_shown(approval: Page, kopek_server) -> None:
    expect(approval.get_by_role("heading", name="Approve the payment")).to_be_visible()
    assert approval.url.startswith(f"{kopek_server.base_url}{APPROVAL_PATH}?"), approval.url
    assert "secret" not in approval.url, "the wallet's page must never see the client secret"


# ---- Yandex.Dengi: approve in the wallet --------------------------------------------------

def test_yandex_dengi_approved_in_the_popup(page, shop, kopek_server):
    payment_id, frame = open_checkout(page, shop)
    enter(frame, "yandex_dengi", "01")
    with page.expect_popup() as opened:
        frame.get_by_role("button", name=PAY).click()
    popup = opened.value
    approval_page_is_shown(popup, kopek_server)
    expect(frame.get_by_role("heading", name="Approve in your wallet")).to_be_visible()
    expect(popup.locator("#amount")).to_have_text("5.00 RUB")
    expect(page.locator('#events li[data-event="kopek:status"][data-status="requires_confirmation"]')).to_have_count(1)

    popup.get_by_role("button", name="Approve").click()

    expect_success_everywhere(page, frame, shop, payment_id)
    assert statuses(page)[-1] == "succeeded"
    # The frame closes its approval window once the screen moves on from "approve".
    wait_until_closed(popup, page)


def test_yandex_dengi_with_the_popup_blocked_is_approved_in_a_new_tab(page, shop, kopek_server):
    payment_id, frame = open_checkout(page, shop)
    frame_of(page).evaluate("window.open = () => null")  # what a popup blocker does
    enter(frame, "yandex_dengi", "01")
    frame.get_by_role("button", name=PAY).click()

    expect(frame.get_by_role("heading", name="Approve in your wallet")).to_be_visible()
    expect(frame.locator("#kopek-popup-blocked")).to_have_text("Your browser blocked the wallet window.")
    expect(frame.get_by_role("alert").filter(has_text="blocked")).to_be_visible()
    link = frame.get_by_role("link", name="Open Yandex.Dengi")
    expect(link).to_be_visible()
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("rel", "noopener")
    expect(link).to_be_focused()  # the frame moves the shopper to the way out
    expect(frame.get_by_role("button", name="Continue in this window")).to_be_visible()

    with page.expect_popup() as opened:
        link.click()
    tab = opened.value
    approval_page_is_shown(tab, kopek_server)
    tab.get_by_role("button", name="Approve").click()
    expect(tab.get_by_role("heading", name="Done")).to_be_visible()

    expect_success_everywhere(page, frame, shop, payment_id)
    tab.close()


def test_yandex_dengi_full_redirect_returns_to_the_shop_page(page, shop, kopek_server):
    """No return_url on the payment: the widget sends the shop page's own URL as `return`."""
    payment_id, frame = open_checkout(page, shop, "/buy")
    order_page = page.url
    assert order_page == f"{shop.origin}/checkout?payment={payment_id}"
    enter(frame, "yandex_dengi", "01")
    with page.expect_popup() as opened:
        frame.get_by_role("button", name=PAY).click()
    popup = opened.value
    approval_page_is_shown(popup, kopek_server)

    frame.get_by_role("button", name="Continue in this window").click()

    expect(page).to_have_url(re.compile(re.escape(APPROVAL_PATH)))
    approval_page_is_shown(page, kopek_server)
    assert parse_qs(urlsplit(page.url).query)["return"] == [order_page]
    wait_until_closed(popup, page)  # "Continue in this window" closes the approval window

    page.get_by_role("button", name="Approve").click()

    expect(page).to_have_url(order_page)
    payment_frame = page.frame_locator("#pay iframe")
    expect(payment_frame.get_by_role("heading", name="Payment successful")).to_be_visible()
    expect(page.locator('#events li[data-event="kopek:succeeded"]')).to_have_count(1)
    shop_server_eventually_sees(shop, payment_id, "succeeded")


def test_yandex_dengi_full_redirect_returns_to_the_payments_return_url(page, shop, kopek_server):
    payment_id, frame = open_checkout(page, shop, "/buy?return_url=1")
    return_url = shop_server_sees(shop, payment_id)["return_url"]
    assert return_url.startswith(f"{shop.origin}/return?order=")
    frame_of(page).evaluate("window.open = () => null")
    enter(frame, "yandex_dengi", "01")
    frame.get_by_role("button", name=PAY).click()
    expect(frame.locator("#kopek-popup-blocked")).to_be_visible()

    frame.get_by_role("button", name="Continue in this window").click()

    expect(page).to_have_url(re.compile(re.escape(APPROVAL_PATH)))
    approval_page_is_shown(page, kopek_server)
    assert parse_qs(urlsplit(page.url).query)["return"] == [return_url]
    page.get_by_role("button", name="Approve").click()

    expect(page).to_have_url(return_url)
    # The return page shows what the shop's server learns from Kopek (and refreshes until final).
    expect(page.locator("#order-status")).to_have_text("succeeded")
    assert page.locator("body").get_attribute("data-payment-id") == payment_id
    assert shop_server_sees(shop, payment_id)["status"] == "succeeded"


# ---- e-port and KreditPilot: account or card + PIN ----------------------------------------

def test_eport_account_and_pin_with_the_pin_masked_until_shown(page, shop):
    payment_id, frame = open_checkout(page, shop)
    choose(frame, "eport")
    frame.get_by_label("e-port account number", exact=True).fill(account("eport", "01"))
    pin = frame.get_by_label("PIN", exact=True)
    expect(pin).to_have_attribute("type", "password")
    expect(pin).to_have_attribute("autocomplete", "off")
    expect(pin).to_have_attribute("inputmode", "numeric")
    pin.fill("1234")

    reveal = frame.get_by_role("button", name="Show PIN")
    expect(reveal).to_have_attribute("aria-pressed", "false")
    expect(reveal).to_have_attribute("aria-controls", "kopek-field-pin")
    reveal.click()
    expect(pin).to_have_attribute("type", "text")
    expect(pin).to_have_value("1234")
    expect(reveal).to_have_attribute("aria-pressed", "true")
    expect(frame.get_by_role("button", name="Show PIN")).to_be_visible()  # the name stays the same
    reveal.click()
    expect(pin).to_have_attribute("type", "password")
    expect(reveal).to_have_attribute("aria-pressed", "false")

    frame_of(page).evaluate(SCREEN_HEADINGS)
    frame.get_by_role("button", name=PAY).click()

    expect_success_everywhere(page, frame, shop, payment_id)
    headings = frame_of(page).evaluate("() => window.kopekHeadings")
    assert "Processing payment" in headings, headings
    assert headings[-1] == "Payment successful"
    assert statuses(page) == ["processing", "succeeded"]
    assert shop_server_sees(shop, payment_id)["wallet"] == "eport"


def test_kreditpilot_insufficient_funds_then_another_card_pays(page, shop):
    payment_id, frame = open_checkout(page, shop)  # a 5.00 RUB order; card ending 03 holds 0.10 RUB
    enter(frame, "kreditpilot", "03")
    frame.get_by_role("button", name=PAY).click()

    expect(frame.get_by_role("heading", name="Payment did not go through")).to_be_visible()
    expect(frame.locator(".kopek-error-message")).to_have_text("There is not enough money in the wallet.")
    expect(frame.get_by_text("Attempts left: 4")).to_be_visible()
    assert shop_server_sees(shop, payment_id)["last_error"]["code"] == "insufficient_funds"
    assert page.locator('#events li[data-event="kopek:failed"]').count() == 0

    frame.get_by_role("button", name="Try another wallet").click()
    expect(frame.get_by_role("heading", name="Pay with an e-wallet")).to_be_visible()
    expect(frame.get_by_role("radio", name="KreditPilot")).to_be_checked()
    enter(frame, "kreditpilot", "01")
    frame.get_by_role("button", name=PAY).click()

    expect_success_everywhere(page, frame, shop, payment_id)
    seen = statuses(page)
    assert seen[-1] == "succeeded" and "requires_wallet" in seen
    assert shop_server_sees(shop, payment_id)["last_error"] is None


def test_a_wrong_pin_is_shown_and_the_shopper_tries_again(page, shop):
    payment_id, frame = open_checkout(page, shop)
    enter(frame, "eport", "05")  # every PIN is wrong for this account
    frame.get_by_role("button", name=PAY).click()

    expect(frame.get_by_role("heading", name="Payment did not go through")).to_be_visible()
    expect(frame.locator(".kopek-error-message")).to_have_text("Wrong PIN.")
    assert shop_server_sees(shop, payment_id)["status"] == "requires_wallet"

    frame.get_by_role("button", name="Try another wallet").click()
    expect(frame.get_by_role("radio", name="e-port")).to_be_checked()
    expect(frame.get_by_label("PIN", exact=True)).to_have_value("")  # the PIN is not kept
    enter(frame, "eport", "01")
    frame.get_by_role("button", name=PAY).click()

    expect_success_everywhere(page, frame, shop, payment_id)


# ---- formats checked in the browser --------------------------------------------------------

BAD_FORMATS = {
    "webmoney": {"account": "R12"},
    "yandex_dengi": {"wallet": "41001123"},                       # too short
    "eport": {"account": "10000001", "pin": "123"},             # 8 digits; a 3-digit PIN
    "kreditpilot": {"card": "7000abcd00000001", "pin": "123"},  # letters in the card number
}


def test_bad_formats_are_refused_in_the_browser_for_every_wallet(page, shop):
    sent, popups = [], []
    page.on("request", lambda request: sent.append(request.url) if request.method == "POST" else None)
    page.on("popup", lambda popup: popups.append(popup))
    payment_id, frame = open_checkout(page, shop)

    for wallet, values in BAD_FORMATS.items():
        choose(frame, wallet)
        fill_details(frame, wallet, values)
        frame.get_by_role("button", name=PAY).click()
        for name, label in labels(wallet).items():
            field = frame.get_by_label(label, exact=True)
            error = frame.locator(f"#kopek-field-{name}-error")
            expect(error).to_be_visible()
            expect(error).to_have_text("Check the format.")
            expect(field).to_have_attribute("aria-invalid", "true")
            expect(field).to_have_attribute("aria-describedby", re.compile(f"kopek-field-{name}-error"))
        expect(frame.get_by_role("heading", name="Pay with an e-wallet")).to_be_visible()

    # Correcting a field clears its error as the shopper types.
    frame.get_by_label("Card PIN", exact=True).fill("1234")
    expect(frame.get_by_label("Card PIN", exact=True)).to_have_attribute("aria-invalid", "false")
    expect(frame.locator("#kopek-field-pin-error")).to_be_hidden()

    assert not [url for url in sent if "/attempts" in url], sent
    assert not popups, "no approval window may open for a form that was refused"
    payment = shop_server_sees(shop, payment_id)
    assert (payment["status"], payment["attempts_left"], payment["wallet"]) == ("requires_wallet", 5, None)


# ---- WebMoney: send the code again ---------------------------------------------------------

def test_webmoney_code_resend_after_the_cooldown(page, fast_resend_shop, fast_resend_kopek):
    """Kopek runs here with KOPEK_CODE_RESEND_COOLDOWN_S=3 (the default is 30 s)."""
    cooldown_s = fast_resend_kopek.resend_cooldown_s
    payment_id, frame = open_checkout(page, fast_resend_shop)
    enter(frame, "webmoney", "01")
    frame.get_by_role("button", name=PAY).click()
    expect(frame.get_by_role("heading", name="Enter the code")).to_be_visible()

    resend = frame.locator("#kopek-resend")
    expect(resend).to_have_text(re.compile(rf"^Send again in 0:0[1-{cooldown_s}]$"))
    expect(resend).to_be_disabled()
    expect(frame.get_by_role("button", name=re.compile("^Send again in"))).to_be_disabled()
    first = phone_messages(fast_resend_kopek, payment_id)
    assert len(first) == 1

    expect(resend).to_have_text("Send the code again", timeout=(cooldown_s + 5) * 1000)
    expect(resend).to_be_enabled()
    frame.get_by_role("button", name="Send the code again").click()

    expect(frame.locator("#kopek-status")).to_have_text("Code sent again.")
    expect(resend).to_be_disabled()
    expect(resend).to_have_text(re.compile(r"^Send again in 0:0\d$"))
    messages = phone_messages(fast_resend_kopek, payment_id)
    assert len(messages) == 2, messages
    assert messages[0]["code"] == messages[1]["code"] == first[0]["code"]

    frame.get_by_label("Confirmation code").fill(first[0]["code"])
    frame.get_by_role("button", name="Confirm").click()
    expect_success_everywhere(page, frame, fast_resend_shop, payment_id)
