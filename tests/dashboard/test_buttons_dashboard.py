"""The dashboard's payment buttons: created through the form with a price in major units, listed
with a snippet that works when a static page posts it, switched off and on, and every refusal."""

from __future__ import annotations

import html
import re
from typing import Any

import aiohttp
import pytest

BASE = "/dashboard/settings/buttons"
SNIPPET_RE = r'<pre class="snippet"><code id="snippet-(btn_\w+)">([^<]+)</code></pre>'
PDF = {"description": "PDF download", "amount": "5.00", "currency": "RUB"}


async def create(owner, **fields: Any):
    await owner.get(BASE)
    return await owner.post(BASE, {**PDF, **fields})


async def api_buttons(kopek, owner, key: str = "sk-test") -> list[dict[str, Any]]:
    response = await kopek.client.get("/v1/buttons", headers={"Authorization": f"Bearer {owner.keys[key]}"})
    return (await response.json())["data"]


def snippets(page) -> dict[str, str]:
    return {button_id: html.unescape(code) for button_id, code in re.findall(SNIPPET_RE, page.text)}


async def press(snippet: str) -> aiohttp.ClientResponse:
    """What a shopper's browser does on a static page: post the snippet's form, with no Kopek cookie."""
    action = re.search(r'<form action="([^"]+)" method="post">', snippet)[1]
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]+)">', snippet))
    async with aiohttp.ClientSession() as http:
        async with http.post(action, data=fields, allow_redirects=False,
                             headers={"Origin": "https://static.example"}) as response:
            await response.read()
            return response


async def switch(owner, button_id: str, active: str):
    await owner.get(BASE)
    return await owner.post(f"{BASE}/{button_id}/active", {"active": active})


# -- the happy path --------------------------------------------------------------------------

async def allow_origin(owner, origin: str) -> None:
    await owner.get("/dashboard/settings/origins")
    assert (await owner.post("/dashboard/settings/origins", {"origin": origin})).status == 200


async def test_a_button_made_with_the_form_sells_through_its_snippet(kopek, owner):
    await allow_origin(owner, "https://shop.example")
    page = await create(owner, return_url="https://shop.example/thanks", expires_in="86400", wallets="webmoney")
    assert page.status == 200 and page.url.path == BASE and "The button was created" in page.text
    [button] = await api_buttons(kopek, owner)
    assert (button["amount"], button["currency"], button["description"]) == (500, "RUB", "PDF download")
    assert button["wallets"] == ["webmoney"] and button["return_url"] == "https://shop.example/thanks"
    assert button["expires_at"] > button["created_at"] and button["active"] is True

    shown = snippets(page)
    assert shown == {button["id"]: button["snippet"]} and owner.keys["pk-test"] in shown[button["id"]]
    assert f'data-copy="#snippet-{button["id"]}"' in page.text
    card = page.find(rf'(<article id="button-{button["id"]}".*?</article>)')
    assert "PDF download" in card and "5.00 RUB" in card and "status-active" in card and "sk_" not in card

    response = await press(shown[button["id"]])
    assert response.status == 303, await response.text()
    payment_id = re.fullmatch(re.escape(kopek.base_url) + r"/pay/(pay_\w+)#pay_\w+_secret_\w+",
                              response.headers["Location"])[1]
    got = await kopek.client.get(f"/v1/payments/{payment_id}",
                                 headers={"Authorization": f"Bearer {owner.keys['sk-test']}"})
    payment = await got.json()
    assert (payment["amount"], payment["currency"], payment["metadata"]) == (500, "RUB", {"button": button["id"]})


async def test_switched_off_the_snippet_is_refused_and_on_again_it_sells(kopek, owner):
    await create(owner)
    [button] = await api_buttons(kopek, owner)
    page = await switch(owner, button["id"], "false")
    assert page.status == 200 and "The button is off" in page.text
    assert "status-off" in page.find(rf'(<article id="button-{button["id"]}".*?</article>)')
    assert (await api_buttons(kopek, owner))[0]["active"] is False

    refused = await press(button["snippet"])
    assert refused.status == 410 and "no longer active" in await refused.text()
    page = await switch(owner, button["id"], "true")
    assert page.status == 200 and "The button is on again." in page.text
    assert (await press(button["snippet"])).status == 303


@pytest.mark.parametrize("typed, minor", [("5", 500), ("5,50", 550), ("0.01", 1), ("1 000.5", 100050), ("10,5", 1050)])
async def test_the_price_is_typed_in_major_units(kopek, owner, typed, minor):
    page = await create(owner, amount=typed)
    assert page.status == 200, page.text
    [button] = await api_buttons(kopek, owner)
    assert (button["amount"], button["currency"]) == (minor, "RUB")


async def test_the_list_pages_and_shows_only_this_modes_buttons(kopek, owner):
    for name in ("First", "Second", "Third"):
        assert (await create(owner, description=name)).status == 200
    page = await owner.get(BASE, limit="2")
    assert "Third" in page.text and "Second" in page.text and "First" not in page.text
    older = page.find(r'<a href="\?([^"]+)" rel="next">')
    rest = await owner.get(BASE + "?" + older)
    assert "First" in rest.text and "Third" not in rest.text and 'rel="next"' not in rest.text

    await owner.post("/dashboard/mode", {"mode": "live", "next": BASE})
    assert "No buttons yet." in owner.last.text and snippets(owner.last) == {}
    assert "Кнопки оплаты" in (await owner.get(BASE, locale="ru")).text


