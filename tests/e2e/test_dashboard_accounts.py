"""Dashboard accounts in a real browser: sign-up, login and logout, login throttling, the keyboard,
CSRF from other origins, a viewer's limits, Russian, and the session cookie's flags.

Every page a test visits is also checked with axe-core and photographed at 1280 and 360 px
(dashboard_support.check_page)."""

from __future__ import annotations

import re
from typing import Callable

import pytest
from playwright.sync_api import Page, Response, expect

from dashboard_support import (
    PASSWORD, check_page, csrf_token, log_in, log_in_with_keyboard, log_out, post_form, sign_up, sign_up_with_code,
    tab_to, unique_email,
)

pytestmark = pytest.mark.e2e
expect.set_options(timeout=15_000)

HOME = "/dashboard/payments"
MAIN_NAV = ["Payments", "Balance", "Settings", "Team", "Sandbox"]
LOGIN_FAILURES_PER_EMAIL = 5          # the server's default (KOPEK_LOGIN_FAILURES_PER_EMAIL)
CSRF_REFUSED = ("This form has expired or did not come from your dashboard, so nothing was changed. "
                "Reload the page and try again.")
OWNER_ONLY = "Only an owner can do this; your role is viewer. Nothing was changed."


def path_of(page: Page) -> str:
    return re.sub(r"^https?://[^/]+", "", page.url)


def expect_main_nav(page: Page, names: list[str], current: str) -> None:
    nav = page.get_by_role("navigation", name=re.compile("^(Dashboard|Кабинет)$"))
    expect(nav.get_by_role("link")).to_have_text(names)
    expect(nav.locator('[aria-current="page"]')).to_have_text(current)


def expect_refusal(page: Page, response: Response | None, status: int, message: str) -> None:
    """Kopek answered with its refusal page: this status and this message."""
    assert response is not None and response.status == status, (
        f"expected {status}, got {response and response.status} on {page.url}")
    expect(page.locator("#message")).to_have_text(message)


def owner_with_shop(new_page: Callable[[], Page], base_url: str, shop: str = "Browser shop") -> tuple[Page, str]:
    page = new_page()
    email = unique_email("owner")
    sign_up(page, base_url, email, shop)
    return page, email


def invite(page: Page, base_url: str, email: str, role: str = "viewer") -> str:
    page.goto(f"{base_url}/dashboard/team")
    form = page.locator('form[action="/dashboard/team/invites"]')
    form.get_by_label("Email").fill(email)
    form.get_by_label("Role").select_option(role)
    with page.expect_navigation() as landed:
        form.get_by_role("button", name="Create invitation").click()
    assert landed.value.status == 201
    return page.locator("#invite-code").inner_text().strip()


def session_cookie(page: Page) -> str | None:
    return next((c["value"] for c in page.context.cookies() if c["name"] == "kopek_session"), None)


def open_invites(page: Page, base_url: str) -> list[str]:
    """The open invitations as the team page lists them (the page must be logged in)."""
    page.goto(f"{base_url}/dashboard/team")
    assert path_of(page) == "/dashboard/team", f"not logged in: the team page went to {page.url}"
    section = page.locator("section", has=page.get_by_role("heading", name="Open invitations"))
    return section.locator("li").all_inner_texts() if section.count() else []


