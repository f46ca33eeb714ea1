"""Dashboard settings: API keys and rolling them, widget origins (and the checkout frame's CSP),
the check URL (and the SSRF guard on a live server), wallets and fee plans. Each test acts as a
member through the dashboard's forms and looks where a shop would: the page, the API, the frame."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kopek import keys
from kopek.ids import hash_secret
from kopek.merchants import roll_api_key
from kopek.providers.registry import PLUGINS
from kopek.settings import Settings
from kopek.web.dashboard.filters import when
from support import SUCCEEDS, attempt, make_settings

KEYS, ORIGINS, CHECK, WALLETS = ("/dashboard/settings/keys", "/dashboard/settings/origins",
                                 "/dashboard/settings/check", "/dashboard/settings/wallets")
SHOP = "https://shop.example"


@pytest.fixture
def kopek_settings(request: pytest.FixtureRequest, tmp_path: Path, unused_tcp_port: int,
                   monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A sandbox server, or a live one for tests marked with `live_server`."""
    if getattr(request, "param", "sandbox") == "sandbox":
        return make_settings(tmp_path, unused_tcp_port)
    for name, value in _root_conftest(request).LIVE_ENV.items():
        monkeypatch.setenv(name, value)
    return make_settings(tmp_path, unused_tcp_port, mode="live",
                         provider_urls={w: f"https://{w}.provider.example" for w in PLUGINS})


live_server = pytest.mark.parametrize("kopek_settings", ["live"], indirect=True)


def _root_conftest(request: pytest.FixtureRequest) -> Any:
    """tests/conftest.py, whose live fixture's environment we reuse. (`import conftest` would be
    ambiguous: this folder has a conftest.py too.)"""
    return request.config.pluginmanager.getplugin(str(request.config.rootpath / "tests" / "conftest.py"))


async def api(kopek: Any, key: str, method: str, path: str, **kwargs: Any) -> Any:
    return await kopek.client.request(method, path, headers={"Authorization": f"Bearer {key}"}, **kwargs)


async def api_status(kopek: Any, key: str) -> int:
    response = await api(kopek, key, "GET", "/v1/merchant")
    await response.read()
    return response.status


async def merchant_id(kopek: Any, owner: Any) -> str:
    return (await (await api(kopek, owner.keys["sk-test"], "GET", "/v1/merchant")).json())["id"]


async def working_keys(kopek: Any, owner: Any) -> list[Any]:
    return await kopek.app[keys.STORE].working_api_keys(await merchant_id(kopek, owner))


async def roll(visitor: Any, kind: str = "secret", mode: str = "test", overlap: str = "0") -> Any:
    await visitor.get(KEYS)
    return await visitor.post(KEYS + "/roll", {"kind": kind, "mode": mode, "overlap": overlap})


def new_key(page: Any) -> str:
    return page.find(r'<code id="new-key" class="secret">([^<]+)</code>')


# -- keys ----------------------------------------------------------------------------------

async def test_settings_opens_on_the_keys_page(owner):
    page = await owner.get("/dashboard/settings")
    assert page.status == 200 and page.url.path == KEYS
    assert 'aria-current="page">API keys' in page.text


async def test_the_keys_page_shows_hints_of_both_modes_never_the_keys(kopek, owner):
    page = await owner.get(KEYS)
    assert page.status == 200 and "Test keys" in page.text and "Live keys" in page.text
    for key in await working_keys(kopek, owner):
        assert key.hint in page.text
    assert not any(token in page.text for token in owner.keys.values())
    assert "expires" not in page.text


async def test_rolling_a_secret_key_now_stops_the_old_one_at_once(kopek, owner):
    page = await roll(owner, overlap="0")
    assert page.status == 201 and "it will not be shown again" in page.text
    assert "The previous key has stopped working." in page.text
    token = new_key(page)
    assert token.startswith("sk_test_") and 'data-copy="#new-key"' in page.text
    assert await api_status(kopek, token) == 200
    assert await api_status(kopek, owner.keys["sk-test"]) == 401
    keys_page = await owner.get(KEYS)
    assert token not in keys_page.text and f"{token[:8]}…{token[-4:]}" in keys_page.text


async def test_rolling_with_an_overlap_keeps_the_old_key_until_it_expires(kopek, owner):
    page = await roll(owner, overlap="3600")
    token = new_key(page)
    assert await api_status(kopek, token) == 200
    assert await api_status(kopek, owner.keys["sk-test"]) == 200
    old = [k for k in await working_keys(kopek, owner) if k.kind == "secret" and not k.livemode and k.expires_at]
    assert len(old) == 1 and f"<code>{old[0].hint}</code> {when(old[0].expires_at)}" in page.text
    keys_page = await owner.get(KEYS)
    assert f"expires {when(old[0].expires_at)}" in keys_page.text
    assert token not in keys_page.text