# -- bad input -------------------------------------------------------------------------------

@pytest.mark.parametrize("fields, field, message", [
    ({"amount": "abc"}, "amount", "Type an amount such as 5 or 5.00"),
    ({"amount": "5.001"}, "amount", "At most 2 digits after the decimal point"),
    ({"amount": "-5"}, "amount", "Type an amount such as 5 or 5.00"),
    ({"amount": "1e3"}, "amount", "Type an amount such as 5 or 5.00"),
    ({"amount": "0"}, "amount", "Must be more than 0"),
    ({"amount": "0.00"}, "amount", "Must be more than 0"),
    ({"amount": "99999999999.00"}, "amount", "Too large"),
    ({"amount": "999999.00"}, "amount", "no wallet accepts"),
    ({"amount": ""}, "amount", "Missing data"),
    ({"currency": "XXX"}, "currency", "Unknown currency"),
    ({"currency": ""}, "currency", "Missing data"),
    ({"description": ""}, "description", "Missing data"),
    ({"description": "x" * 501}, "description", "Length must be between 1 and 500"),
    ({"return_url": "javascript:alert(1)"}, "return_url", "Not a valid URL"),
    ({"expires_in": "5"}, "expires_in", "greater than or equal to 60"),
    ({"expires_in": "soon"}, "expires_in", "Not a valid integer"),
    ({"wallets": "nope"}, "wallets", "unknown wallet"),
    ({"color": "red"}, "color", "Unknown field"),
])
async def test_bad_input_is_400_and_creates_nothing(kopek, owner, fields, field, message):
    page = await create(owner, **fields)
    assert page.status == 400, page.text
    summary = page.find(r'<div class="alert alert-error" role="alert">(.*?)</div>')
    assert field in summary and message in summary, summary
    assert await api_buttons(kopek, owner) == []
    if field in ("description", "amount", "return_url"):
        assert page.find(rf'id="e-{field}">([^<]+)<')


async def test_bad_switch_forms_and_query_strings_are_400(kopek, owner):
    await create(owner)
    [button] = await api_buttons(kopek, owner)
    for data in ({"active": "maybe"}, {}, {"active": "false", "extra": "1"}):
        await owner.get(BASE)
        page = await owner.post(f"{BASE}/{button['id']}/active", data)
        assert page.status == 400 and "Nothing was changed" in page.text, data
    assert (await api_buttons(kopek, owner))[0]["active"] is True
    for params in ({"foo": "1"}, {"limit": "-1"}, {"limit": "0"}, {"limit": "x"}, {"starting_after": "x"},
                   {"locale": "xx"}):
        assert (await owner.get(BASE, **params)).status == 400, params
    assert (await owner.get(BASE, starting_after="btn_doesnotexist")).status == 404


async def test_other_merchants_buttons_and_unknown_ids_are_404(kopek, owner, visitors):
    await create(owner)
    [button] = await api_buttons(kopek, owner)
    stranger = visitors()
    await stranger.sign_up("stranger@other.test", shop_name="Other shop")
    assert button["id"] not in (await stranger.get(BASE)).text
    for target in (button["id"], "btn_doesnotexist"):
        page = await stranger.post(f"{BASE}/{target}/active", {"active": "false"})
        assert page.status == 404, target
    assert (await api_buttons(kopek, owner))[0]["active"] is True


# -- who may do what ---------------------------------------------------------------------------

async def test_a_viewer_sees_the_snippets_but_cannot_create_or_switch(kopek, owner, viewer):
    await create(owner)
    [button] = await api_buttons(kopek, owner)
    page = await viewer.get(BASE)
    assert page.status == 200 and snippets(page) == {button["id"]: button["snippet"]}
    assert f'action="{BASE}' not in page.text and "Create a button" not in page.text

    for path, data in [(BASE, PDF), (f"{BASE}/{button['id']}/active", {"active": "false"})]:
        await viewer.get(BASE)
        refused = await viewer.post(path, data)
        assert refused.status == 403 and "your role is viewer" in refused.text, path
    assert await api_buttons(kopek, owner) == [button]


@pytest.mark.parametrize("csrf", [None, "", "forged-token"])
async def test_a_missing_or_wrong_csrf_token_is_403(kopek, owner, csrf):
    await create(owner)
    [button] = await api_buttons(kopek, owner)
    await owner.get(BASE)
    for path, data in [(BASE, PDF), (f"{BASE}/{button['id']}/active", {"active": "false"})]:
        page = await owner.post(path, data, with_csrf=csrf is not None, csrf=csrf)
        assert page.status == 403 and "did not come from your dashboard" in page.text, path
    assert await api_buttons(kopek, owner) == [button]


async def test_a_button_whose_return_url_is_off_the_allowed_origins_is_refused(kopek, owner):
    page = await create(owner, return_url="https://phish.example/thanks")
    assert page.status == 400 and "allowed origins" in page.text
    assert await api_buttons(kopek, owner) == []
