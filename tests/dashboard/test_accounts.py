"""Accounts through the forms a browser posts: sign-up, login, logout, sessions, CSRF,
throttling, invitations and roles."""

from __future__ import annotations

import sqlite3

import pytest
from yarl import URL

from kopek import keys

from dashboard.conftest import PASSWORD


def db_rows(kopek, sql, *params):
    with sqlite3.connect(kopek.app[keys.SETTINGS].db_path) as db:
        return db.execute(sql, params).fetchall()


async def test_sign_up_shows_the_keys_once_and_they_work(visitors, kopek):
    visitor = visitors()
    page = await visitor.sign_up("Owner@Shop.Test", shop_name="Pixel downloads")
    assert "Pixel downloads" in page.text and "never show them again" in page.text
    assert page.headers["Cache-Control"] == "no-store"
    response = await kopek.client.get("/v1/payments", headers=kopek.auth(visitor.keys["sk-test"]))
    assert response.status == 200
    again = await visitor.get("/dashboard/team")
    assert visitor.keys["sk-test"] not in again.text and "owner@shop.test" in again.text


async def test_passwords_are_stored_as_argon2id_hashes(owner, kopek):
    [(stored,)] = db_rows(kopek, "SELECT password_hash FROM users WHERE email='owner@shop.test'")
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


async def test_session_cookie_is_httponly_samesite_and_secure(owner, visitors):
    visitor = visitors()
    await visitor.get("/dashboard/login")
    async with visitor.http.post(visitor.base_url + "/dashboard/login", allow_redirects=False, data={
            "email": "owner@shop.test", "password": PASSWORD, "csrf_token": visitor.last.csrf()}) as response:
        cookie = next(c for c in response.headers.getall("Set-Cookie") if c.startswith("kopek_session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie


async def test_log_in_starts_a_new_session_and_lands_where_asked(owner, visitors):
    visitor = visitors()
    page = await visitor.get("/dashboard/team")
    assert page.url.path == "/dashboard/login" and page.url.query["next"] == "/dashboard/team"
    before = visitor.cookie()
    page = await visitor.post("/dashboard/login", {"email": "owner@shop.test", "password": PASSWORD,
                                                   "next": "/dashboard/team"})
    assert page.status == 200 and page.url.path == "/dashboard/team"
    assert visitor.cookie() != before, "a login must not keep a session id planted before it"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "/v1/payments"])
async def test_log_in_never_redirects_off_the_dashboard(owner, visitors, target):
    visitor = visitors()
    await visitor.get("/dashboard/login")
    page = await visitor.post("/dashboard/login", {"email": "owner@shop.test", "password": PASSWORD, "next": target})
    assert page.url.host == "127.0.0.1" and page.url.path.startswith("/dashboard")


async def test_wrong_password_is_refused_then_throttled(owner, visitors):
    visitor = visitors()
    for _ in range(5):
        page = await visitor.log_in("owner@shop.test", "wrong password!")
        assert page.status == 401 and "Wrong email or password." in page.text
        assert PASSWORD not in page.text and "wrong password!" not in page.text
    page = await visitor.log_in("owner@shop.test", PASSWORD)
    assert page.status == 429 and "Too many failed logins" in page.text
    assert int(page.headers["Retry-After"]) > 0
    assert page.url.path == "/dashboard/login"


async def test_an_unknown_email_gets_the_same_answer_as_a_wrong_password(visitors):
    page = await visitors().log_in("nobody@shop.test", "whatever it is")
    assert page.status == 401 and "Wrong email or password." in page.text


async def test_log_out_ends_the_session_for_good(owner, visitors):
    cookie = owner.cookie()
    await owner.get("/dashboard/team")
    page = await owner.post("/dashboard/logout")
    assert page.url.path == "/dashboard/login"
    thief = visitors()
    thief.http.cookie_jar.update_cookies({"kopek_session": cookie}, response_url=URL(thief.base_url))
    thief_page = await thief.get("/dashboard/team")
    assert thief_page.url.path == "/dashboard/login"