async def test_rolling_a_publishable_key_moves_the_payment_buttons_to_it(kopek, owner):
    created = await api(kopek, owner.keys["sk-test"], "POST", "/v1/buttons",
                        json={"amount": 100, "currency": "RUB", "description": "An e-book"})
    button = (await created.json())["id"]
    page = await roll(owner, kind="publishable", overlap="0")
    token = new_key(page)
    assert page.status == 201 and token.startswith("pk_test_")
    assert (await kopek.client.get(f"/b/{button}", params={"pk": token})).status == 200
    assert (await kopek.client.get(f"/b/{button}", params={"pk": owner.keys["pk-test"]})).status == 403


async def test_rolling_a_live_key_leaves_the_test_keys_alone(kopek, owner):
    page = await roll(owner, mode="live", overlap="86400")
    assert page.status == 201 and new_key(page).startswith("sk_live_")
    assert await api_status(kopek, owner.keys["sk-test"]) == 200
    test_keys = [k for k in await working_keys(kopek, owner) if not k.livemode]
    assert len(test_keys) == 2 and not any(k.expires_at for k in test_keys)


@pytest.mark.parametrize("form", [
    {"kind": "master", "mode": "test", "overlap": "0"}, {"kind": "secret", "mode": "prod", "overlap": "0"},
    {"kind": "secret", "mode": "test", "overlap": "60"}, {"kind": "secret", "mode": "test", "overlap": "-1"},
    {"kind": "secret", "mode": "test", "overlap": "1e9"}, {"kind": "secret", "mode": "test"},
    {"kind": "secret", "mode": "test", "overlap": "0", "colour": "red"},
    [("kind", "secret"), ("kind", "publishable"), ("mode", "test"), ("overlap", "0")]])
async def test_bad_roll_values_are_refused_and_change_nothing(kopek, owner, form):
    before = await working_keys(kopek, owner)
    await owner.get(KEYS)
    page = await owner.post(KEYS + "/roll", form)
    assert page.status == 400 and 'class="alert alert-error"' in page.text and 'id="new-key"' not in page.text
    assert await working_keys(kopek, owner) == before


async def test_a_viewer_sees_the_keys_but_cannot_roll_them(kopek, owner, viewer):
    before = await working_keys(kopek, owner)
    page = await viewer.get(KEYS)
    assert page.status == 200 and before[0].hint in page.text
    assert "/dashboard/settings/keys/roll" not in page.text
    refused = await viewer.post(KEYS + "/roll", {"kind": "secret", "mode": "test", "overlap": "0"})
    assert refused.status == 403 and "your role is viewer" in refused.text
    assert await working_keys(kopek, owner) == before


@pytest.mark.parametrize("csrf", [{"with_csrf": False}, {"csrf": "forged"}])
async def test_a_roll_without_the_forms_token_is_refused(kopek, owner, csrf):
    before = await working_keys(kopek, owner)
    await owner.get(KEYS)
    page = await owner.post(KEYS + "/roll", {"kind": "secret", "mode": "test", "overlap": "0"}, **csrf)
    assert page.status == 403 and 'id="new-key"' not in page.text
    assert await working_keys(kopek, owner) == before and await api_status(kopek, owner.keys["sk-test"]) == 200


async def test_roll_api_key_overlap_zero_stops_the_old_key_and_the_list_shows_expiry(kopek):
    store, merchant = kopek.app[keys.STORE], kopek.merchant.merchant
    record, token = await roll_api_key(store, merchant.id, "secret", False, 0)
    assert await store.find_api_key(hash_secret(kopek.merchant.secret_key)) is None
    assert (await store.find_api_key(hash_secret(token))).id == record.id
    _, later = await roll_api_key(store, merchant.id, "secret", False, 600)
    newest, previous = [k for k in await store.working_api_keys(merchant.id) if k.kind == "secret" and not k.livemode]
    assert newest.hint == f"{later[:8]}…{later[-4:]}" and newest.expires_at is None
    assert previous.id == record.id and previous.expires_at is not None
    with pytest.raises(ValueError):
        await roll_api_key(store, merchant.id, "secret", False, 8 * 24 * 3600)


# -- origins -------------------------------------------------------------------------------

