"""The hosted payment page (/pay/{id}#<client secret>) and the way back to the shop's return_url."""

from __future__ import annotations

import logging
import re

import pytest

from kopek import keys
from kopek.merchants import create_merchant
from kopek.web.hosted import return_url_for
from support import SUCCEEDS, XSS_ATTRIBUTE, XSS_SCRIPT, assert_shown_as_text, attempt, confirm, wait_for_status

pytestmark = pytest.mark.usefixtures("kopek")


def csp_directives(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return {part.split()[0]: " ".join(part.split()[1:]) for part in policy.split("; ")}


async def pay(kopek, payment):
    await attempt(kopek, payment, SUCCEEDS)
    await confirm(kopek, payment, await kopek.phone_code(payment["id"]))
    return await wait_for_status(kopek, payment, "succeeded")


async def cancel(kopek, payment):
    response = await kopek.client.post(f"/v1/payments/{payment['id']}/cancel", headers=kopek.auth())
    assert response.status == 200


# -- checkout_url ------------------------------------------------------------------------

async def test_every_payment_carries_a_checkout_url_with_the_secret_in_the_fragment(kopek):
    payment = await kopek.create_payment(order_id="H-1")
    assert payment["checkout_url"] == f"{kopek.base_url}/pay/{payment['id']}#{payment['client_secret']}"
    got = await (await kopek.client.get(f"/v1/payments/{payment['id']}", headers=kopek.auth())).json()
    listed = await (await kopek.client.get("/v1/payments", headers=kopek.auth())).json()
    assert got["checkout_url"] == listed["data"][0]["checkout_url"] == payment["checkout_url"]


async def test_openapi_documents_checkout_url(kopek):
    spec = await (await kopek.client.get("/v1/openapi.json")).json()
    assert "checkout_url" in spec["components"]["schemas"]["Payment"]["properties"]


# -- the page ----------------------------------------------------------------------------

async def test_hosted_page_shows_the_order_and_mounts_the_widget_under_a_strict_csp(kopek):
    payment = await kopek.create_payment(order_id="H-2", amount=500, description="PDF <b>download</b>")
    response = await kopek.client.get(f"/pay/{payment['id']}")
    html = await response.text()
    assert response.status == 200 and response.content_type == "text/html"
    assert "Test shop" in html and "5.00 RUB" in html
    assert "PDF &lt;b&gt;download&lt;/b&gt;" in html  # escaped, never markup
    assert f'<script src="{kopek.base_url}/v1/kopek.js" defer></script>' in html
    assert '<script src="/static/widget/hosted-page.js" defer></script>' in html
    assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", html)), "no inline scripts"
    assert payment["client_secret"] not in html and "_secret_" not in html
    assert 'data-view="checkout"' in html and 'id="incomplete"' in html

    csp = csp_directives(response)
    assert csp["default-src"] == "'none'" and csp["script-src"] == "'self'" and csp["style-src"] == "'self'"
    assert csp["frame-src"] == kopek.base_url and csp["frame-ancestors"] == "'none'"
    assert "unsafe" not in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"


async def test_the_shops_name_and_order_are_shown_as_text_never_markup(kopek):
    shop = await create_merchant(kopek.app[keys.STORE], f"Shop {XSS_SCRIPT}", [])
    description = f"Ebook {XSS_SCRIPT} {XSS_ATTRIBUTE}"
    created = await kopek.client.post("/v1/payments", headers=kopek.auth(shop.secret_key), json={
        "amount": 500, "currency": "RUB", "order_id": f"H-{XSS_ATTRIBUTE}", "description": description,
        "metadata": {XSS_SCRIPT: XSS_ATTRIBUTE}})
    assert created.status == 201, await created.text()
    payment = await created.json()
    checkout = await kopek.client.get(f"/pay/{payment['id']}")
    assert checkout.status == 200
    assert_shown_as_text(await checkout.text(), f"Shop {XSS_SCRIPT}", description)

    canceled = await kopek.client.post(f"/v1/payments/{payment['id']}/cancel", headers=kopek.auth(shop.secret_key))
    assert canceled.status == 200
    final = await kopek.client.get(f"/pay/{payment['id']}")
    html = await final.text()
    assert final.status == 200 and 'data-status="canceled"' in html
    assert_shown_as_text(html, f"Shop {XSS_SCRIPT}", description)


async def test_hosted_page_script_is_served_as_a_frame_asset(kopek):
    response = await kopek.client.get("/static/widget/hosted-page.js")
    source = await response.text()
    assert response.status == 200 and response.content_type == "text/javascript"
    assert "location.hash" in source and "history.replaceState" in source and "/return" in source


async def test_russian_shoppers_get_the_page_in_russian(kopek):
    payment = await kopek.create_payment(order_id="H-ru")
    html = await (await kopek.client.get(f"/pay/{payment['id']}", headers={"Accept-Language": "ru-RU"})).text()
    assert 'lang="ru"' in html and "Сумма" in html and 'data-locale="ru"' in html


async def test_kopek_itself_may_frame_every_merchants_checkout(kopek):
    payment = await kopek.create_payment(order_id="H-3")
    own = await kopek.client.get(f"/v1/checkout/{payment['id']}/frame", params={"origin": kopek.base_url})
    assert own.status == 200
    ancestors = csp_directives(own)["frame-ancestors"].split()
    assert ancestors == ["http://shop.test:8001", kopek.base_url]
    stranger = await kopek.client.get(f"/v1/checkout/{payment['id']}/frame", params={"origin": "https://evil.example"})
    assert stranger.status == 403


async def test_unknown_payment_is_a_404_page(kopek):
    for path in ("/pay/pay_doesnotexist", "/pay/pay_doesnotexist/return", "/pay/" + "x" * 300):
        response = await kopek.client.get(path)
        assert response.status == 404, path
        assert response.content_type == "text/html"
        assert "no such payment" in (await response.text()).lower()
        assert "script-src" not in response.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


async def test_a_finished_payment_shows_its_state_without_the_widget(kopek):
    payment = await kopek.create_payment(order_id="H-4", return_url="http://shop.test:8001/thanks")
    await cancel(kopek, payment)
    response = await kopek.client.get(f"/pay/{payment['id']}")
    html = await response.text()
    assert response.status == 200
    assert 'data-status="canceled"' in html and "Payment canceled" in html
    assert "<script" not in html
    assert f'href="/pay/{payment["id"]}/return"' in html


# -- no secret in any log line -------------------------------------------------------------

async def test_the_client_secret_never_reaches_a_log_line(kopek, caplog):
    caplog.set_level(logging.INFO)
    payment = await kopek.create_payment(order_id="H-5", return_url="http://shop.test:8001/done")
    secret = payment["client_secret"]
    async with kopek.client.session.get(payment["checkout_url"]) as page:  # a client never sends the #fragment
        assert page.status == 200
    await cancel(kopek, payment)
    back = await kopek.client.get(f"/pay/{payment['id']}/return", allow_redirects=False)
    assert back.status == 303

    access = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
    assert any(f"GET /pay/{payment['id']} " in line for line in access), access
    assert any(f"GET /pay/{payment['id']}/return " in line for line in access), access
    tag = secret.rpartition("_")[2]
    for record in caplog.records:
        assert secret not in record.getMessage() and tag not in record.getMessage(), record.getMessage()


# -- back to the shop ----------------------------------------------------------------------

@pytest.mark.parametrize(("return_url", "expected"), [
    ("http://shop.test:8001/thanks",
     "http://shop.test:8001/thanks?kopek_payment_id=pay_X&kopek_status=succeeded"),
    ("http://shop.test:8001/thanks?lang=en&q=a%20b+c",
     "http://shop.test:8001/thanks?lang=en&q=a%20b+c&kopek_payment_id=pay_X&kopek_status=succeeded"),
    ("http://shop.test:8001/thanks#top",
     "http://shop.test:8001/thanks?kopek_payment_id=pay_X&kopek_status=succeeded#top"),
    ("http://localhost:3000/o/1?lang=en#top",
     "http://localhost:3000/o/1?lang=en&kopek_payment_id=pay_X&kopek_status=succeeded#top"),
    ("http://shop.test:8001/t?kopek_status=forged&x=1&kopek_payment_id=pay_other",
     "http://shop.test:8001/t?x=1&kopek_payment_id=pay_X&kopek_status=succeeded"),
    ("http://shop.test:8001/t?#a?b=c",
     "http://shop.test:8001/t?kopek_payment_id=pay_X&kopek_status=succeeded#a?b=c"),
])
def test_return_url_keeps_the_shops_query_and_fragment(return_url, expected):
    assert return_url_for(return_url, "pay_X", "succeeded") == expected


async def test_return_route_sends_a_paid_shopper_back_with_id_and_status(kopek):
    payment = await kopek.create_payment(order_id="H-6", return_url="http://shop.test:8001/orders/6?lang=en#top")
    await pay(kopek, payment)
    response = await kopek.client.get(f"/pay/{payment['id']}/return", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == (
        f"http://shop.test:8001/orders/6?lang=en&kopek_payment_id={payment['id']}&kopek_status=succeeded#top")
    assert payment["client_secret"] not in response.headers["Location"]


@pytest.mark.parametrize(("return_url", "query"), [
    ("http://shop.test:8001/r", "?kopek_payment_id={id}&kopek_status=canceled"),
    ("http://shop.test:8001/r?a=1", "?a=1&kopek_payment_id={id}&kopek_status=canceled"),
    ("http://shop.test:8001/r#f", "?kopek_payment_id={id}&kopek_status=canceled#f"),
    ("http://shop.test:8001/r?a=1#f", "?a=1&kopek_payment_id={id}&kopek_status=canceled#f"),
])
async def test_return_route_builds_the_url_for_every_shape(kopek, return_url, query):
    payment = await kopek.create_payment(order_id="H-7", return_url=return_url)
    await cancel(kopek, payment)
    response = await kopek.client.get(f"/pay/{payment['id']}/return", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "http://shop.test:8001/r" + query.format(id=payment["id"])


async def test_return_route_refuses_a_payment_that_is_not_finished(kopek):
    payment = await kopek.create_payment(order_id="H-8", return_url="http://shop.test:8001/r")
    await attempt(kopek, payment, SUCCEEDS)  # now requires_confirmation
    response = await kopek.client.get(f"/pay/{payment['id']}/return", allow_redirects=False)
    html = await response.text()
    assert response.status == 409 and "Location" not in response.headers
    assert "Payment not finished yet" in html and 'data-view="pending"' in html
    assert f'href="/pay/{payment["id"]}"' in html
    assert (await wait_for_status(kopek, payment, "requires_confirmation"))["status"] == "requires_confirmation"


async def test_return_route_without_a_return_url_shows_the_final_state(kopek):
    payment = await kopek.create_payment(order_id="H-9")
    await pay(kopek, payment)
    response = await kopek.client.get(f"/pay/{payment['id']}/return", allow_redirects=False)
    html = await response.text()
    assert response.status == 200 and "Location" not in response.headers
    assert "Payment successful" in html and "5.00 RUB paid." in html and 'id="back-to-shop"' not in html
