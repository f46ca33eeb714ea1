"""The dashboard's webhook settings: endpoints, the secret shown once, test events a real receiver
verifies with `standardwebhooks`, redelivery, rotation, disable, delete, the SSRF guard on a live
server, and every refusal (viewers, CSRF, other merchants, bad input)."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import aiohttp
import pytest
import standardwebhooks

from dashboard.conftest import Visitor, operator_made_owner
from kopek import keys
from kopek.merchants import create_merchant
from support import make_settings
from webhook_receiver import Receiver

BASE = "/dashboard/settings/webhooks"
API = "/v1/webhook_endpoints"
SECRET_RE = r'id="webhook-secret" class="secret">([^<]+)<'
ROW_RE = r'<tr id="delivery-(whd_\w+)" data-status="(\w+)">'


@pytest.fixture
def kopek_settings(tmp_path, unused_tcp_port, aiohttp_server):
    # aiohttp_server (the receivers) is set up first, so it is torn down after Kopek's sender stopped.
    return make_settings(tmp_path, unused_tcp_port, webhook_retry_scale=0.001, webhook_timeout_s=1.0)


@pytest.fixture
async def receiver(aiohttp_server):
    found = Receiver()
    await found.start(aiohttp_server)
    return found


# -- helpers -------------------------------------------------------------------------------

async def add_endpoint(visitor, url: str, events=("payment.succeeded",), description="orders") -> tuple[str, str]:
    """Through the form, as a person would: returns (endpoint id, the secret shown once)."""
    await visitor.get(BASE)
    page = await visitor.post(BASE, [("url", url), *[("events", e) for e in events], ("description", description)])
    assert page.status == 201, page.text
    return page.find(rf'href="{BASE}/(we_\w+)"'), page.find(SECRET_RE)


async def api_endpoints(kopek, owner, key: str = "sk-test") -> list[dict[str, Any]]:
    response = await kopek.client.get(API, headers={"Authorization": f"Bearer {owner.keys[key]}"})
    return (await response.json())["data"]


async def log_rows(visitor, endpoint_id: str, **params: Any) -> list[tuple[str, str]]:
    page = await visitor.get(f"{BASE}/{endpoint_id}", **params)
    assert page.status == 200, page.text
    return re.findall(ROW_RE, page.text)


async def wait_for_log(visitor, endpoint_id: str, statuses: list[str],
                       timeout_s: float = 10.0) -> list[tuple[str, str]]:
    """Until the delivery log shows these statuses, newest first."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        rows = await log_rows(visitor, endpoint_id)
        if [status for _, status in rows] == statuses or asyncio.get_running_loop().time() > deadline:
            assert [status for _, status in rows] == statuses, rows
            return rows
        await asyncio.sleep(0.05)


async def act(visitor, endpoint_id: str, action: str = "", data=None):
    """Open the endpoint's page, then post one of its forms."""
    await visitor.get(f"{BASE}/{endpoint_id}")
    return await visitor.post(f"{BASE}/{endpoint_id}{action}", data or {})


async def send_test(visitor, endpoint_id: str):
    page = await act(visitor, endpoint_id, "/test")
    assert page.status == 200 and page.url.path == f"{BASE}/{endpoint_id}", page.text
    assert "webhook.test event is on its way" in page.text
    return page


# -- the happy path --------------------------------------------------------------------------

async def test_the_secret_is_shown_once_and_a_test_event_arrives_signed_with_it(owner, receiver):
    endpoint_id, secret = await add_endpoint(owner, receiver.url, events=("payment.succeeded", "refund.succeeded"))
    page = owner.last
    assert secret.startswith("whsec_") and "shown only this once" in page.text
    assert 'data-copy="#webhook-secret"' in page.text

    listing = await owner.get(BASE)
    assert receiver.url in listing.text and "payment.succeeded" in listing.text and "refund.succeeded" in listing.text
    assert secret not in listing.text
    detail = await owner.get(f"{BASE}/{endpoint_id}")
    assert secret not in detail.text and "Nothing was sent to this endpoint yet." in detail.text

    await send_test(owner, endpoint_id)
    (request,) = await receiver.wait_count(1)
    assert request.verify(secret)["type"] == "webhook.test"
    assert request.payload["data"]["object"]["id"] == endpoint_id
    [(delivery_id, _)] = await wait_for_log(owner, endpoint_id, ["succeeded"])
    row = owner.last.find(rf'(<tr id="delivery-{delivery_id}".*?</tr>)')
    assert "webhook.test" in row and "delivered" in row and "HTTP 200" in row and request.webhook_id in row


