"""Payment buttons: the shop's API, the snippet, and what a shopper's press does."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta, timezone

import pytest

from kopek import keys
from kopek.app import create_app
from kopek.merchants import create_merchant
from kopek.settings import settings_from_env
from support import make_settings

pytestmark = pytest.mark.usefixtures("kopek")
PDF = {"amount": 500, "currency": "RUB", "description": "PDF download"}


async def create_button(kopek, **overrides):
    response = await kopek.client.post("/v1/buttons", json={**PDF, **overrides}, headers=kopek.auth())
    assert response.status == 201, await response.text()
    return await response.json()


async def press(kopek, button, pk=None, **kwargs):
    data = {} if pk is False else {"pk": kopek.merchant.publishable_key if pk is None else pk}
    return await kopek.client.post(f"/v1/buttons/{button['id']}/checkout", data=data, allow_redirects=False, **kwargs)


async def payment_behind(kopek, response):
    location = response.headers["Location"]
    match = re.fullmatch(re.escape(kopek.base_url) + r"/pay/(pay_\w+)#(pay_\w+_secret_[0-9a-f]{32})", location)
    assert match and match[2].startswith(match[1] + "_secret_"), location
    got = await kopek.client.get(f"/v1/payments/{match[1]}", headers=kopek.auth())
    return await got.json()


def assert_html_page(response, status):
    assert response.status == status
    assert response.content_type == "text/html"
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy and "script-src" not in policy


# -- the shop's API ------------------------------------------------------------------------

async def test_create_returns_the_button_with_a_snippet_for_a_static_page(kopek):
    button = await create_button(kopek, return_url="http://shop.test:8001/thanks?lang=en#top")
    pk = kopek.merchant.publishable_key
    assert button["id"].startswith("btn_") and button["object"] == "button"
    assert (button["amount"], button["currency"], button["description"]) == (500, "RUB", "PDF download")
    assert button["active"] is True and button["expires_at"] is None and button["livemode"] is False
    assert button["return_url"] == "http://shop.test:8001/thanks?lang=en#top"
    assert button["snippet"] == (
        f'<form action="{kopek.base_url}/v1/buttons/{button["id"]}/checkout" method="post">'
        f'<input type="hidden" name="pk" value="{pk}"><button type="submit">Pay 5.00 RUB</button></form>')
    assert button["url"] == f"{kopek.base_url}/b/{button['id']}?pk={pk}"
    assert "sk_" not in button["snippet"] and "sk_" not in button["url"]


async def test_get_list_and_retire(kopek):
    first = await create_button(kopek)
    second = await create_button(kopek, amount=100, description="Sticker", wallets=["webmoney"], expires_in=3600)
    assert second["wallets"] == ["webmoney"] and second["expires_at"] > second["created_at"]
    got = await (await kopek.client.get(f"/v1/buttons/{first['id']}", headers=kopek.auth())).json()
    assert got == first

    page = await (await kopek.client.get("/v1/buttons?limit=1", headers=kopek.auth())).json()
    assert [b["id"] for b in page["data"]] == [second["id"]] and page["has_more"] is True
    rest = await (await kopek.client.get(f"/v1/buttons?limit=1&starting_after={second['id']}",
                                         headers=kopek.auth())).json()
    assert [b["id"] for b in rest["data"]] == [first["id"]] and rest["has_more"] is False

    retired = await kopek.client.post(f"/v1/buttons/{first['id']}", json={"active": False}, headers=kopek.auth())
    assert retired.status == 200 and (await retired.json())["active"] is False
    again = await (await kopek.client.get(f"/v1/buttons/{first['id']}", headers=kopek.auth())).json()
    assert again["active"] is False


async def test_another_merchant_cannot_see_or_change_the_button(kopek):
    button = await create_button(kopek)
    other = await create_merchant(kopek.app[keys.STORE], "Other shop", [])
    auth = kopek.auth(other.secret_key)
    assert (await kopek.client.get(f"/v1/buttons/{button['id']}", headers=auth)).status == 404
    assert (await kopek.client.post(f"/v1/buttons/{button['id']}", json={"active": False}, headers=auth)).status == 404
    assert (await (await kopek.client.get("/v1/buttons", headers=auth)).json())["data"] == []
    assert (await (await kopek.client.get(f"/v1/buttons/{button['id']}", headers=kopek.auth())).json())["active"]


async def test_openapi_lists_the_button_operations(kopek):
    spec = await (await kopek.client.get("/v1/openapi.json")).json()
    assert set(spec["paths"]["/v1/buttons"]) == {"post", "get"}
    assert set(spec["paths"]["/v1/buttons/{id}"]) == {"post", "get"}
    assert "snippet" in spec["components"]["schemas"]["Button"]["properties"]


@pytest.mark.parametrize(("body", "param"), [
    ({**PDF, "amount": 0}, "amount"),
    ({**PDF, "amount": "500"}, "amount"),
    ({**PDF, "amount": 5.5}, "amount"),
    ({**PDF, "amount": True}, "amount"),
    ({**PDF, "amount": 10**13}, "amount"),
    ({**PDF, "currency": "XXX"}, "currency"),
    ({"amount": 500, "currency": "RUB"}, "description"),
    ({**PDF, "description": ""}, "description"),
    ({**PDF, "description": "x" * 501}, "description"),
    ({**PDF, "return_url": "javascript:alert(1)"}, "return_url"),
    ({**PDF, "return_url": "ftp://shop.example/x"}, "return_url"),
    ({**PDF, "expires_at": "2030-01-01T00:00:00"}, "expires_at"),
    ({**PDF, "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
    ({**PDF, "expires_at": "2999-01-01T00:00:00Z"}, "expires_at"),
    ({**PDF, "expires_at": "tomorrow"}, "expires_at"),
    ({**PDF, "expires_at": "2030-01-01T00:00:00Z", "expires_in": 3600}, "expires_at"),
    ({**PDF, "expires_in": 10}, "expires_in"),
    ({**PDF, "wallets": ["nope"]}, "wallets"),
    ({**PDF, "wallets": []}, "wallets"),
    ({**PDF, "currency": "GBP", "wallets": ["yandex_dengi"]}, "amount"),
    ({**PDF, "colour": "red"}, "colour"),
])
async def test_bad_input_is_a_400_naming_the_field(kopek, body, param):
    response = await kopek.client.post("/v1/buttons", json=body, headers=kopek.auth())
    error = (await response.json())["error"]
    assert response.status == 400, error
    assert error["param"] == param, error
    listed = await (await kopek.client.get("/v1/buttons", headers=kopek.auth())).json()
    assert listed["data"] == []


async def test_more_bad_requests(kopek):
    assert (await kopek.client.post("/v1/buttons", json=PDF)).status == 401
    not_json = await kopek.client.post("/v1/buttons", data="amount=500", headers={
        **kopek.auth(), "Content-Type": "application/x-www-form-urlencoded"})
    assert not_json.status == 400
    button = await create_button(kopek)
    for body in ({}, {"active": "no"}, {"active": 0}, {"active": False, "amount": 1}):
        response = await kopek.client.post(f"/v1/buttons/{button['id']}", json=body, headers=kopek.auth())
        assert response.status == 400, body
    assert (await kopek.client.get("/v1/buttons?limit=0", headers=kopek.auth())).status == 400
    assert (await kopek.client.get("/v1/buttons?limit=101", headers=kopek.auth())).status == 400
    assert (await kopek.client.get("/v1/buttons?starting_after=btn_nothere", headers=kopek.auth())).status == 404
    assert (await kopek.client.get("/v1/buttons/btn_nothere", headers=kopek.auth())).status == 404


async def test_expires_at_is_stored_in_utc(kopek):
    moment = datetime.now(timezone(timedelta(hours=3))) + timedelta(days=2)
    button = await create_button(kopek, expires_at=moment.isoformat())
    assert button["expires_at"] == moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# -- the shopper's press -------------------------------------------------------------------

async def test_each_press_creates_a_fresh_payment_and_goes_to_its_hosted_page(kopek):
    button = await create_button(kopek, return_url="http://shop.test:8001/thanks", wallets=["webmoney"])
    first, second = await press(kopek, button), await press(kopek, button)
    assert first.status == second.status == 303
    assert first.headers["Cache-Control"] == "no-store"
    one, two = await payment_behind(kopek, first), await payment_behind(kopek, second)
    assert one["id"] != two["id"] and one["order_id"] != two["order_id"]
    for payment in (one, two):
        assert payment["order_id"].startswith(button["id"] + "-")
        assert (payment["amount"], payment["currency"], payment["description"]) == (500, "RUB", "PDF download")
        assert payment["return_url"] == "http://shop.test:8001/thanks"
        assert payment["metadata"] == {"button": button["id"]}
        assert payment["status"] == "requires_wallet"
    checkout = await kopek.client.get(f"/v1/checkout/{one['id']}", headers=kopek.checkout_headers(one))
    assert [w["id"] for w in (await checkout.json())["wallets"]] == ["webmoney"]


async def test_wrong_or_missing_publishable_key_is_a_403_page(kopek):
    button = await create_button(kopek)
    other = await create_merchant(kopek.app[keys.STORE], "Other shop", [])
    for pk in (False, "", "pk_test_nothing", other.publishable_key, kopek.merchant.live_publishable_key,
               kopek.merchant.secret_key):
        response = await press(kopek, button, pk=pk)
        assert_html_page(response, 403)
        assert "not set up correctly" in await response.text()
        link = await kopek.client.get(f"/b/{button['id']}", params={"pk": pk or ""})
        assert_html_page(link, 403)
    listed = await (await kopek.client.get("/v1/payments", headers=kopek.auth())).json()
    assert listed["data"] == []


async def test_unknown_button_is_a_404_page(kopek):
    for response in (await kopek.client.post("/v1/buttons/btn_nothere/checkout", data={"pk": "pk_test_x"}),
                     await kopek.client.get("/b/btn_nothere?pk=pk_test_x")):
        assert_html_page(response, 404)
        assert "no such payment button" in (await response.text())


async def test_a_retired_button_is_a_410_page_until_it_is_reactivated(kopek):
    button = await create_button(kopek)
    await kopek.client.post(f"/v1/buttons/{button['id']}", json={"active": False}, headers=kopek.auth())
    response = await press(kopek, button)
    assert_html_page(response, 410)
    assert "no longer active" in await response.text()
    assert_html_page(await kopek.client.get(button["url"].removeprefix(kopek.base_url)), 410)
    ru = await press(kopek, button, headers={"Accept-Language": "ru"})
    assert "больше не действует" in await ru.text()
    assert (await (await kopek.client.get("/v1/payments", headers=kopek.auth())).json())["data"] == []

    await kopek.client.post(f"/v1/buttons/{button['id']}", json={"active": True}, headers=kopek.auth())
    assert (await press(kopek, button)).status == 303


async def test_an_expired_button_is_a_410_page(kopek):
    soon = datetime.now(timezone.utc) + timedelta(seconds=1)
    button = await create_button(kopek, expires_at=soon.isoformat())
    assert (await press(kopek, button)).status == 303
    await asyncio.sleep(max(0.0, (soon - datetime.now(timezone.utc)).total_seconds()) + 0.05)
    response = await press(kopek, button)
    assert_html_page(response, 410)
    assert "no longer active" in await response.text()


async def test_presses_are_rate_limited_per_ip_with_retry_after(kopek):
    kopek.app[keys.BUTTON_CHECKOUTS_PER_IP].limit = 3
    button = await create_button(kopek)
    assert [(await press(kopek, button)).status for _ in range(3)] == [303, 303, 303]
    limited = await press(kopek, button)
    assert_html_page(limited, 429)
    assert 1 <= int(limited.headers["Retry-After"]) <= 61
    assert "Wait a minute" in await limited.text()
    # Presses with a wrong key count too: guessing keys is no way around the limit.
    assert (await press(kopek, button, pk="pk_test_guess")).status == 429
    listed = await (await kopek.client.get("/v1/payments", headers=kopek.auth())).json()
    assert len(listed["data"]) == 3


async def test_presses_are_rate_limited_per_button(kopek):
    kopek.app[keys.BUTTON_CHECKOUTS_PER_BUTTON].limit = 2
    busy, quiet = await create_button(kopek), await create_button(kopek, description="Other")
    assert [(await press(kopek, busy)).status for _ in range(3)] == [303, 303, 429]
    assert (await press(kopek, quiet)).status == 303


def test_rate_limits_come_from_settings(tmp_path):
    settings = settings_from_env({"KOPEK_BUTTON_CHECKOUTS_PER_IP_PER_MIN": "7",
                                  "KOPEK_BUTTON_CHECKOUTS_PER_BUTTON_PER_MIN": "9"})
    assert (settings.button_checkouts_per_ip_per_min, settings.button_checkouts_per_button_per_min) == (7, 9)
    app = create_app(make_settings(tmp_path, 0, button_checkouts_per_ip_per_min=7,
                                   button_checkouts_per_button_per_min=9))
    assert app[keys.BUTTON_CHECKOUTS_PER_IP].limit == 7 and app[keys.BUTTON_CHECKOUTS_PER_BUTTON].limit == 9


async def test_a_press_that_no_wallet_can_take_is_a_400_page_not_a_500(kopek):
    button = await create_button(kopek, wallets=["webmoney"])
    disabled = await kopek.client.post("/v1/wallets/webmoney", json={"enabled": False}, headers=kopek.auth())
    assert disabled.status == 200
    response = await press(kopek, button)
    assert_html_page(response, 400)
    assert "disabled" in await response.text()


async def test_a_form_post_that_is_not_a_form_still_gets_a_page(kopek):
    button = await create_button(kopek)
    response = await kopek.client.post(f"/v1/buttons/{button['id']}/checkout", json={"pk": kopek.merchant.publishable_key})
    assert_html_page(response, 403)
    huge = await kopek.client.post(f"/v1/buttons/{button['id']}/checkout", data={"pk": "x" * 70_000})
    assert_html_page(huge, 413)


async def test_the_link_page_shows_one_button_that_posts_to_the_checkout(kopek):
    button = await create_button(kopek)
    response = await kopek.client.get(button["url"].removeprefix(kopek.base_url))
    html = await response.text()
    assert_html_page(response, 200)
    assert "form-action 'self'" in response.headers["Content-Security-Policy"]
    assert "Test shop" in html and "PDF download" in html and "5.00 RUB" in html
    assert f'<form action="/v1/buttons/{button["id"]}/checkout" method="post"' in html
    assert f'name="pk" value="{kopek.merchant.publishable_key}"' in html
    assert ">Pay 5.00 RUB</button>" in html and "<script" not in html
    assert (await kopek.client.get("/v1/payments", headers=kopek.auth())).status == 200
    assert (await (await kopek.client.get("/v1/payments", headers=kopek.auth())).json())["data"] == []
