"""Dashboard fixtures: a real Kopek server, and people who use it through their own cookie jars,
as browsers would: an anonymous visitor, a shop owner who signed up, and a viewer they invited."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any, AsyncIterator

import aiohttp
import pytest
from yarl import URL

from kopek import keys

PASSWORD = "correct horse battery"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Page:
    status: int
    text: str
    url: URL
    headers: Any

    def csrf(self) -> str:
        match = CSRF_RE.search(self.text)
        assert match, f"no CSRF token on {self.url}"
        return match.group(1)

    def find(self, pattern: str) -> str:
        match = re.search(pattern, self.text, re.S)
        assert match, f"{pattern!r} not on {self.url}"
        return html.unescape(match.group(1))


@dataclass
class Visitor:
    """One browser: its own cookies, following redirects like a browser does."""

    http: aiohttp.ClientSession
    base_url: str
    last: Page | None = None
    keys: dict[str, str] = field(default_factory=dict)

    async def get(self, path: str, **params: Any) -> Page:
        async with self.http.get(self.base_url + path, params=params or None) as response:
            self.last = Page(response.status, await response.text(), response.url, response.headers)
        return self.last

    async def post(self, path: str, data: dict[str, Any] | list[tuple[str, str]] | None = None, *,
                   csrf: str | None = None, with_csrf: bool = True, **kwargs: Any) -> Page:
        """Post a form the way the page would, with the CSRF token of the last page seen."""
        fields = list(data.items()) if isinstance(data, dict) else list(data or [])
        if with_csrf:
            token = csrf if csrf is not None else (self.last.csrf() if self.last else "")
            fields.append(("csrf_token", token))
        async with self.http.post(self.base_url + path, data=fields, **kwargs) as response:
            self.last = Page(response.status, await response.text(), response.url, response.headers)
        return self.last

    async def sign_up(self, email: str, shop_name: str = "Download shop", password: str = PASSWORD) -> Page:
        """Signs up, then logs in for the first time: that login shows the new shop's keys once."""
        await self.get("/dashboard/signup")
        page = await self.post("/dashboard/signup", {"email": email, "password": password, "shop_name": shop_name})
        assert page.status == 200 and page.url.path == "/dashboard/login", page.text
        page = await self.post("/dashboard/login", {"email": email, "password": password})
        assert page.status == 200 and "Welcome to Kopek" in page.text, page.text
        self.keys = {name: page.find(rf'id="{name}" class="secret">([^<]+)<')
                     for name in ("pk-test", "sk-test", "pk-live", "sk-live")}
        return page

    async def log_in(self, email: str, password: str = PASSWORD) -> Page:
        await self.get("/dashboard/login")
        return await self.post("/dashboard/login", {"email": email, "password": password})

    def cookie(self) -> str | None:
        found = [c for c in self.http.cookie_jar if c.key == "kopek_session"]
        return found[0].value if found else None


@pytest.fixture
async def visitors(kopek: Any) -> AsyncIterator[Any]:
    """Makes visitors for the `kopek` server; each has its own cookie jar."""
    sessions: list[aiohttp.ClientSession] = []

    def make(address: str | None = None) -> Visitor:
        """`address` is the visitor's own, e.g. 127.0.0.2 (Linux answers the whole of 127/8)."""
        jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=[kopek.base_url])
        connector = aiohttp.TCPConnector(local_addr=(address, 0)) if address else None
        http = aiohttp.ClientSession(cookie_jar=jar, connector=connector)
        sessions.append(http)
        return Visitor(http, kopek.base_url)

    yield make
    for http in sessions:
        await http.close()


@pytest.fixture
async def owner(visitors: Any, kopek: Any) -> Visitor:
    visitor = visitors()
    if kopek.app[keys.SETTINGS].sandbox:
        await visitor.sign_up("owner@shop.test")
    else:
        await operator_made_owner(kopek.app, kopek.merchant, visitor)
    return visitor


async def operator_made_owner(app: Any, merchant: Any, visitor: Visitor, email: str = "owner@shop.test") -> None:
    """A live server takes no sign-ups: its operator makes the first user (`kopek user create`)."""
    await app[keys.ACCOUNTS].add_member(merchant.merchant.id, email, "owner", PASSWORD)
    page = await visitor.log_in(email)
    assert page.url.path == "/dashboard/payments", page.text
    visitor.keys = {"pk-test": merchant.publishable_key, "sk-test": merchant.secret_key,
                    "pk-live": merchant.live_publishable_key, "sk-live": merchant.live_secret_key}


@pytest.fixture
async def viewer(owner: Visitor, visitors: Any) -> Visitor:
    """A second user the owner invited as a viewer, logged in."""
    await owner.get("/dashboard/team")
    page = await owner.post("/dashboard/team/invites", {"email": "viewer@shop.test", "role": "viewer"})
    assert page.status == 201, page.text
    code = page.find(r'id="invite-code" class="secret">([^<]+)<')
    visitor = visitors()
    await visitor.get("/dashboard/signup")
    joined = await visitor.post("/dashboard/signup",
                                {"email": "viewer@shop.test", "password": PASSWORD, "invite_code": code})
    assert joined.status == 200 and joined.url.path == "/dashboard/login", joined.text
    joined = await visitor.post("/dashboard/login", {"email": "viewer@shop.test", "password": PASSWORD})
    assert joined.status == 200 and joined.url.path == "/dashboard/payments", joined.text
    return visitor
