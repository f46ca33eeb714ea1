"""Sign-up on a live server, from outside: closed to new shops by default (no account, no live
key on the page), open with KOPEK_OPEN_SIGNUP; the operator's CLI makes the first user, and the
owners invite the others."""

from __future__ import annotations

import re

import pytest

from support import LIVE_ENV
from kopek import keys
from kopek.providers.registry import PLUGINS
from processes import run_cli
from support import make_settings

from dashboard.conftest import PASSWORD
from dashboard.test_accounts import db_rows


@pytest.fixture
def kopek_settings(tmp_path, unused_tcp_port, monkeypatch, request):
    for name, value in LIVE_ENV.items():
        monkeypatch.setenv(name, value)
    opened = {"open_signup": request.param} if hasattr(request, "param") else {}
    return make_settings(tmp_path, unused_tcp_port, mode="live", **opened,
                         provider_urls={w: f"https://{w}.provider.example" for w in PLUGINS})


async def test_live_sign_up_is_closed_to_new_shops(visitors, kopek):
    visitor = visitors()
    page = await visitor.get("/dashboard/signup")
    assert page.status == 200 and 'id="signup-closed"' in page.text and 'name="shop_name"' not in page.text
    page = await visitor.post("/dashboard/signup", {"email": "new@shop.test", "password": PASSWORD,
                                                    "shop_name": "Sneaky"})
    assert page.status == 403 and "does not take sign-ups for new shops" in page.text
    assert "sk_live_" not in page.text and "pk_live_" not in page.text
    assert db_rows(kopek, "SELECT * FROM users") == []
    assert db_rows(kopek, "SELECT * FROM merchants WHERE name='Sneaky'") == []


@pytest.mark.parametrize("kopek_settings", [True], indirect=True)
async def test_live_sign_up_opens_with_the_setting(visitors, kopek):
    visitor = visitors()
    await visitor.get("/dashboard/signup")
    page = await visitor.post("/dashboard/signup", {"email": "new@shop.test", "password": PASSWORD,
                                                    "shop_name": "Open shop"})
    assert page.status == 200 and page.url.path == "/dashboard/login"
    assert len(db_rows(kopek, "SELECT * FROM users WHERE email='new@shop.test'")) == 1


async def test_the_operator_makes_the_first_user_and_owners_invite_the_others(visitors, kopek):
    done = run_cli("--mode", "live", "user", "create", "--merchant", kopek.merchant.merchant.id,
                   "--email", "first@shop.test", db=kopek.app[keys.SETTINGS].db_path)
    assert done.returncode == 0, done.stderr
    password = re.search(r"password \(shown once\): (\S+)", done.stdout).group(1)
    owner = visitors()
    page = await owner.log_in("first@shop.test", password)
    assert page.url.path == "/dashboard/payments"
    await owner.get("/dashboard/team")
    page = await owner.post("/dashboard/team/invites", {"email": "second@shop.test", "role": "viewer"})
    code = page.find(r'id="invite-code" class="secret">([^<]+)<')
    invited = visitors()
    await invited.get("/dashboard/signup")
    page = await invited.post("/dashboard/signup", {"email": "second@shop.test", "password": PASSWORD,
                                                    "invite_code": code})
    assert page.url.path == "/dashboard/login"
    page = await invited.log_in("second@shop.test")
    assert 'class="who">second@shop.test · viewer' in page.text