async def frame_status_and_ancestors(kopek: Any, payment: dict[str, Any], origin: str) -> tuple[int, str]:
    response = await kopek.client.get(f"/v1/checkout/{payment['id']}/frame", params={"origin": origin})
    await response.read()
    csp = response.headers.get("Content-Security-Policy", "")
    ancestors = next((part for part in csp.split("; ") if part.startswith("frame-ancestors")), "")
    return response.status, ancestors


async def add_origin(visitor: Any, origin: str) -> Any:
    await visitor.get(ORIGINS)
    return await visitor.post(ORIGINS, {"origin": origin})


async def test_an_added_origin_may_frame_the_checkout_at_once_and_a_removed_one_not(kopek, owner):
    created = await api(kopek, owner.keys["sk-test"], "POST", "/v1/payments",
                        json={"amount": 500, "currency": "RUB", "order_id": "frame-1"})
    payment = await created.json()
    assert (await frame_status_and_ancestors(kopek, payment, SHOP))[0] == 403
    page = await add_origin(owner, "https://Shop.Example:443/")
    assert page.status == 200 and "https://shop.example may now show the checkout." in page.text
    assert "<code>https://shop.example</code>" in page.text
    status, ancestors = await frame_status_and_ancestors(kopek, payment, SHOP)
    assert status == 200 and SHOP in ancestors.split()
    page = await owner.post(ORIGINS + "/remove", {"origin": SHOP})
    assert page.status == 200 and "<code>https://shop.example</code>" not in page.text
    assert (await frame_status_and_ancestors(kopek, payment, SHOP))[0] == 403


async def test_adding_an_origin_twice_is_harmless(kopek, owner):
    await add_origin(owner, SHOP)
    page = await add_origin(owner, SHOP + "/")
    assert page.status == 200 and "was already on the list" in page.text
    merchant = await (await api(kopek, owner.keys["sk-test"], "GET", "/v1/merchant")).json()
    assert merchant["origins"] == [SHOP]


@pytest.mark.parametrize("value, reason", [
    ("https://shop.example/path", "no path"), ("javascript:alert(1)", "http(s)://host"),
    ("shop.example", "http(s)://host"), ("https://user@x.example", "credentials"),
    ("https://shop.example?q=1", "no path, query"), ("https://shop.example:99999", "not a valid origin"),
    ("https://" + "a" * 300 + ".example", "Longer than maximum length"), ("", "Missing data"),
])
async def test_a_bad_origin_is_refused_with_the_reason_and_nothing_is_stored(kopek, owner, value, reason):
    page = await add_origin(owner, value)
    assert page.status == 400 and reason in page.text and 'id="e-origin"' in page.text
    merchant = await (await api(kopek, owner.keys["sk-test"], "GET", "/v1/merchant")).json()
    assert merchant["origins"] == []


async def test_removing_an_origin_that_is_not_there_is_404(owner):
    await add_origin(owner, SHOP)
    page = await owner.post(ORIGINS + "/remove", {"origin": "https://other.example"})
    assert page.status == 404
    assert (await owner.post(ORIGINS + "/remove", {})).status == 400
    assert "<code>https://shop.example</code>" in (await owner.get(ORIGINS)).text


async def test_a_viewer_sees_the_origins_but_cannot_change_them(kopek, owner, viewer):
    await add_origin(owner, SHOP)
    page = await viewer.get(ORIGINS)
    assert page.status == 200 and "<code>https://shop.example</code>" in page.text
    assert 'action="/dashboard/settings/origins' not in page.text
    assert (await viewer.post(ORIGINS, {"origin": "https://evil.example"})).status == 403
    assert (await viewer.post(ORIGINS + "/remove", {"origin": SHOP})).status == 403
    merchant = await (await api(kopek, owner.keys["sk-test"], "GET", "/v1/merchant")).json()
    assert merchant["origins"] == [SHOP]


# -- the check URL -------------------------------------------------------------------------

async def set_check(visitor: Any, **form: str) -> Any:
    await visitor.get(CHECK)
    return await visitor.post(CHECK, form)


async def test_setting_and_clearing_the_check_url(kopek, owner, viewer):
    page = await set_check(owner, check_url="http://localhost:9/check", check_on_timeout="refuse")
    assert page.status == 200 and "The check URL is saved." in page.text
    merchant = await (await api(kopek, owner.keys["sk-test"], "GET", "/v1/merchant")).json()
    assert (merchant["check_url"], merchant["check_on_timeout"]) == ("http://localhost:9/check", "refuse")
    secret = page.find(r'<code id="check-secret" class="secret">([^<]+)<')
    assert secret.startswith("whsec_") and secret not in (await viewer.get(CHECK)).text
    page = await owner.post(CHECK, {})
    assert page.status == 200 and "The check is off." in page.text and 'id="check-secret"' not in page.text
    merchant = await (await api(kopek, owner.keys["sk-test"], "GET", "/v1/merchant")).json()
    assert (merchant["check_url"], merchant["check_on_timeout"]) == (None, "refuse")


