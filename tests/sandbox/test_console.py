"""The sandbox console (/sandbox): whose sandbox it is, the payment it starts, the scenario
picker, the phone panel, the payment state endpoint, and bad queries."""

from __future__ import annotations

import re

import pytest
from sandbox_steps import api, client_secret, open_console, payment_id, start_attempt, start_payment, stored_payment

from kopek import keys
from kopek.providers.registry import PLUGINS
from kopek.providers.sandbox.magic import MAGIC_ROWS
from support import XSS_ATTRIBUTE, XSS_SCRIPT, assert_shown_as_text


async def sandbox_payment_count(kopek) -> int:
    merchant_id = kopek.app[keys.SANDBOX_MERCHANT_ID]
    return len(await kopek.app[keys.STORE].list_payments(merchant_id=merchant_id, livemode=False, limit=1000))


async def test_anonymous_console_pays_into_the_sandbox_merchant_with_the_widget(kopek, visitors):
    page = await start_payment(visitors())
    nonce = re.search(r"'nonce-([^']+)'", page.headers["Content-Security-Policy"]).group(1)
    assert f'<script src="{kopek.base_url}/v1/kopek.js" nonce="{nonce}" data-client-secret="' in page.text
    assert f"frame-src {kopek.base_url};" in page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["Cache-Control"] == "no-store"
    payment = await stored_payment(kopek, payment_id(page))
    assert payment.merchant_id == kopek.app[keys.SANDBOX_MERCHANT_ID] and not payment.livemode
    assert (payment.amount, payment.currency) == (500, "RUB")
    assert page.find(r'id="console-merchant">([^<]+)<') == payment.merchant_id
    assert client_secret(page).startswith(payment.id + "_secret_")
    assert page.find(r'id="order-amount">([^<]+)<') == "5.00 RUB"


@pytest.mark.parametrize("started", [False, True])
async def test_console_page_is_one_accessible_document(visitors, started):
    visitor = visitors()
    page = await (start_payment(visitor) if started else open_console(visitor))
    assert page.text.count("<h1") == 1
    assert "style=" not in page.text
    visible_inputs = re.findall(r'<(?:input|select)(?![^>]*type="hidden")[^>]*\bid="([^"]+)"', page.text)
    assert visible_inputs, "the console has forms"
    for element_id in visible_inputs:
        assert f'<label for="{element_id}"' in page.text, element_id
    for script in re.findall(r"<script[^>]*>", page.text):
        assert "nonce=" in script, script


@pytest.mark.parametrize(("typed", "minor"), [("12.5", 1250), ("1,05", 105), ("0.01", 1), ("7", 700)])
async def test_the_amount_is_typed_in_roubles(kopek, visitors, typed, minor):
    page = await start_payment(visitors(), amount=typed)
    assert (await stored_payment(kopek, payment_id(page))).amount == minor


async def test_in_russian(visitors):
    visitor = visitors()
    page = await open_console(visitor, locale="ru")
    assert '<html lang="ru">' in page.text
    assert "Консоль разработчика" in page.text and "Что ввести в виджете" in page.text
    assert "Создать тестовый платёж" in page.text
    assert 'data-locale="ru"' in (await start_payment(visitor)).text


async def test_a_member_pays_into_their_own_merchant_in_test_mode(kopek, owner):
    page = await start_payment(owner, amount="3.00")
    pay_id = payment_id(page)
    mine = await kopek.client.get(f"/v1/payments/{pay_id}", headers=api(owner.keys["sk-test"]))
    assert mine.status == 200
    assert (await mine.json())["livemode"] is False and (await mine.json())["amount"] == 300
    theirs = await kopek.client.get(f"/v1/payments/{pay_id}", headers=kopek.auth())
    assert theirs.status == 404
    assert owner.keys["pk-test"] in page.text
    assert owner.keys["sk-test"] not in page.text, "a secret key is never shown again"
    assert page.find(r'id="key-secret-hint">([^<]+)<') == f"{owner.keys['sk-test'][:8]}…{owner.keys['sk-test'][-4:]}"


async def test_the_shops_name_and_its_api_payment_are_shown_as_text_never_markup(kopek, visitors):
    member = visitors()
    await member.sign_up("xss@shop.test", shop_name=f"Shop {XSS_SCRIPT}")
    description = f"Ebook {XSS_SCRIPT} {XSS_ATTRIBUTE}"
    created = await kopek.client.post("/v1/payments", headers=api(member.keys["sk-test"]), json={
        "amount": 500, "currency": "RUB", "order_id": f"C-{XSS_ATTRIBUTE}", "description": description,
        "metadata": {XSS_SCRIPT: XSS_ATTRIBUTE}})
    assert created.status == 201, await created.text()
    pay_id = (await created.json())["id"]
    page = await open_console(member, payment=pay_id)
    assert payment_id(page) == pay_id
    assert_shown_as_text(page.text, f"Shop {XSS_SCRIPT}", description)
    assert page.find(r'id="order-description">([^<]+)<') == description


async def test_a_viewer_also_pays_into_the_shop_they_belong_to(kopek, owner, viewer):
    page = await start_payment(viewer)
    mine = await kopek.client.get(f"/v1/payments/{payment_id(page)}", headers=api(owner.keys["sk-test"]))
    assert mine.status == 200