def test_sign_up_shows_keys_once_then_log_out_and_log_in_lands_on_payments(dashboard_server, new_dashboard_page):
    base = dashboard_server.base_url
    page = new_dashboard_page()
    email = unique_email("owner")

    page.goto(f"{base}/dashboard/signup")
    check_page(page, "signup")
    keys = sign_up(page, base, email, "Kopeck Books")
    assert re.fullmatch(r"pk_test_\w+", keys["pk-test"]) and re.fullmatch(r"sk_test_\w+", keys["sk-test"])
    assert re.fullmatch(r"pk_live_\w+", keys["pk-live"]) and re.fullmatch(r"sk_live_\w+", keys["sk-live"])
    expect(page.get_by_role("status")).to_contain_text("will never show them again")
    check_page(page, "signup-welcome-keys")

    page.goto(f"{base}/dashboard/team")
    expect(page.locator("#members")).to_contain_text(email)
    assert keys["sk-test"] not in page.content() and keys["sk-live"] not in page.content()
    check_page(page, "team-owner")

    log_out(page)
    assert path_of(page) == "/dashboard/login"
    check_page(page, "login")
    page.goto(f"{base}/dashboard/team")
    assert path_of(page).startswith("/dashboard/login?next=")

    landed = log_in(page, base, email)
    assert path_of(page) == HOME
    assert landed is not None and landed.status == 200, (
        f"{HOME}, where a login lands, answered {landed and landed.status}")
    expect_main_nav(page, MAIN_NAV, current="Payments")
    expect(page.get_by_role("heading", level=1)).to_have_text("Payments")
    expect(page.locator(".topbar .who")).to_have_text(f"{email} · owner")
    check_page(page, "payments-after-login")


def test_wrong_password_then_throttled_even_with_the_right_one(dashboard_server, new_dashboard_page):
    base = dashboard_server.base_url
    _, email = owner_with_shop(new_dashboard_page, base)
    page = new_dashboard_page()

    landed = log_in(page, base, email, "wrong password 1")
    assert landed.status == 401
    expect(page.get_by_role("alert")).to_contain_text("Wrong email or password.")
    expect(page.get_by_label("Email")).to_have_value(email)
    expect(page.get_by_label("Password")).to_have_value("")
    check_page(page, "login-wrong-password")

    for attempt in range(2, LOGIN_FAILURES_PER_EMAIL + 1):
        assert log_in(page, base, email, f"wrong password {attempt}").status == 401

    landed = log_in(page, base, email)
    assert landed.status == 429
    assert int(landed.headers["retry-after"]) > 0
    expect(page.get_by_role("alert")).to_contain_text(re.compile(r"Too many failed logins\. Try again in \d+ s\."))
    assert path_of(page) == "/dashboard/login"
    check_page(page, "login-throttled")
    page.goto(f"{base}/dashboard/team")
    assert path_of(page).startswith("/dashboard/login"), "a throttled login must not have started a session"


def test_login_form_works_with_the_keyboard_only(dashboard_server, new_dashboard_page):
    base = dashboard_server.base_url
    _, email = owner_with_shop(new_dashboard_page, base)
    page = new_dashboard_page()

    page.goto(f"{base}/dashboard/login")
    check_page(page, "login-keyboard")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()

    landed = log_in_with_keyboard(page, base, email)
    assert landed.status == 200 and path_of(page) == HOME
    expect_main_nav(page, MAIN_NAV, current="Payments")

    tab_to(page, page.get_by_role("button", name="Log out"))
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert path_of(page) == "/dashboard/login"


def test_a_cross_site_form_post_is_refused_changes_nothing_and_keeps_the_user_logged_in(
        dashboard_server, new_dashboard_page, foreign_site):
    """http://localhost:P is another site than Kopek's http://127.0.0.1:Q: the browser withholds the
    SameSite=Lax session cookie from the forged POST. Kopek must refuse it as a forged form, create
    no invitation, and leave the user's own session alone."""
    base = dashboard_server.base_url
    page, email = owner_with_shop(new_dashboard_page, base)
    session_before = session_cookie(page)
    attacker = unique_email("attacker")
    path = foreign_site.auto_post_page(f"{base}/dashboard/team/invites", {"email": attacker, "role": "owner"})

    with page.expect_navigation(url=f"{base}/dashboard/team/invites") as landed:
        page.goto(foreign_site.cross_site + path, wait_until="commit")
    refusal = {"status": landed.value.status, "message": page.locator("#message").inner_text()}
    check_page(page, "csrf-cross-site-refused")
    page.goto(f"{base}/dashboard/team")
    observed = {**refusal, "session cookie kept": session_cookie(page) == session_before,
                "still logged in": path_of(page) == "/dashboard/team"}

    witness = new_dashboard_page()
    log_in(witness, base, email)
    assert not any(attacker in line for line in open_invites(witness, base)), "the forged invitation was created"
    assert observed == {"status": 403, "message": CSRF_REFUSED,
                        "session cookie kept": True, "still logged in": True}