@pytest.mark.parametrize("form, reason", [
    ({"check_url": "ftp://shop.example/check"}, "The URL must start with http:// or https://."),
    ({"check_url": "https://" + "a" * 2050 + ".example"}, "The URL is longer than 2048 characters."),
    ({"check_url": "https://shop.example/check", "check_on_timeout": "maybe"}, "Must be one of"),
    ({"check_url": "https://shop.example/check", "colour": "red"}, "Unknown field"),
])
async def test_bad_check_settings_are_400_and_change_nothing(kopek, owner, form, reason):
    page = await set_check(owner, **form)
    assert page.status == 400 and reason in page.text
    merchant = await (await api(kopek, owner.keys["sk-test"], "GET", "/v1/merchant")).json()
    assert (merchant["check_url"], merchant["check_on_timeout"]) == (None, "allow")


async def test_a_viewer_cannot_set_the_check_url(kopek, owner, viewer):
    page = await set_check(viewer, check_url="https://shop.example/check")
    assert page.status == 403
    assert (await (await api(kopek, owner.keys["sk-test"], "GET", "/v1/merchant")).json())["check_url"] is None


@live_server
async def test_on_a_live_server_a_private_check_url_is_refused_with_the_reason(kopek, owner):
    for url in ("http://127.0.0.1/check", "http://10.0.0.5/check", "http://[::1]/check", "http://[fec0::1]/check",
                "http://[2002:7f00:1::]/check", "http://[64:ff9b::7f00:1]/check"):
        page = await set_check(owner, check_url=url)
        assert page.status == 400 and "a private or reserved address" in page.text, url
    page = await set_check(owner, check_url="http://2130706433/check")
    assert page.status == 400 and "four decimal numbers" in page.text
    merchant = await (await api(kopek, owner.keys["sk-live"], "GET", "/v1/merchant")).json()
    assert merchant["check_url"] is None
    page = await set_check(owner, check_url="https://93.184.216.34/check")
    assert page.status == 200 and "The check URL is saved." in page.text


# -- wallets and fee plans -----------------------------------------------------------------

async def test_a_disabled_wallet_is_off_in_the_api_and_no_payment_can_use_it(kopek, owner):
    await owner.get(WALLETS)
    page = await owner.post(WALLETS + "/webmoney/enabled", {"enabled": "false"})
    assert page.status == 200 and page.find(r'id="wallet-webmoney-state">([^<]+)<') == "off"
    key = owner.keys["sk-test"]
    wallets = (await (await api(kopek, key, "GET", "/v1/wallets")).json())["data"]
    assert {w["id"]: w["enabled"] for w in wallets}["webmoney"] is False
    refused = await api(kopek, key, "POST", "/v1/payments",
                        json={"amount": 500, "currency": "RUB", "order_id": "w-1", "wallets": ["webmoney"]})
    assert refused.status == 400 and (await refused.json())["error"]["code"] == "wallet_disabled"
    payment = await (await api(kopek, key, "POST", "/v1/payments",
                               json={"amount": 500, "currency": "RUB", "order_id": "w-2"})).json()
    assert (await attempt(kopek, payment, SUCCEEDS)).status == 400
    page = await owner.post(WALLETS + "/webmoney/enabled", {"enabled": "true"})
    assert page.find(r'id="wallet-webmoney-state">([^<]+)<') == "on"


async def test_the_wallets_page_names_wallets_in_the_members_language(owner):
    page = await owner.get(WALLETS, locale="ru")
    assert page.status == 200 and "Кошельки и комиссии" in page.text and "WebMoney" in page.text
    assert "1.5 % + 0" in page.text


async def test_a_fee_plan_set_on_sandbox_shows_in_the_api(kopek, owner):
    await owner.get(WALLETS)
    page = await owner.post(WALLETS + "/webmoney/fee_plan",
                            {"percent": "2,35", "fixed": "10", "minimum": "20", "maximum": ""})
    assert page.status == 200 and "2.35 % + 10" in page.text
    plans = (await (await api(kopek, owner.keys["sk-test"], "GET", "/v1/fee_plans")).json())["data"]
    assert {p["wallet"]: (p["basis_points"], p["fixed"], p["minimum"], p["maximum"], p["default"])
            for p in plans}["webmoney"] == (235, 10, 20, None, False)