async def test_redeliver_sends_the_same_webhook_id_again(owner, receiver):
    endpoint_id, secret = await add_endpoint(owner, receiver.url)
    await send_test(owner, endpoint_id)
    await receiver.wait_count(1)
    [(delivery_id, _)] = await wait_for_log(owner, endpoint_id, ["succeeded"])

    page = await act(owner, endpoint_id, f"/deliveries/{delivery_id}/redeliver")
    assert page.status == 200 and "sent again, with the same webhook-id" in page.text
    first, second = await receiver.wait_count(2)
    assert second.webhook_id == first.webhook_id and second.verify(secret)["type"] == "webhook.test"
    deadline = asyncio.get_running_loop().time() + 10
    while "<td class=\"num\">2</td>" not in (await owner.get(f"{BASE}/{endpoint_id}")).text:
        assert asyncio.get_running_loop().time() < deadline, owner.last.text
        await asyncio.sleep(0.05)
    assert re.findall(ROW_RE, owner.last.text) == [(delivery_id, "succeeded")]


async def test_rotating_shows_a_new_secret_once_and_the_old_one_stops_without_overlap(owner, receiver):
    endpoint_id, old = await add_endpoint(owner, receiver.url)
    page = await act(owner, endpoint_id, "/rotate", {"overlap_s": "0"})
    assert page.status == 200 and "New signing secret" in page.text and "The old secret no longer signs." in page.text
    new = page.find(SECRET_RE)
    assert new.startswith("whsec_") and new != old
    assert new not in (await owner.get(f"{BASE}/{endpoint_id}")).text

    await send_test(owner, endpoint_id)
    (request,) = await receiver.wait_count(1)
    assert request.verify(new)["type"] == "webhook.test" and len(request.signatures) == 1
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        request.verify(old)


async def test_rotating_with_an_overlap_signs_with_both_secrets_for_a_while(owner, receiver):
    endpoint_id, old = await add_endpoint(owner, receiver.url)
    page = await act(owner, endpoint_id, "/rotate", {"overlap_s": "3600"})
    new = page.find(SECRET_RE)
    assert "keeps signing beside the new one until" in page.text
    assert "also signs until" in (await owner.get(f"{BASE}/{endpoint_id}")).text
    await send_test(owner, endpoint_id)
    (request,) = await receiver.wait_count(1)
    assert request.verify(new) == request.verify(old) and len(request.signatures) == 2


async def test_a_disabled_endpoint_gets_nothing_until_enabled_again(kopek, owner, receiver):
    on_id, _ = await add_endpoint(owner, receiver.url.replace("/hooks", "/on"), events=("payment.created",))
    off_id, off_secret = await add_endpoint(owner, receiver.url.replace("/hooks", "/off"), events=("payment.created",))
    page = await act(owner, off_id, "/status", {"status": "disabled"})
    assert page.status == 200 and "The endpoint is disabled" in page.text and "status-disabled" in page.text

    payment = await kopek.client.post("/v1/payments", json={"amount": 500, "currency": "RUB", "order_id": "o-1"},
                                      headers={"Authorization": f"Bearer {owner.keys['sk-test']}"})
    assert payment.status == 201
    await receiver.wait_for(lambda got: any(r.path == "/on" for r in got))
    await wait_for_log(owner, on_id, ["succeeded"])
    refused = await act(owner, off_id, "/test")
    assert refused.status == 409 and "disabled" in refused.find(r'id="message">([^<]+)<')
    assert [r.path for r in receiver.received] == ["/on"]
    assert await log_rows(owner, off_id) == []

    page = await act(owner, off_id, "/status", {"status": "enabled"})
    assert page.status == 200 and "The endpoint is enabled." in page.text
    await send_test(owner, off_id)
    await receiver.wait_for(lambda got: any(r.path == "/off" for r in got))
    assert receiver.received[-1].verify(off_secret)["type"] == "webhook.test"