def test_a_form_from_another_origin_of_the_same_site_is_refused_with_403(
        dashboard_server, new_dashboard_page, foreign_site):
    """http://127.0.0.1:P is the same site as Kopek, so the session cookie goes along: only the
    CSRF token stops the forged invite (and the forged logout)."""
    base = dashboard_server.base_url
    page, email = owner_with_shop(new_dashboard_page, base)
    attacker = unique_email("attacker")

    path = foreign_site.auto_post_page(f"{base}/dashboard/team/invites", {"email": attacker, "role": "owner"})
    with page.expect_navigation(url=f"{base}/dashboard/team/invites") as landed:
        page.goto(foreign_site.same_site + path, wait_until="commit")
    expect_refusal(page, landed.value, 403, CSRF_REFUSED)
    check_page(page, "csrf-same-site-refused")
    assert not any(attacker in line for line in open_invites(page, base))

    path = foreign_site.auto_post_page(f"{base}/dashboard/logout", {})
    with page.expect_navigation(url=f"{base}/dashboard/logout") as landed:
        page.goto(foreign_site.same_site + path, wait_until="commit")
    assert landed.value.status == 403
    page.goto(f"{base}/dashboard/team")
    assert path_of(page) == "/dashboard/team", "the forged logout ended the session"


def test_a_page_on_another_port_is_refused_even_with_a_valid_token(
        dashboard_server, new_dashboard_page, foreign_site):
    """A token planted before the login, or leaked, is no use from http://127.0.0.1:P: Chromium
    sends the session cookie (same site) but says the form comes from another origin."""
    base = dashboard_server.base_url
    page, _ = owner_with_shop(new_dashboard_page, base)
    page.goto(f"{base}/dashboard/settings/origins")
    token = csrf_token(page)
    attacker = f"https://attacker-{unique_email('x')[2:12]}.example"
    path = foreign_site.auto_post_page(f"{base}/dashboard/settings/origins", {"origin": attacker, "csrf_token": token})
    with page.expect_navigation(url=f"{base}/dashboard/settings/origins") as landed:
        page.goto(foreign_site.same_site + path, wait_until="commit")
    expect_refusal(page, landed.value, 403, CSRF_REFUSED)
    page.goto(f"{base}/dashboard/settings/origins")
    assert path_of(page) == "/dashboard/settings/origins", "the refusal ended the session"
    expect(page.locator("main")).not_to_contain_text(attacker)


def test_a_session_starts_only_at_login_with_new_tokens(dashboard_server, new_dashboard_page):
    """Browsing anonymously gets no session cookie; logging in gets a new session and a new form
    token, so nothing the visitor held before the login still works after it."""
    base = dashboard_server.base_url
    _, email = owner_with_shop(new_dashboard_page, base)
    page = new_dashboard_page()
    page.goto(f"{base}/dashboard/login")
    before = csrf_token(page)
    assert session_cookie(page) is None
    form_cookie = [c for c in page.context.cookies() if c["name"] == "kopek_form"]
    assert form_cookie and form_cookie[0]["secure"] and form_cookie[0]["httpOnly"], page.context.cookies()
    log_in(page, base, email)
    assert session_cookie(page) and csrf_token(page) != before


def test_the_dashboards_own_form_without_its_csrf_token_is_refused(dashboard_server, new_dashboard_page):
    base = dashboard_server.base_url
    page, email = owner_with_shop(new_dashboard_page, base)
    invited = unique_email("friend")

    page.goto(f"{base}/dashboard/team")
    form = page.locator('form[action="/dashboard/team/invites"]')
    form.get_by_label("Email").fill(invited)
    form.locator('input[name="csrf_token"]').evaluate("input => input.remove()")
    with page.expect_navigation() as landed:
        form.get_by_role("button", name="Create invitation").click()
    expect_refusal(page, landed.value, 403, CSRF_REFUSED)
    assert not any(invited in line for line in open_invites(page, base))