@pytest.mark.parametrize("form, field, reason", [
    ({"percent": "abc", "fixed": "0", "minimum": "0"}, "percent", "A percentage from 0 to 100"),
    ({"percent": "100.5", "fixed": "0", "minimum": "0"}, "percent", "A percentage from 0 to 100"),
    ({"percent": "1.555", "fixed": "0", "minimum": "0"}, "percent", "at most two decimals"),
    ({"percent": "-1", "fixed": "0", "minimum": "0"}, "percent", "A percentage"),
    ({"percent": "1", "fixed": "-1", "minimum": "0"}, "fixed", "greater than or equal to 0"),
    ({"percent": "1", "fixed": "1.5", "minimum": "0"}, "fixed", "Not a valid integer"),
    ({"percent": "1", "fixed": "0", "minimum": "0", "maximum": "9" * 13}, "maximum", "less than or equal to"),
    ({"percent": "1", "fixed": "0", "minimum": "50", "maximum": "10"}, "maximum", "below the minimum"),
    ({"percent": "1", "fixed": "0"}, "minimum", "Missing data"),
    ({"percent": "1", "fixed": "0", "minimum": "0", "basis": "5"}, "basis", "Unknown field"),
])
async def test_a_bad_fee_plan_is_400_and_changes_nothing(kopek, owner, form, field, reason):
    await owner.get(WALLETS)
    page = await owner.post(WALLETS + "/webmoney/fee_plan", form)
    assert page.status == 400 and reason in page.text
    if field != "basis":
        assert f'id="fee-webmoney-{field}-error"' in page.text
    plans = (await (await api(kopek, owner.keys["sk-test"], "GET", "/v1/fee_plans")).json())["data"]
    assert all(p["default"] for p in plans)


async def test_a_viewer_sees_wallets_without_forms_and_cannot_change_them(kopek, owner, viewer):
    page = await viewer.get(WALLETS)
    assert page.status == 200 and "/fee_plan" not in page.text and "/enabled" not in page.text
    assert (await viewer.post(WALLETS + "/webmoney/enabled", {"enabled": "false"})).status == 403
    assert (await viewer.post(WALLETS + "/webmoney/fee_plan",
                              {"percent": "9", "fixed": "0", "minimum": "0"})).status == 403
    wallets = (await (await api(kopek, owner.keys["sk-test"], "GET", "/v1/wallets")).json())["data"]
    assert all(w["enabled"] for w in wallets)


async def test_an_unknown_wallet_or_switch_value_changes_nothing(kopek, owner):
    await owner.get(WALLETS)
    assert (await owner.post(WALLETS + "/paypal/enabled", {"enabled": "false"})).status == 404
    assert (await owner.post(WALLETS + "/webmoney/enabled", {"enabled": "maybe"})).status == 400
    wallets = (await (await api(kopek, owner.keys["sk-test"], "GET", "/v1/wallets")).json())["data"]
    assert all(w["enabled"] for w in wallets)


@live_server
async def test_on_a_live_server_fee_plans_are_read_only(kopek, owner):
    page = await owner.get(WALLETS)
    assert page.status == 200 and "Fee plans are set by the Kopek operator." in page.text
    assert "/fee_plan" not in page.text and "/enabled" in page.text
    page = await owner.post(WALLETS + "/webmoney/fee_plan", {"percent": "9", "fixed": "0", "minimum": "0"})
    assert page.status == 403 and "set by the Kopek operator" in page.text
    plans = (await (await api(kopek, owner.keys["sk-live"], "GET", "/v1/fee_plans")).json())["data"]
    assert all(p["default"] for p in plans)


# -- query strings -------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/dashboard/settings", KEYS, ORIGINS, CHECK, WALLETS])
@pytest.mark.parametrize("query", ["foo=1", "limit=-1", "locale=ru&foo=1"])
async def test_a_tampered_query_string_is_400(owner, path, query):
    page = await owner.get(f"{path}?{query}")
    assert page.status == 400 and 'id="message"' in page.text


@pytest.mark.parametrize("path", [KEYS, ORIGINS, CHECK, WALLETS])
async def test_the_language_switch_is_the_one_query_a_page_takes(owner, path):
    page = await owner.get(path, locale="ru")
    assert page.status == 200 and 'aria-label="Настройки"' in page.text


async def test_a_tampered_query_on_a_form_action_changes_nothing(kopek, owner):
    before = await working_keys(kopek, owner)
    await owner.get(KEYS)
    page = await owner.post(KEYS + "/roll?foo=1", {"kind": "secret", "mode": "test", "overlap": "0"})
    assert page.status == 400 and await working_keys(kopek, owner) == before