async def test_delete_asks_first_then_deletes(kopek, owner, receiver):
    endpoint_id, _ = await add_endpoint(owner, receiver.url)
    asked = await act(owner, endpoint_id, "/delete")
    assert asked.status == 200 and "Delete this endpoint?" in asked.text and receiver.url in asked.text
    assert [e["id"] for e in await api_endpoints(kopek, owner)] == [endpoint_id]

    done = await owner.post(f"{BASE}/{endpoint_id}/delete", {"confirm": "yes"})
    assert done.status == 200 and done.url.path == BASE and f"The endpoint {receiver.url} was deleted." in done.text
    assert await api_endpoints(kopek, owner) == []
    assert (await owner.get(f"{BASE}/{endpoint_id}")).status == 404
    assert "No endpoints yet." in (await owner.get(BASE)).text


async def test_settings_can_be_changed_with_the_same_rules(kopek, owner, receiver):
    endpoint_id, _ = await add_endpoint(owner, receiver.url)
    page = await act(owner, endpoint_id, "", [("url", receiver.url + "/v2"), ("events", "payment.failed"),
                                             ("events", "payment.created"), ("description", "")])
    assert page.status == 200 and "settings were saved" in page.text
    [shown] = await api_endpoints(kopek, owner)
    assert (shown["url"], shown["events"], shown["description"]) == (
        receiver.url + "/v2", ["payment.failed", "payment.created"], "")

    bad = await act(owner, endpoint_id, "", {"url": "ftp://example.com/hooks"})
    assert bad.status == 400 and "The URL must start with http:// or https://." in bad.text
    assert (await api_endpoints(kopek, owner)) == [shown]


async def test_the_delivery_log_pages_with_a_cursor(owner, receiver):
    endpoint_id, _ = await add_endpoint(owner, receiver.url)
    for _ in range(3):
        await send_test(owner, endpoint_id)
    await receiver.wait_count(3)
    everything = await wait_for_log(owner, endpoint_id, ["succeeded"] * 3)

    first = await log_rows(owner, endpoint_id, limit=2)
    assert first == everything[:2]
    older = owner.last.find(r'<a href="\?([^"]+)" rel="next">')
    assert older == f"limit=2&starting_after={everything[1][0]}"
    rest = await log_rows(owner, endpoint_id, limit=2, starting_after=everything[1][0])
    assert rest == everything[2:] and 'rel="next"' not in owner.last.text


async def test_pages_are_in_russian_too(owner, receiver):
    endpoint_id, _ = await add_endpoint(owner, receiver.url)
    assert "Добавить адрес" in (await owner.get(BASE, locale="ru")).text
    detail = await owner.get(f"{BASE}/{endpoint_id}", locale="ru")
    assert "Журнал доставок" in detail.text and "Заменить секрет" in detail.text


# -- the SSRF guard and bad input ------------------------------------------------------------

async def test_a_live_server_refuses_private_addresses(live):
    app, client, _ = live
    merchant = await create_merchant(app[keys.STORE], "Live shop", [])
    base_url = str(client.make_url("")).rstrip("/")
    jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=[base_url])
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        visitor = Visitor(http, base_url)
        await operator_made_owner(app, merchant, visitor, "live-owner@shop.test")
        for url in ("http://127.0.0.1:9/", "http://10.0.0.1/hooks", "http://[::1]/hooks", "http://localhost/"):
            await visitor.get(BASE)
            assert "badge-live" in visitor.last.text
            page = await visitor.post(BASE, {"url": url})
            assert page.status == 400, (url, page.text)
            assert "private or reserved address" in page.find(r'id="e-url">([^<]+)<'), url
        listed = await client.get(API, headers={"Authorization": f"Bearer {visitor.keys['sk-live']}"})
        assert (await listed.json())["data"] == []
        assert "No endpoints yet." in (await visitor.get(BASE)).text


@pytest.mark.parametrize("url, reason", [
    ("example.com/hooks", "The URL must start with http:// or https://."),
    ("ftp://example.com/hooks", "The URL must start with http:// or https://."),
    ("javascript:alert(1)", "The URL must start with http:// or https://."),
    ("http://" + "a" * 2100 + ".example/", "The URL is longer than 2048 characters."),
    ("http://user:pw@example.com/hooks", "Credentials in the URL are not supported"),
    ("http://exa mple.com/", "whitespace"),
    ("http:///hooks", "The URL has no host."),
    ("", "Missing data for required field."),
])
async def test_bad_urls_are_refused_and_nothing_is_created(kopek, owner, url, reason):
    await owner.get(BASE)
    page = await owner.post(BASE, {"url": url, "description": "kept"})
    assert page.status == 400
    assert reason in page.find(r'id="e-url">([^<]+)<')
    assert 'value="kept"' in page.text and 'aria-invalid="true"' in page.text
    assert await api_endpoints(kopek, owner) == []