def expire_sessions(kopek):
    with sqlite3.connect(kopek.app[keys.SETTINGS].db_path) as db:
        db.execute("UPDATE dashboard_sessions SET expires_at='2000-01-01T00:00:00.000000Z'")


async def test_a_form_posted_after_the_session_ended_changes_nothing(owner, kopek):
    await owner.get("/dashboard/team")
    expire_sessions(kopek)
    page = await owner.post("/dashboard/team/invites", {"email": "late@shop.test", "role": "viewer"})
    assert page.status == 401 and "Your session has ended" in page.text
    assert "Set-Cookie" not in page.headers, "a refused form must not replace the browser's cookie"
    assert db_rows(kopek, "SELECT * FROM invites") == []


async def test_a_page_opened_after_the_session_ended_asks_to_log_in_again(owner, kopek):
    expire_sessions(kopek)
    page = await owner.get("/dashboard/team")
    assert page.url.path == "/dashboard/login" and "Your session has ended" in page.text


@pytest.mark.parametrize("csrf", [None, "", "forged-token"])
async def test_a_form_without_the_right_csrf_token_changes_nothing(owner, kopek, csrf):
    await owner.get("/dashboard/team")
    page = await owner.post("/dashboard/team/invites", {"email": "x@shop.test", "role": "viewer"},
                            csrf=csrf, with_csrf=csrf is not None)
    assert page.status == 403 and "did not come from your dashboard" in page.text
    assert db_rows(kopek, "SELECT * FROM invites") == []


async def test_sign_up_refuses_bad_input_and_keeps_what_was_typed(visitors, kopek):
    visitor = visitors()
    await visitor.get("/dashboard/signup")
    page = await visitor.post("/dashboard/signup", {"email": "not-an-email", "password": "short", "shop_name": "Mine"})
    assert page.status == 400 and 'value="Mine"' in page.text and "short" not in page.text
    assert 'aria-invalid="true"' in page.text
    page = await visitor.post("/dashboard/signup", {"email": "a@shop.test", "password": PASSWORD,
                                                    "shop_name": "Mine", "role": "owner"})
    assert page.status == 400 and "Unknown field" in page.text
    page = await visitor.post("/dashboard/signup", {"email": "a@shop.test", "password": PASSWORD})
    assert page.status == 400 and "shop name" in page.text
    assert db_rows(kopek, "SELECT * FROM users") == []


async def test_an_email_signs_up_once(owner, visitors, kopek):
    """A second sign-up with the same email creates nothing, and its answer is the one any sign-up
    gets (see test_signup.py): it does not say that the email has an account."""
    visitor = visitors()
    await visitor.get("/dashboard/signup")
    page = await visitor.post("/dashboard/signup", {"email": "OWNER@shop.test", "password": "another password",
                                                    "shop_name": "Again"})
    assert page.status == 200 and page.url.path == "/dashboard/login" and "log in instead" not in page.text
    assert db_rows(kopek, "SELECT name FROM merchants WHERE name='Again'") == []
    assert (await visitors().log_in("owner@shop.test", "another password")).status == 401


async def test_a_huge_form_is_refused_with_a_page(visitors):
    visitor = visitors()
    await visitor.get("/dashboard/login")
    page = await visitor.post("/dashboard/login", {"email": "a@shop.test", "password": "x" * 100_000})
    assert page.status == 413 and "<html" in page.text


async def test_invited_viewer_joins_and_cannot_act_as_owner(owner, viewer, kopek):
    page = await viewer.get("/dashboard/team")
    assert "viewer@shop.test" in page.text and "owner@shop.test" in page.text
    assert 'action="/dashboard/team/invites"' not in page.text
    page = await viewer.post("/dashboard/team/invites", {"email": "third@shop.test", "role": "owner"})
    assert page.status == 403 and "Only an owner can do this" in page.text
    assert db_rows(kopek, "SELECT email FROM invites WHERE email='third@shop.test'") == []
    [(role,)] = db_rows(kopek, "SELECT role FROM memberships JOIN users ON users.id = user_id "
                               "WHERE email='viewer@shop.test'")
    assert role == "viewer"


