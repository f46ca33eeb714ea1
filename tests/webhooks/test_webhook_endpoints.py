"""/v1/webhook_endpoints: create, read, update, delete, rotate; bad inputs; other merchants; live SSRF guard."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import pytest

from kopek import keys
from kopek.merchants import create_merchant
from support import INWARD_URLS, ODD_IPV4_URLS

BASE = "/v1/webhook_endpoints"
SIX = ["payment.requires_confirmation", "payment.processing", "payment.succeeded", "payment.failed",
       "payment.canceled", "payment.expired"]


async def create(kopek, **body: Any) -> dict[str, Any]:
    response = await kopek.client.post(BASE, json={"url": "http://127.0.0.1:9/hooks", **body}, headers=kopek.auth())
    assert response.status == 201, await response.text()
    return await response.json()


async def error_of(response) -> dict[str, Any]:
    body = await response.json()
    assert set(body) == {"error"}, body
    return body["error"]


async def test_create_returns_the_secret_once_and_defaults_to_the_six_payment_events(kopek):
    created = await create(kopek, description="orders")
    assert created["id"].startswith("we_") and created["object"] == "webhook_endpoint"
    assert created["secret"].startswith("whsec_") and created["status"] == "enabled"
    assert created["events"] == SIX and created["description"] == "orders" and created["livemode"] is False
    shown = await (await kopek.client.get(f"{BASE}/{created['id']}", headers=kopek.auth())).json()
    assert "secret" not in shown and shown["url"] == created["url"]
    listed = await (await kopek.client.get(BASE, headers=kopek.auth())).json()
    assert [e["id"] for e in listed["data"]] == [created["id"]] and "secret" not in listed["data"][0]


async def test_the_secret_is_not_stored_in_the_database(kopek):
    created = await create(kopek)
    rotated = await (await kopek.client.post(f"{BASE}/{created['id']}/rotate_secret", json={},
                                             headers=kopek.auth())).json()
    raw = b"".join(path.read_bytes() for path in kopek.app[keys.SETTINGS].db_path.parent.iterdir()
                   if path.name.startswith("kopek.db"))
    for secret in (created["secret"], rotated["secret"]):
        assert secret.encode() not in raw and secret[6:].encode() not in raw


async def test_explicit_events_are_deduplicated_and_opt_in_types_accepted(kopek):
    created = await create(kopek, events=["payment.created", "payment.succeeded", "payment.created",
                                          "payment.attempt_failed"])
    assert created["events"] == ["payment.created", "payment.succeeded", "payment.attempt_failed"]


async def test_update_url_events_status_and_description(kopek):
    created = await create(kopek)
    response = await kopek.client.post(f"{BASE}/{created['id']}", headers=kopek.auth(), json={
        "url": "https://127.0.0.1:8443/new", "events": ["payment.failed"], "status": "disabled",
        "description": "paused for maintenance"})
    updated = await response.json()
    assert response.status == 200, updated
    assert (updated["url"], updated["events"], updated["status"], updated["description"]) == (
        "https://127.0.0.1:8443/new", ["payment.failed"], "disabled", "paused for maintenance")
    assert updated["disabled_reason"] == "disabled by the merchant"
    again = await (await kopek.client.post(f"{BASE}/{created['id']}", json={"status": "enabled"},
                                           headers=kopek.auth())).json()
    assert again["status"] == "enabled" and again["disabled_reason"] is None


async def test_delete_makes_it_404_and_drops_it_from_the_list(kopek):
    created = await create(kopek)
    deleted = await kopek.client.delete(f"{BASE}/{created['id']}", headers=kopek.auth())
    assert deleted.status == 200 and (await deleted.json()) == {
        "id": created["id"], "object": "webhook_endpoint", "deleted": True}
    assert (await kopek.client.get(f"{BASE}/{created['id']}", headers=kopek.auth())).status == 404
    assert (await kopek.client.delete(f"{BASE}/{created['id']}", headers=kopek.auth())).status == 404
    assert (await (await kopek.client.get(BASE, headers=kopek.auth())).json())["data"] == []


async def test_rotation_returns_a_new_secret_with_an_overlap(kopek):
    created = await create(kopek)
    response = await kopek.client.post(f"{BASE}/{created['id']}/rotate_secret", json={"overlap_s": 3600},
                                       headers=kopek.auth())
    rotated = await response.json()
    assert response.status == 200 and rotated["secret"].startswith("whsec_")
    assert rotated["secret"] != created["secret"] and rotated["previous_secret_expires_at"] is not None
    immediate = await (await kopek.client.post(f"{BASE}/{created['id']}/rotate_secret", json={"overlap_s": 0},
                                               headers=kopek.auth())).json()
    assert immediate["previous_secret_expires_at"] is None
    assert immediate["secret"] not in (created["secret"], rotated["secret"])


@pytest.mark.parametrize(("body", "param"), [
    ({"url": "ftp://shop.example/hooks"}, "url"),
    ({"url": "javascript:alert(1)"}, "url"),
    ({"url": "https://"}, "url"),
    ({"url": "https://shop.example/" + "a" * 2048}, "url"),
    ({"url": "https://user:secret@shop.example/hooks"}, "url"),
    ({"url": 42}, "url"),
    ({}, "url"),
    ({"url": "https://shop.example/h", "events": ["payment.bogus"]}, "events"),
    ({"url": "https://shop.example/h", "events": []}, "events"),
    ({"url": "https://shop.example/h", "events": "payment.succeeded"}, "events"),
    ({"url": "https://shop.example/h", "events": None}, "events"),
    ({"url": "https://shop.example/h", "events": ["webhook.test"]}, "events"),
    ({"url": "https://shop.example/h", "description": "x" * 501}, "description"),
    ({"url": "https://shop.example/h", "secret": "whsec_mine"}, "secret"),
    ({"url": "https://shop.example/h", "enabled": True}, "enabled"),
])
async def test_bad_create_inputs_are_400_with_the_field(kopek, body, param):
    response = await kopek.client.post(BASE, json=body, headers=kopek.auth())
    error = await error_of(response)
    assert response.status == 400 and error["code"] == "parameter_invalid" and error["param"] == param, error
    assert (await (await kopek.client.get(BASE, headers=kopek.auth())).json())["data"] == []


async def test_bad_bodies_are_400(kopek):
    not_json = await kopek.client.post(BASE, data="url=x", headers={**kopek.auth(),
                                                                     "Content-Type": "application/json"})
    assert not_json.status == 400 and (await error_of(not_json))["code"] == "invalid_json"
    a_list = await kopek.client.post(BASE, json=["https://shop.example"], headers=kopek.auth())
    assert a_list.status == 400 and (await error_of(a_list))["code"] == "invalid_json"
    form = await kopek.client.post(BASE, data={"url": "https://shop.example"}, headers=kopek.auth())
    assert form.status == 400 and (await error_of(form))["code"] == "unsupported_media_type"


@pytest.mark.parametrize(("path", "body", "param"), [
    ("", {"status": "paused"}, "status"),
    ("", {"url": "gopher://x"}, "url"),
    ("", {"events": ["payment.nope"]}, "events"),
    ("", {"id": "we_other"}, "id"),
    ("/rotate_secret", {"overlap_s": 7 * 86400 + 1}, "overlap_s"),
    ("/rotate_secret", {"overlap_s": -1}, "overlap_s"),
    ("/rotate_secret", {"overlap_s": "60"}, "overlap_s"),
    ("/rotate_secret", {"overlap_s": True}, "overlap_s"),
    ("/test", {"type": "payment.succeeded"}, "type"),
])
async def test_bad_update_rotate_and_test_inputs_are_400(kopek, path, body, param):
    created = await create(kopek)
    response = await kopek.client.post(f"{BASE}/{created['id']}{path}", json=body, headers=kopek.auth())
    error = await error_of(response)
    assert response.status == 400 and error["param"] == param, error
    unchanged = await (await kopek.client.get(f"{BASE}/{created['id']}", headers=kopek.auth())).json()
    assert unchanged["url"] == created["url"] and unchanged["status"] == "enabled"


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=ten", "starting_after=x"])
async def test_bad_delivery_queries_are_400(kopek, query):
    created = await create(kopek)
    response = await kopek.client.get(f"{BASE}/{created['id']}/deliveries?{query}", headers=kopek.auth())
    assert response.status == 400 and (await error_of(response))["code"] == "parameter_invalid"


async def test_another_merchants_endpoint_is_404_everywhere(kopek):
    mine = await create(kopek)
    other = await create_merchant(kopek.app[keys.STORE], "Other shop", [])
    theirs = {"Authorization": f"Bearer {other.secret_key}"}
    calls = [("GET", ""), ("POST", ""), ("DELETE", ""), ("POST", "/rotate_secret"), ("POST", "/test"),
             ("GET", "/deliveries"), ("POST", "/deliveries/whd_anything/redeliver")]
    for method, path in calls:
        response = await kopek.client.request(method, f"{BASE}/{mine['id']}{path}", json={}, headers=theirs)
        error = await error_of(response)
        assert response.status == 404 and error["code"] == "resource_missing", (method, path, error)
    assert (await (await kopek.client.get(BASE, headers=theirs)).json())["data"] == []
    still = await (await kopek.client.get(f"{BASE}/{mine['id']}", headers=kopek.auth())).json()
    assert still["status"] == "enabled" and still["url"] == mine["url"]


async def test_unknown_endpoint_and_delivery_are_404(kopek):
    assert (await kopek.client.get(f"{BASE}/we_missing", headers=kopek.auth())).status == 404
    created = await create(kopek)
    response = await kopek.client.post(f"{BASE}/{created['id']}/deliveries/whd_missing/redeliver",
                                       headers=kopek.auth())
    assert response.status == 404 and (await error_of(response))["param"] == "delivery_id"


async def test_without_a_secret_key_it_is_401(kopek):
    assert (await kopek.client.get(BASE)).status == 401
    publishable = {"Authorization": f"Bearer {kopek.merchant.publishable_key}"}
    assert (await kopek.client.post(BASE, json={"url": "https://shop.example"}, headers=publishable)).status == 401


async def test_endpoints_per_merchant_are_bounded_and_the_cap_is_a_409_until_one_is_deleted(kopek):
    """The same body succeeds after a delete: the cap is the merchant's state, not the request's fault."""
    first = await create(kopek, url="http://127.0.0.1:9/0")
    for n in range(1, 16):
        await create(kopek, url=f"http://127.0.0.1:9/{n}")
    response = await kopek.client.post(BASE, json={"url": "http://127.0.0.1:9/17"}, headers=kopek.auth())
    assert response.status == 409 and (await error_of(response))["code"] == "endpoint_limit"
    assert (await kopek.client.delete(f"{BASE}/{first['id']}", headers=kopek.auth())).status == 200
    await create(kopek, url="http://127.0.0.1:9/17")


async def test_concurrent_creations_cannot_pass_the_cap(kopek):
    """Forty creations at once over real HTTP: the count and the insert are one step, so exactly 16 land."""
    answers = await asyncio.gather(*(kopek.client.post(BASE, json={"url": f"http://127.0.0.1:9/{n}"},
                                                       headers={**kopek.auth(), "Idempotency-Key": f"cap-race-{n}"})
                                     for n in range(40)))
    assert sorted(answer.status for answer in answers) == [201] * 16 + [409] * 24
    listed = await (await kopek.client.get(BASE, params={"limit": "100"}, headers=kopek.auth())).json()
    assert len(listed["data"]) == 16


async def test_test_event_and_redeliver_on_a_disabled_endpoint_are_409(kopek):
    created = await create(kopek)
    await kopek.client.post(f"{BASE}/{created['id']}", json={"status": "disabled"}, headers=kopek.auth())
    response = await kopek.client.post(f"{BASE}/{created['id']}/test", headers=kopek.auth())
    assert response.status == 409 and (await error_of(response))["code"] == "endpoint_disabled"


async def test_test_events_waiting_for_one_endpoint_are_bounded(kopek):
    created = await create(kopek, url="http://127.0.0.1:9/nobody-listens")
    for _ in range(5):
        assert (await kopek.client.post(f"{BASE}/{created['id']}/test", headers=kopek.auth())).status == 202
    response = await kopek.client.post(f"{BASE}/{created['id']}/test", headers=kopek.auth())
    assert response.status == 429 and response.headers["Retry-After"] == "5"
    assert (await error_of(response))["code"] == "rate_limited"


async def test_openapi_documents_the_webhook_operations(kopek):
    spec = await (await kopek.client.get("/v1/openapi.json")).json()
    assert {"post", "get"} <= set(spec["paths"][BASE])
    assert {"get", "post", "delete"} <= set(spec["paths"][BASE + "/{id}"])
    redeliver = spec["paths"][BASE + "/{id}/deliveries/{delivery_id}/redeliver"]["post"]
    assert {p["name"] for p in redeliver["parameters"]} >= {"id", "delivery_id"}
    assert "secret" in spec["components"]["schemas"]["EndpointWithSecret"]["properties"]


# -- live mode: the SSRF guard --------------------------------------------------------

@pytest.mark.parametrize("url", INWARD_URLS)
async def test_live_mode_refuses_urls_that_reach_inward(live, url):
    app, client, auth = live
    response = await client.post(BASE, json={"url": url}, headers=auth)
    error = await error_of(response)
    assert response.status == 400 and error["code"] == "url_not_allowed" and error["param"] == "url", error
    assert (await (await client.get(BASE, headers=auth)).json())["data"] == []


async def assert_odd_spelling_refused(client, auth, url):
    response = await client.post(BASE, json={"url": url}, headers=auth)
    error = await error_of(response)
    assert response.status == 400 and error["param"] == "url" and "four decimal numbers" in error["message"], error
    assert (await (await client.get(BASE, headers=auth)).json())["data"] == []


@pytest.mark.parametrize("url", ODD_IPV4_URLS)
async def test_live_mode_refuses_odd_ipv4_spellings(live, url):
    _, client, auth = live
    await assert_odd_spelling_refused(client, auth, url)


@pytest.mark.parametrize("url", ODD_IPV4_URLS)
async def test_sandbox_mode_refuses_odd_ipv4_spellings_too(kopek, url):
    """aiohttp would refuse to connect to them anyway; saying so at once is clearer."""
    await assert_odd_spelling_refused(kopek.client, kopek.auth(), url)


async def test_live_mode_accepts_a_public_address_but_not_an_update_to_a_private_one(live):
    app, client, auth = live
    created = await (await client.post(BASE, json={"url": "https://93.184.216.34/hooks"}, headers=auth)).json()
    assert created["livemode"] is True and created["secret"].startswith("whsec_")
    response = await client.post(f"{BASE}/{created['id']}", json={"url": "http://127.0.0.1/x"}, headers=auth)
    assert response.status == 400 and (await error_of(response))["code"] == "url_not_allowed"


async def first_attempt_after_the_row_points_at(live, url: str) -> dict[str, Any]:
    """An endpoint saved with a public address, its row then pointed at `url` (a changed DNS answer,
    or a sandbox server on the same database), and a test event sent: its first delivery attempt."""
    app, client, auth = live
    created = await (await client.post(BASE, json={"url": "https://93.184.216.34/hooks"}, headers=auth)).json()
    with sqlite3.connect(app[keys.SETTINGS].db_path) as db:   # what the attacker's copy amounts to
        db.execute("UPDATE webhook_endpoints SET url=? WHERE id=?", (url, created["id"]))
    assert (await client.post(f"{BASE}/{created['id']}/test", headers=auth)).status == 202
    for _ in range(100):
        log = await (await client.get(f"{BASE}/{created['id']}/deliveries", headers=auth)).json()
        if log["data"][0]["attempts"]:
            break
        await asyncio.sleep(0.05)
    return log["data"][0]["attempts"][0]


async def test_live_mode_checks_the_address_it_connects_to(live, inward_listener):
    """The address was public when saved; the row now points inward: the connection is refused,
    nothing reaches the listener."""
    port = inward_listener.port
    for url in (f"http://127.0.0.1:{port}/", f"http://localhost:{port}/", f"http://[::ffff:127.0.0.1]:{port}/",
                f"http://[::ffff:7f00:1]:{port}/", f"http://[2002:7f00:1::]:{port}/"):
        attempt = await first_attempt_after_the_row_points_at(live, url)
        assert attempt["http_status"] is None and attempt["error"].startswith("refused: "), (url, attempt)
    assert inward_listener.connections == 0


@pytest.mark.parametrize("address", ["64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "64:ff9b::a00:1", "fec0::1",
                                     "fec0::7f00:1", "feff:ffff::1"])
async def test_live_mode_refuses_nat64_and_site_local_addresses_when_connecting(live, address):
    """NAT64 (64:ff9b::/96) carries an IPv4 address a NAT64 gateway would connect to: 127.0.0.1,
    169.254.169.254, 10.0.0.1 here. Site-local (fec0::/10) is inside the operator's site. The socket
    is refused before it connects, not left to the network to fail."""
    attempt = await first_attempt_after_the_row_points_at(live, f"http://[{address}]:8080/hooks")
    assert attempt["http_status"] is None, attempt
    assert attempt["error"] == f"refused: {address} is a private or reserved address", attempt