@pytest.mark.parametrize("form, field", [
    ([("url", "http://127.0.0.1:9/"), ("events", "payment.nope")], "events"),
    ([("url", "http://127.0.0.1:9/"), ("description", "x" * 501)], "description"),
    ([("url", "http://127.0.0.1:9/"), ("url", "http://127.0.0.1:10/")], "url"),
    ([("url", "http://127.0.0.1:9/"), ("status", "disabled")], "status"),
])
async def test_bad_create_forms_are_400_and_create_nothing(kopek, owner, form, field):
    await owner.get(BASE)
    page = await owner.post(BASE, form)
    assert page.status == 400 and field in page.find(r'<div class="alert alert-error" role="alert">(.*?)</div>')
    assert await api_endpoints(kopek, owner) == []


async def test_test_events_and_endpoints_are_bounded(kopek, owner):
    endpoint_id, _ = await add_endpoint(owner, "http://127.0.0.1:9/hooks")   # nothing listens: they stay open
    for _ in range(5):
        await send_test(owner, endpoint_id)
    refused = await act(owner, endpoint_id, "/test")
    assert refused.status == 429 and refused.headers["Retry-After"] == "5"
    assert len(await log_rows(owner, endpoint_id)) == 5

    auth = {"Authorization": f"Bearer {owner.keys['sk-test']}"}
    for n in range(15):
        created = await kopek.client.post(API, json={"url": f"http://127.0.0.1:9/{n}"}, headers=auth)
        assert created.status == 201
    await owner.get(BASE)
    page = await owner.post(BASE, {"url": "http://127.0.0.1:9/one-too-many"})
    assert page.status == 409
    assert "at most 16 webhook endpoints" in page.find(r'<div class="alert alert-error" role="alert">(.*?)</div>')
    assert 'value="http://127.0.0.1:9/one-too-many"' in page.text
    assert len(await api_endpoints(kopek, owner)) == 16


@pytest.mark.parametrize("overlap", ["-1", "abc", "1.5", str(7 * 86400 + 1), "99999999999999999999"])
async def test_a_bad_overlap_is_400_and_keeps_the_secret(owner, receiver, overlap):
    endpoint_id, secret = await add_endpoint(owner, receiver.url)
    page = await act(owner, endpoint_id, "/rotate", {"overlap_s": overlap})
    assert page.status == 400 and page.find(r'id="e-overlap_s">([^<]+)<')
    assert "webhook-secret" not in page.text
    await send_test(owner, endpoint_id)
    (request,) = await receiver.wait_count(1)
    assert request.verify(secret) and len(request.signatures) == 1


@pytest.mark.parametrize("action, data", [("/status", {"status": "paused"}), ("/status", {}),
                                           ("/test", {"x": "1"}), ("/delete", {"confirm": "no"})])
async def test_bad_action_forms_are_400_and_change_nothing(kopek, owner, action, data):
    endpoint_id, _ = await add_endpoint(owner, "http://127.0.0.1:9/hooks")
    before = await api_endpoints(kopek, owner)
    page = await act(owner, endpoint_id, action, data)
    assert page.status == 400 and "Nothing was changed" in page.find(r'id="message">([^<]+)<')
    assert await api_endpoints(kopek, owner) == before
    assert await log_rows(owner, endpoint_id) == []


@pytest.mark.parametrize("params", [{"foo": "1"}, {"limit": "-1"}, {"limit": "0"}, {"limit": "101"},
                                    {"limit": "abc"}, {"starting_after": "x"}, {"locale": "xx"}])
async def test_tampered_query_strings_are_400(owner, params):
    endpoint_id, _ = await add_endpoint(owner, "http://127.0.0.1:9/hooks")
    assert (await owner.get(f"{BASE}/{endpoint_id}", **params)).status == 400
    assert (await owner.get(BASE, foo="1")).status == 400