async def test_the_scenario_picker_shows_the_magic_details_to_type(visitors):
    visitor = visitors()
    for plugin in PLUGINS.values():
        for row in MAGIC_ROWS:
            page = await open_console(visitor, wallet=plugin.info.id, scenario=row.magic.value)
            assert page.find(r'id="magic-account" class="secret">([^<]+)<') == plugin.example_account(row.ending)
            assert page.find(r'id="scenario-outcome"><strong>[^<]+</strong> ([^<]+)<') == row.outcome_en
            assert f'<option value="{row.magic.value}" selected>' in page.text


@pytest.mark.parametrize(("wallet", "pin", "hint"), [
    ("webmoney", False, "sandbox phone panel"), ("yandex_dengi", False, "approve the payment"),
    ("eport", True, "PIN confirms"), ("kreditpilot", True, "PIN confirms")])
async def test_the_scenario_says_how_the_wallet_confirms(visitors, wallet, pin, hint):
    page = await open_console(visitors(), wallet=wallet, scenario="decline")
    assert hint in page.find(r'id="scenario-hint">([^<]+)<')
    assert ('id="magic-pin" class="secret">1234<' in page.text) is pin
    assert 'data-copy="#magic-account"' in page.text


@pytest.mark.parametrize("query", [
    {"amount": "abc"}, {"amount": "0"}, {"amount": "0.00"}, {"amount": "-1"}, {"amount": "1.234"},
    {"amount": "5e2"}, {"amount": "99999999"}, {"amount": "20000.00"}, {"wallet": "paypal"},
    {"scenario": "explode"}, {"scenario": "01"}, {"foo": "1"}, {"locale": "de"}, {"limit": "-1"},
])
async def test_a_bad_query_is_a_400_page_and_starts_nothing(kopek, visitors, query):
    visitor = visitors()
    token = (await open_console(visitor)).csrf()
    before = await sandbox_payment_count(kopek)
    page = await visitor.get("/sandbox", **query)
    assert page.status == 400, page.text
    assert 'data-status="400"' in page.text
    if "locale" not in query:   # the page's language is no field of the start form
        refused = await visitor.post("/sandbox/payments", query, csrf=token)
        assert refused.status == 400 and 'data-status="400"' in refused.text, refused.text
    assert await sandbox_payment_count(kopek) == before


async def test_a_repeated_parameter_is_refused(kopek, visitors):
    visitor = visitors()
    async with visitor.http.get(f"{kopek.base_url}/sandbox?amount=1.00&amount=2.00") as response:
        assert response.status == 400
        assert "amount: sent more than once" in await response.text()


async def test_the_phone_panel_gets_the_code_sent_for_this_payment(kopek, visitors):
    visitor = visitors()
    page = await start_payment(visitor)
    other = await start_payment(visitor)
    await start_attempt(kopek, other, "webmoney", {"account": "R100000000001"})
    started = await start_attempt(kopek, page, "webmoney", {"account": "R100000000001"})
    assert started["status"] == "requires_confirmation"
    response = await kopek.client.get("/sandbox/phone.json", params={"payment": payment_id(page)})
    messages = (await response.json())["data"]
    assert [m["payment_id"] for m in messages] == [payment_id(page)]
    assert re.fullmatch(r"\d{6}", messages[0]["code"])
    phone = await visitor.get("/sandbox/phone", payment=payment_id(page))
    assert phone.status == 200 and f'data-code="{messages[0]["code"]}"' in phone.text
    assert payment_id(other) not in phone.text
    assert f'href="/sandbox/phone?payment={payment_id(page)}"' in page.text


async def test_state_json_has_the_status_and_the_approval_link(kopek, visitors):
    visitor = visitors()
    page = await start_payment(visitor, wallet="yandex_dengi")
    url = f"/sandbox/payments/{payment_id(page)}/state.json"
    fresh = await (await visitor.http.get(kopek.base_url + url)).json()
    assert fresh == {"id": payment_id(page), "status": "requires_wallet", "next_action_type": None,
                     "next_action_url": None}
    await start_attempt(kopek, page, "yandex_dengi", {"wallet": "410010000000001"})
    async with visitor.http.get(kopek.base_url + url) as response:
        assert response.status == 200 and response.headers["Cache-Control"] == "no-store"
        state = await response.json()
    assert state["status"] == "requires_confirmation" and state["next_action_type"] == "approve_in_wallet"
    assert state["next_action_url"].startswith(f"{kopek.base_url}/sandbox/providers/yandex_dengi/")
    assert set(state) == {"id", "status", "next_action_type", "next_action_url"}, "no client secret, no details"


async def test_state_json_refuses_other_merchants_payments(kopek, visitors, owner):
    anonymous, stranger = visitors(), visitors()
    owners_payment = payment_id(await start_payment(owner))
    sandbox_payment = payment_id(await start_payment(anonymous))
    await open_console(stranger)
    api_payment = await kopek.create_payment()
    for visitor, pay_id in [(anonymous, owners_payment), (owner, sandbox_payment), (anonymous, api_payment["id"]),
                            (stranger, sandbox_payment), (owner, "pay_nothing")]:
        async with visitor.http.get(f"{kopek.base_url}/sandbox/payments/{pay_id}/state.json") as response:
            assert response.status == 404, pay_id
            assert (await response.json())["error"]["message"] == f"no such payment: {pay_id}"
    async with owner.http.get(f"{kopek.base_url}/sandbox/payments/{owners_payment}/state.json?x=1") as response:
        assert response.status == 400
