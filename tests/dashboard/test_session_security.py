"""Sessions and forged forms, attacked from outside over real HTTP: anonymous visitors write no
session rows, a token planted before a login is dead after it, a form from another origin (even
another port of the same host) is refused whatever token it carries, and a login only sends the
browser back to a path of the dashboard's own."""

from __future__ import annotations

import pytest
from yarl import URL

from dashboard.conftest import PASSWORD
from dashboard.test_accounts import db_rows

ATTACKER_ORIGIN = "https://attacker.example"


def session_rows(kopek) -> int:
    return len(db_rows(kopek, "SELECT * FROM dashboard_sessions"))


def allowed_origins(kopek) -> list[str]:
    return [origin for (origin,) in db_rows(kopek, "SELECT origin FROM merchant_origins")]


async def add_origin(visitor, csrf: str, headers: dict[str, str] | None = None):
    return await visitor.post("/dashboard/settings/origins", {"origin": ATTACKER_ORIGIN}, csrf=csrf,
                              headers=headers or {}, allow_redirects=False)


async def test_anonymous_pages_write_no_session_rows(visitors, kopek):
    visitor = visitors()
    for path in ("/dashboard/login", "/dashboard/signup", "/dashboard/login?locale=ru", "/dashboard/team",
                 "/dashboard/", "/sandbox"):
        await visitor.get(path)
    page = await visitor.get("/dashboard/login")
    assert page.status == 200 and page.csrf()
    page = await visitor.post("/dashboard/login", {"email": "nobody@shop.test", "password": "wrong password"})
    assert page.status == 401
    assert session_rows(kopek) == 0
    assert "kopek_session" not in {c.key for c in visitor.http.cookie_jar}


async def test_a_token_planted_before_the_login_is_refused_after_it(owner, visitors, kopek):
    """The attacker opens the login page, plants its cookies in the victim's browser (a page on
    another port of the same host can), the victim logs in, and the attacker posts with the token."""
    attacker = visitors()
    planted = (await attacker.get("/dashboard/login")).csrf()
    victim = visitors()
    victim.http.cookie_jar.update_cookies({c.key: c.value for c in attacker.http.cookie_jar},
                                          response_url=URL(victim.base_url))
    page = await victim.get("/dashboard/login")
    page = await victim.post("/dashboard/login", {"email": "owner@shop.test", "password": PASSWORD})
    assert page.url.path == "/dashboard/payments"
    refused = await add_origin(victim, planted)
    assert refused.status == 403 and "did not come from your dashboard" in refused.text
    assert ATTACKER_ORIGIN not in allowed_origins(kopek)
    fresh = (await victim.get("/dashboard/settings/origins")).csrf()
    assert fresh != planted
    assert (await add_origin(victim, fresh)).status == 303, "the member's own token must work"


async def test_log_out_rotates_the_tokens(owner, visitors, kopek):
    member_token = (await owner.get("/dashboard/team")).csrf()
    await owner.post("/dashboard/logout")
    after_logout = (await owner.get("/dashboard/login")).csrf()
    assert after_logout != member_token
    await owner.post("/dashboard/login", {"email": "owner@shop.test", "password": PASSWORD})
    for old in (member_token, after_logout):
        assert (await add_origin(owner, old)).status == 403
    assert ATTACKER_ORIGIN not in allowed_origins(kopek)


@pytest.mark.parametrize("headers", [
    {"Origin": ATTACKER_ORIGIN},
    {"Origin": "http://127.0.0.1:1"},          # same site, another port
    {"Origin": "null"},
    {"Sec-Fetch-Site": "same-site"},
    {"Sec-Fetch-Site": "cross-site"},
])
async def test_a_form_from_another_origin_is_refused_even_with_the_right_token(owner, kopek, headers):
    token = (await owner.get("/dashboard/settings/origins")).csrf()
    page = await add_origin(owner, token, headers)
    assert page.status == 403 and "did not come from your dashboard" in page.text
    assert ATTACKER_ORIGIN not in allowed_origins(kopek)


async def test_a_form_from_kopeks_own_origin_goes_through(owner, kopek):
    token = (await owner.get("/dashboard/settings/origins")).csrf()
    page = await add_origin(owner, token, {"Origin": kopek.base_url, "Sec-Fetch-Site": "same-origin"})
    assert page.status == 303 and ATTACKER_ORIGIN in allowed_origins(kopek)


async def test_a_login_from_another_origin_is_refused(owner, visitors, kopek):
    visitor = visitors()
    await visitor.get("/dashboard/login")
    page = await visitor.post("/dashboard/login", {"email": "owner@shop.test", "password": PASSWORD},
                              headers={"Origin": "http://127.0.0.1:1"})
    assert page.status == 403 and session_rows(kopek) == 1   # the owner's own session only


async def test_dashboard_with_a_slash_sends_to_the_login_then_to_payments(owner, visitors):
    visitor = visitors()
    page = await visitor.get("/dashboard/")
    assert page.status == 200 and page.url.path == "/dashboard/login"
    page = await owner.get("/dashboard/")
    assert page.status == 200 and page.url.path == "/dashboard/payments"


@pytest.mark.parametrize("target", [
    "/dashboard@phish.example", "/dashboard@phish.example/x", "//phish.example/dashboard", "/\\phish.example",
    "/dashboard/..//phish.example", "https://phish.example/dashboard", "/dashboard\\@phish.example",
    "/dashboard\t@phish.example", "/dashboardx", "javascript:alert(1)", "/v1/payments"])
async def test_login_next_stays_a_dashboard_path(owner, visitors, target):
    visitor = visitors()
    await visitor.get("/dashboard/login")
    async with visitor.http.post(visitor.base_url + "/dashboard/login", allow_redirects=False, data={
            "email": "owner@shop.test", "password": PASSWORD, "next": target,
            "csrf_token": visitor.last.csrf()}) as response:
        assert response.status == 303 and response.headers["Location"] == "/dashboard/payments"


@pytest.mark.parametrize("target", ["/dashboard/team", "/dashboard/payments?status=succeeded", "/dashboard"])
async def test_login_next_keeps_a_dashboard_path(owner, visitors, target):
    visitor = visitors()
    await visitor.get("/dashboard/login")
    async with visitor.http.post(visitor.base_url + "/dashboard/login", allow_redirects=False, data={
            "email": "owner@shop.test", "password": PASSWORD, "next": target,
            "csrf_token": visitor.last.csrf()}) as response:
        assert response.status == 303 and response.headers["Location"] == target