def test_a_viewer_sees_the_team_without_the_invite_form_and_cannot_force_an_invite(
        dashboard_server, new_dashboard_page):
    base = dashboard_server.base_url
    owner, owner_email = owner_with_shop(new_dashboard_page, base)
    viewer_email = unique_email("viewer")
    code = invite(owner, base, viewer_email)
    assert len(code) >= 16
    check_page(owner, "team-invite-code")

    viewer = new_dashboard_page()
    landed = sign_up_with_code(viewer, base, viewer_email, code)
    assert path_of(viewer) == HOME and landed.status == 200, f"{HOME} answered {landed.status}"

    viewer.goto(f"{base}/dashboard/team")
    expect(viewer.locator(".topbar .who")).to_have_text(f"{viewer_email} · viewer")
    expect(viewer.locator("#members")).to_contain_text(owner_email)
    expect(viewer.locator("#members")).to_contain_text(viewer_email)
    expect(viewer.get_by_role("heading", name="Invite someone")).to_have_count(0)
    expect(viewer.locator('form[action="/dashboard/team/invites"]')).to_have_count(0)
    check_page(viewer, "team-viewer")

    forced = unique_email("forced")
    response = post_form(viewer, "/dashboard/team/invites",
                         {"email": forced, "role": "owner", "csrf_token": csrf_token(viewer)})
    expect_refusal(viewer, response, 403, OWNER_ONLY)
    check_page(viewer, "viewer-refused")
    assert not any(forced in line for line in open_invites(owner, base))


def test_russian_is_chosen_with_locale_ru_and_sticks_across_pages(dashboard_server, new_dashboard_page):
    base = dashboard_server.base_url
    _, email = owner_with_shop(new_dashboard_page, base)
    page = new_dashboard_page()

    page.goto(f"{base}/dashboard/login?locale=ru")
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page.get_by_role("heading", level=1)).to_have_text("Вход в Kopek")
    check_page(page, "login-ru")

    page.get_by_label("Email").fill(email)
    page.get_by_label("Пароль").fill("wrong password")
    with page.expect_navigation():
        page.get_by_role("button", name="Войти").click()
    expect(page.get_by_role("alert")).to_contain_text("Неверный email или пароль.")

    page.get_by_label("Пароль").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Войти").click()
    assert path_of(page) == HOME
    expect_main_nav(page, ["Платежи", "Баланс", "Настройки", "Команда", "Песочница"], current="Платежи")

    page.goto(f"{base}/dashboard/team")
    expect(page.get_by_role("heading", level=1)).to_have_text("Команда")
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    check_page(page, "team-ru")

    page.goto(f"{base}/dashboard/team?locale=en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Team")
    page.goto(f"{base}/dashboard/team")
    expect(page.get_by_role("heading", level=1)).to_have_text("Team")


def test_the_session_cookie_is_httponly_samesite_lax_secure_and_kept_on_loopback(
        dashboard_server, new_dashboard_page):
    base = dashboard_server.base_url
    _, email = owner_with_shop(new_dashboard_page, base)
    page = new_dashboard_page()
    log_in(page, base, email)

    cookies = [c for c in page.context.cookies() if c["name"] == "kopek_session"]
    assert len(cookies) == 1, page.context.cookies()
    cookie = cookies[0]
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["secure"]) == (True, "Lax", True), cookie
    assert cookie["domain"] == "127.0.0.1" and cookie["path"] == "/"
    assert "kopek_session" not in page.evaluate("document.cookie")

    page.goto(f"{base}/dashboard/team")
    assert path_of(page) == "/dashboard/team"
    expect(page.locator(".topbar .who")).to_have_text(f"{email} · owner")
