"""The hosted payment page and payment buttons, in Chromium.

(a) A shop sends the shopper to checkout_url (Kopek's origin); the shopper pays with WebMoney
    and lands back on the shop's return_url (another origin) with the payment's id and status.
(b) A static site (plain files, no server code, on its own origin) pastes a button snippet:
    each click makes a fresh payment on the hosted page; paying brings the shopper back.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from typing import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, expect

from processes import create_merchant, free_port, http_json, run_cli

pytestmark = pytest.mark.e2e
expect.set_options(timeout=15_000)
SUCCEEDS = "R100000000001"

THANKS_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Thanks</title></head>
<body><h1 id="top">Thank you</h1></body></html>"""
INDEX_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>My zine</title></head>
<body><h1>My zine, issue 1</h1><p>A PDF for five roubles.</p>
{snippet}
</body></html>"""


@dataclass
class StaticSite:
    origin: str
    secret_key: str
    button: dict


@pytest.fixture(scope="module")
def static_site(kopek_server, e2e_dir) -> Iterator[StaticSite]:
    """Two plain files served by `python -m http.server`: the shop has no server code at all."""
    port = free_port()
    origin = f"http://localhost:{port}"
    merchant = create_merchant(e2e_dir / "kopek.db", "Static zine shop", origin)
    done = run_cli("button", "create", "--merchant", merchant["id"], "--amount", "500", "--currency", "RUB",
                   "--description", "Zine PDF", "--return-url", f"{origin}/thanks.html?lang=en#top",
                   "--public-base-url", kopek_server.base_url, "--json", db=e2e_dir / "kopek.db")
    assert done.returncode == 0, done.stderr
    button = json.loads(done.stdout)
    site = e2e_dir / "static-site"
    site.mkdir()
    (site / "index.html").write_text(INDEX_PAGE.format(snippet=button["snippet"]))
    (site / "thanks.html").write_text(THANKS_PAGE)
    with open(e2e_dir / "static-site.log", "w") as log:
        server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                                   "--directory", str(site)], stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_for(f"http://127.0.0.1:{port}/index.html")
        yield StaticSite(origin, merchant["secret_key"], button)
    finally:
        server.terminate()
        server.wait(timeout=10)


def _wait_for(url: str) -> None:
    deadline = time.monotonic() + 20
    while True:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def hosted_page_url(kopek_server) -> re.Pattern[str]:
    """The hosted page once its script has read the #secret and dropped it from the address bar."""
    return re.compile(re.escape(kopek_server.base_url) + r"/pay/pay_\w+$")


def pay_with_webmoney(page: Page, kopek_server) -> str:
    payment_id = page.locator("body").get_attribute("data-payment-id")
    frame = page.frame_locator("#pay iframe")
    frame.get_by_role("radio", name="WebMoney").check()
    frame.get_by_label("WMID, purse or phone").fill(SUCCEEDS)
    frame.get_by_role("button", name=re.compile("^Pay")).click()
    expect(frame.get_by_role("heading", name="Enter the code")).to_be_visible()
    with urllib.request.urlopen(f"{kopek_server.base_url}/sandbox/phone.json?payment={payment_id}") as response:
        messages = json.loads(response.read())["data"]
    assert messages, "the sandbox phone got no code"
    frame.get_by_label("Confirmation code").fill(messages[0]["code"])
    frame.get_by_role("button", name="Confirm").click()
    return payment_id


def stored_secret(page: Page, payment_id: str) -> str:
    return page.evaluate("id => sessionStorage.getItem('kopek:secret:' + id)", payment_id)


def test_hosted_page_pays_and_returns_to_the_shops_return_url(page, shop, kopek_server):
    page.goto(f"{shop.origin}/pay-on-kopek")
    expect(page).to_have_url(hosted_page_url(kopek_server))
    expect(page.locator("#merchant-name")).to_have_text("E2E shop")
    expect(page.locator("#order-amount")).to_have_text("5.00 RUB")
    payment_id = page.locator("body").get_attribute("data-payment-id")
    secret = stored_secret(page, payment_id)
    assert secret.startswith(payment_id + "_secret_")

    pay_with_webmoney(page, kopek_server)

    expect(page).to_have_url(re.compile(re.escape(shop.origin) + r"/return\?"))
    landed = urlsplit(page.url)
    query = parse_qs(landed.query)
    assert landed.fragment == "top"
    assert query["lang"] == ["en"] and query["order"][0].startswith("order-")
    assert query["kopek_payment_id"] == [payment_id] and query["kopek_status"] == ["succeeded"]
    assert list(query)[-2:] == ["kopek_payment_id", "kopek_status"]
    expect(page.locator("#order-status")).to_have_text("succeeded")  # what the shop's server learned

    log = kopek_server.output()
    assert f"GET /pay/{payment_id} " in log and f"GET /pay/{payment_id}/return " in log
    assert secret not in log and secret.rpartition("_")[2] not in log


def test_hosted_page_with_a_missing_or_wrong_fragment_says_the_link_is_incomplete(page, browser, shop, kopek_server):
    page.goto(f"{shop.origin}/pay-on-kopek")
    expect(page).to_have_url(hosted_page_url(kopek_server))
    payment_id = page.locator("body").get_attribute("data-payment-id")
    page.reload()  # the tab kept the secret: the widget still loads
    expect(page.frame_locator("#pay iframe").get_by_role("heading", name="Pay with an e-wallet")).to_be_visible()

    context = browser.new_context(locale="en-US")
    try:
        stranger = context.new_page()
        for fragment in ("", "#garbage", f"#{payment_id}_secret_{'0' * 32}"):
            stranger.goto(f"{kopek_server.base_url}/pay/{payment_id}{fragment}")
            expect(stranger.get_by_role("heading", name="This payment link is incomplete")).to_be_visible()
            expect(stranger.locator("#pay iframe")).to_have_count(0)
            expect(stranger.locator("#order-amount")).to_have_text("5.00 RUB")
    finally:
        context.close()


def test_static_page_button_makes_a_fresh_payment_per_click_and_brings_the_shopper_back(
        page, static_site, kopek_server):
    index = f"{static_site.origin}/index.html"
    page.goto(index)
    page.get_by_role("button", name="Pay 5.00 RUB").click()
    expect(page).to_have_url(hosted_page_url(kopek_server))
    first = page.locator("body").get_attribute("data-payment-id")
    expect(page.get_by_role("heading", name="Zine PDF")).to_be_visible()

    page.go_back()
    expect(page).to_have_url(index)
    page.get_by_role("button", name="Pay 5.00 RUB").click()
    expect(page).to_have_url(hosted_page_url(kopek_server))
    second = page.locator("body").get_attribute("data-payment-id")
    assert second != first

    pay_with_webmoney(page, kopek_server)

    expect(page).to_have_url(re.compile(re.escape(static_site.origin) + r"/thanks\.html\?"))
    landed = urlsplit(page.url)
    assert landed.fragment == "top"
    assert parse_qs(landed.query) == {"lang": ["en"], "kopek_payment_id": [second], "kopek_status": ["succeeded"]}
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()

    status, listing = http_json("GET", f"{kopek_server.base_url}/v1/payments?limit=10",
                                headers={"Authorization": f"Bearer {static_site.secret_key}"})
    assert status == 200
    by_id = {p["id"]: p for p in listing["data"]}
    assert set(by_id) == {first, second}
    assert by_id[first]["order_id"] != by_id[second]["order_id"]
    assert all(p["metadata"] == {"button": static_site.button["id"]} for p in by_id.values())
    assert (by_id[first]["status"], by_id[second]["status"]) == ("requires_wallet", "succeeded")
