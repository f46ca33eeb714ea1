"""Sign-up from outside: it answers the same whether or not the email has an account (and then
changes nothing), it is throttled per address, and the new shop's keys come at the first login."""

from __future__ import annotations

import re

from dashboard.conftest import PASSWORD
from dashboard.test_accounts import db_rows

VARYING = re.compile(r'(value|nonce|content)="[^"]*"|nonce-[^\']+')


async def raw_sign_up(visitor, fields: dict[str, str]):
    await visitor.get("/dashboard/signup")
    async with visitor.http.post(visitor.base_url + "/dashboard/signup", allow_redirects=False,
                                 data={**fields, "csrf_token": visitor.last.csrf()}) as response:
        return response.status, response.headers.get("Location"), "kopek_session" in str(response.cookies)


async def test_a_known_and_an_unknown_email_get_the_same_answer(owner, visitors, kopek):
    users_before = db_rows(kopek, "SELECT id, email, password_hash FROM users")
    known = await raw_sign_up(visitors(), {"email": "owner@shop.test", "password": "another password",
                                           "shop_name": "Copycat"})
    unknown = await raw_sign_up(visitors(), {"email": "fresh@shop.test", "password": PASSWORD,
                                             "shop_name": "Fresh shop"})
    assert known == unknown == (303, "/dashboard/login?signed_up=1", False)
    pages = [VARYING.sub("", (await visitors().get("/dashboard/login?signed_up=1")).text) for _ in range(2)]
    assert pages[0] == pages[1] and "If this email had no account" in pages[0]
    assert db_rows(kopek, "SELECT id, email, password_hash FROM users WHERE email='owner@shop.test'") == \
        [u for u in users_before if u[1] == "owner@shop.test"]
    assert db_rows(kopek, "SELECT * FROM merchants WHERE name='Copycat'") == []


async def test_the_first_login_shows_fresh_keys_once_and_they_work(visitors, kopek):
    visitor = visitors()
    await raw_sign_up(visitor, {"email": "fresh@shop.test", "password": PASSWORD, "shop_name": "Fresh shop"})
    page = await visitor.log_in("fresh@shop.test")
    assert page.status == 200 and "Welcome to Kopek" in page.text and "Fresh shop" in page.text
    secret = page.find(r'id="sk-test" class="secret">([^<]+)<')
    assert (await kopek.client.get("/v1/payments", headers=kopek.auth(secret))).status == 200
    again = await visitors().log_in("fresh@shop.test")
    assert again.url.path == "/dashboard/payments" and secret not in again.text and "Welcome to Kopek" not in again.text


async def test_sign_up_is_throttled_per_address(visitors, kopek):
    limit = 5   # the default of KOPEK_SIGNUPS_PER_IP_PER_HOUR
    for n in range(limit):
        status, _, _ = await raw_sign_up(visitors(), {"email": f"shop{n}@shop.test", "password": PASSWORD,
                                                      "shop_name": f"Shop {n}"})
        assert status == 303
    visitor = visitors()
    await visitor.get("/dashboard/signup")
    page = await visitor.post("/dashboard/signup", {"email": "one-more@shop.test", "password": PASSWORD,
                                                    "shop_name": "One more"})
    assert page.status == 429 and "Too many sign-ups" in page.text and int(page.headers["Retry-After"]) > 0
    assert db_rows(kopek, "SELECT * FROM users WHERE email='one-more@shop.test'") == []
    assert len(db_rows(kopek, "SELECT * FROM users")) == limit
