"""The login throttle from outside: atomic under concurrency, and it cannot lock the owner out."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from dashboard.conftest import PASSWORD
from support import make_settings

EMAIL = "owner@shop.test"


@pytest.fixture
def kopek_settings(tmp_path, unused_tcp_port, request):
    return make_settings(tmp_path, unused_tcp_port, **getattr(request, "param", {}))


async def test_forty_concurrent_wrong_passwords_are_not_all_checked(owner, visitors):
    attackers = [visitors("127.0.0.7") for _ in range(40)]
    await asyncio.gather(*(a.get("/dashboard/login") for a in attackers))
    pages = await asyncio.gather(*(a.post("/dashboard/login", {"email": EMAIL, "password": "wrong password!"})
                                   for a in attackers))
    statuses = Counter(page.status for page in pages)
    assert statuses == {401: 5, 429: 35}, statuses
    assert all(int(p.headers["Retry-After"]) > 0 for p in pages if p.status == 429)


async def test_the_owner_logs_in_after_someone_else_failed_from_another_address(owner, visitors):
    attacker = visitors("127.0.0.8")
    for _ in range(8):
        page = await attacker.log_in(EMAIL, "wrong password!")
        assert page.status in (401, 429)
    assert (await attacker.log_in(EMAIL, PASSWORD)).status == 429, "the guesser's own address waits"
    page = await visitors("127.0.0.9").log_in(EMAIL, PASSWORD)
    assert page.status == 200 and page.url.path.startswith("/dashboard"), page.text


async def test_a_right_password_takes_its_try_back(owner, visitors):
    visitor = visitors("127.0.0.10")
    for _ in range(4):
        assert (await visitor.log_in(EMAIL, "wrong password!")).status == 401
    for _ in range(3):   # right logins do not add up with the wrong ones
        assert (await visitor.log_in(EMAIL, PASSWORD)).status == 200
    assert (await visitor.log_in(EMAIL, "wrong password!")).status == 401


@pytest.mark.parametrize("kopek_settings", [{"login_failures_per_ip": 4}], indirect=True)
async def test_one_address_guessing_many_emails_waits_but_the_owner_elsewhere_logs_in(owner, visitors):
    """30 failed logins per address (4 here), whichever emails they were for, each tried once, far
    under its own five: the owner's email among them."""
    attacker = visitors("127.0.0.11")
    emails = [EMAIL] + [f"someone{n}@shop.test" for n in range(4)]
    pages = [await attacker.log_in(email, "wrong password!") for email in emails]
    assert [page.status for page in pages] == [401] * 4 + [429], [page.text for page in pages]
    assert "Wrong email or password." in pages[0].text
    refused = pages[-1]
    assert "Too many failed logins. Try again in" in refused.text and int(refused.headers["Retry-After"]) > 0
    assert refused.url.path == "/dashboard/login"
    assert (await attacker.log_in("never-tried@shop.test", "wrong password!")).status == 429
    assert (await attacker.log_in(EMAIL, PASSWORD)).status == 429, "the guessing address waits"
    page = await visitors("127.0.0.12").log_in(EMAIL, PASSWORD)
    assert page.status == 200 and page.url.path.startswith("/dashboard"), page.text
    assert "Too many failed logins" not in page.text