async def test_unknown_ids_other_merchants_and_the_other_mode_are_404(owner, visitors):
    endpoint_id, _ = await add_endpoint(owner, "http://127.0.0.1:9/hooks")
    stranger = visitors()
    await stranger.sign_up("stranger@other.test", shop_name="Other shop")
    for visitor, target in [(stranger, endpoint_id), (owner, "we_doesnotexist"), (owner, "x" * 500)]:
        assert (await visitor.get(f"{BASE}/{target}")).status == 404
        await visitor.get(BASE)
        for action in ("/test", "/rotate", "/delete", "/status", "/deliveries/whd_x/redeliver"):
            assert (await visitor.post(f"{BASE}/{target}{action}", {})).status == 404, (target, action)
    assert (await act(owner, endpoint_id, "/deliveries/whd_missing/redeliver")).status == 404

    await owner.get(BASE)
    await owner.post("/dashboard/mode", {"mode": "live", "next": BASE})
    assert "No endpoints yet." in owner.last.text
    assert (await owner.get(f"{BASE}/{endpoint_id}")).status == 404


# -- who may do what ---------------------------------------------------------------------------

async def test_a_viewer_sees_everything_but_no_forms_and_changes_nothing(kopek, owner, viewer, receiver):
    endpoint_id, _ = await add_endpoint(owner, receiver.url)
    await send_test(owner, endpoint_id)
    await receiver.wait_count(1)
    [(delivery_id, _)] = await wait_for_log(owner, endpoint_id, ["succeeded"])
    before = await api_endpoints(kopek, owner)

    listing = await viewer.get(BASE)
    assert listing.status == 200 and receiver.url in listing.text
    assert f'action="{BASE}' not in listing.text and "Add an endpoint" not in listing.text
    detail = await viewer.get(f"{BASE}/{endpoint_id}")
    assert detail.status == 200 and "webhook.test" in detail.text and "delivered" in detail.text
    assert f'action="{BASE}' not in detail.text and "Redeliver" not in detail.text

    for path, data in [(BASE, {"url": receiver.url}), (f"{BASE}/{endpoint_id}/test", {}),
                       (f"{BASE}/{endpoint_id}/deliveries/{delivery_id}/redeliver", {}),
                       (f"{BASE}/{endpoint_id}/rotate", {"overlap_s": "0"}),
                       (f"{BASE}/{endpoint_id}/delete", {"confirm": "yes"}),
                       (f"{BASE}/{endpoint_id}/status", {"status": "disabled"}),
                       (f"{BASE}/{endpoint_id}", {"url": receiver.url + "/x"})]:
        await viewer.get(f"{BASE}/{endpoint_id}")
        page = await viewer.post(path, data)
        assert page.status == 403 and "your role is viewer" in page.text, path
    await asyncio.sleep(0.5)   # time enough for a test event or a redelivery, had one been queued
    assert len(receiver.received) == 1
    assert await api_endpoints(kopek, owner) == before
    assert await log_rows(owner, endpoint_id) == [(delivery_id, "succeeded")]


@pytest.mark.parametrize("csrf", [None, "", "forged-token"])
async def test_a_missing_or_wrong_csrf_token_is_403_and_changes_nothing(kopek, owner, receiver, csrf):
    endpoint_id, _ = await add_endpoint(owner, receiver.url)
    await owner.get(BASE)
    for path, data in [(BASE, {"url": receiver.url}), (f"{BASE}/{endpoint_id}/test", {}),
                       (f"{BASE}/{endpoint_id}/delete", {"confirm": "yes"})]:
        page = await owner.post(path, data, with_csrf=csrf is not None, csrf=csrf)
        assert page.status == 403 and "did not come from your dashboard" in page.text, path
    assert [e["id"] for e in await api_endpoints(kopek, owner)] == [endpoint_id]
    await asyncio.sleep(0.3)
    assert receiver.received == [] and await log_rows(owner, endpoint_id) == []


async def test_logged_out_visitors_are_sent_to_log_in(visitors, owner):
    endpoint_id, _ = await add_endpoint(owner, "http://127.0.0.1:9/hooks")
    anonymous = visitors()
    page = await anonymous.get(f"{BASE}/{endpoint_id}")
    assert page.url.path == "/dashboard/login" and "http://127.0.0.1:9/hooks" not in page.text
    await anonymous.get("/dashboard/login")
    assert (await anonymous.post(f"{BASE}/{endpoint_id}/delete", {"confirm": "yes"})).status == 401