async def test_an_invitation_is_for_its_email_and_works_once(owner, visitors):
    await owner.get("/dashboard/team")
    page = await owner.post("/dashboard/team/invites", {"email": "new@shop.test", "role": "owner"})
    code = page.find(r'id="invite-code" class="secret">([^<]+)<')
    stranger = visitors()
    await stranger.get("/dashboard/signup")
    page = await stranger.post("/dashboard/signup", {"email": "other@shop.test", "password": PASSWORD,
                                                     "invite_code": code})
    assert page.status == 400 and "not valid for this email" in page.text
    invited = visitors()
    await invited.get("/dashboard/signup")
    page = await invited.post("/dashboard/signup", {"email": "new@shop.test", "password": PASSWORD,
                                                    "invite_code": code})
    assert page.status == 200 and page.url.path == "/dashboard/login"
    page = await invited.post("/dashboard/login", {"email": "new@shop.test", "password": PASSWORD})
    assert page.status == 200 and page.url.path == "/dashboard/payments"
    again = visitors()
    await again.get("/dashboard/signup")
    page = await again.post("/dashboard/signup", {"email": "new@shop.test", "password": PASSWORD,
                                                  "invite_code": code})
    assert page.status == 400


async def test_mode_switch_shows_the_other_data_and_a_viewer_may_use_it(viewer):
    page = await viewer.get("/dashboard/team")
    assert 'id="mode-badge">Test data' in page.text
    page = await viewer.post("/dashboard/mode", {"mode": "live", "next": "/dashboard/team"})
    assert page.url.path == "/dashboard/team" and 'id="mode-badge">Live data' in page.text
    page = await viewer.post("/dashboard/mode", {"mode": "both", "next": "/dashboard/team"})
    assert page.status == 400


async def test_pages_are_in_russian_on_request_and_stay_so(owner):
    page = await owner.get("/dashboard/team", locale="ru")
    assert '<html lang="ru">' in page.text and "Команда" in page.text
    page = await owner.get("/dashboard/team")
    assert "Участники" in page.text


async def test_dashboard_pages_carry_a_strict_csp_with_a_fresh_nonce(owner):
    first = await owner.get("/dashboard/team")
    second = await owner.get("/dashboard/team")
    csp = first.headers["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert csp != second.headers["Content-Security-Policy"]
    nonce = csp.split("'nonce-")[1].split("'")[0]
    assert first.text.count("<script") == first.text.count(f'nonce="{nonce}"')


async def test_a_post_without_any_session_is_a_csrf_refusal_and_sets_no_cookie(owner, visitors, kopek):
    """What a cross-site form gets: SameSite=Lax keeps the cookie home, so the POST arrives without one."""
    stranger = visitors()
    page = await stranger.post("/dashboard/team/invites", {"email": "x@shop.test", "role": "owner"}, csrf="guess")
    assert page.status == 403 and "did not come from your dashboard" in page.text
    assert "Set-Cookie" not in page.headers
    assert db_rows(kopek, "SELECT * FROM invites") == []


async def test_form_errors_are_in_russian_on_a_russian_page(visitors):
    visitor = visitors()
    await visitor.get("/dashboard/signup", locale="ru")
    page = await visitor.post("/dashboard/signup", {"email": "not-an-email", "password": "short", "shop_name": "Моё"})
    assert page.status == 400
    assert "Неверный адрес email." in page.text and "Длина — от 10 до 256 символов." in page.text
    assert "Not a valid email address." not in page.text


async def test_a_tampered_query_is_refused_in_russian_too(owner):
    page = await owner.get("/dashboard/settings/keys", locale="ru", foo="1")
    assert page.status == 400 and "Неизвестное поле." in page.text


async def test_ended_sessions_are_removed_at_the_next_login(owner, visitors, kopek):
    expire_sessions(kopek)
    assert len(db_rows(kopek, "SELECT * FROM dashboard_sessions")) == 1
    page = await visitors().log_in("owner@shop.test")
    assert page.url.path == "/dashboard/payments"
    assert len(db_rows(kopek, "SELECT * FROM dashboard_sessions WHERE expires_at < '2001'")) == 0
