"""What an anonymous visitor carries instead of a session row: a signed, short-lived form token
cookie (for the login, sign-up and sandbox forms) and the language they chose.

Nothing is written to the database before a login. The form token is a double submit: the cookie
holds `issued.nonce`, the form carries HMAC(instance key, cookie), so a token is worthless without
the cookie it was made for, and both expire together. Whatever a page on another port of the same
host could plant is stopped by the Origin / Sec-Fetch-Site check, and is never accepted after a
login: members' forms carry their session's own token, minted at the login.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from http.cookies import SimpleCookie

from aiohttp import web

FORM_COOKIE = "kopek_form"
LOCALE_COOKIE = "kopek_locale"
FORM_TOKEN_TTL_S = 2 * 3600
LOCALE_TTL_S = 365 * 86400
PENDING_COOKIES = web.RequestKey("dashboard_visitor_cookies", dict)


class VisitorTokens:
    def __init__(self, key: bytes, *, ttl_s: int = FORM_TOKEN_TTL_S) -> None:
        self._key, self._ttl_s = key, ttl_s

    def token(self, request: web.Request) -> str:
        """This visitor's form token; a page view mints a cookie when theirs is missing or old."""
        cookie = self._fresh_cookie(request)
        if cookie is None:
            if request.method not in ("GET", "HEAD"):
                return ""   # a refused POST must not hand out a cookie
            cookie = self.rotate(request)
        return self._sign(cookie)

    def matches(self, request: web.Request, presented: str | None) -> bool:
        cookie = self._fresh_cookie(request)
        return cookie is not None and bool(presented) and hmac.compare_digest(self._sign(cookie), str(presented))

    def rotate(self, request: web.Request) -> str:
        """A new cookie (at login and logout), so a token planted before them is dead after."""
        cookie = f"{int(time.time())}.{secrets.token_urlsafe(24)}"
        request.setdefault(PENDING_COOKIES, {})[FORM_COOKIE] = (cookie, self._ttl_s)
        return cookie

    def _fresh_cookie(self, request: web.Request) -> str | None:
        pending = request.get(PENDING_COOKIES, {}).get(FORM_COOKIE)
        cookie = pending[0] if pending else request.cookies.get(FORM_COOKIE, "")
        issued, _, nonce = cookie.partition(".")
        if not (issued.isdigit() and nonce and len(cookie) <= 100):
            return None
        return cookie if 0 <= time.time() - int(issued) < self._ttl_s else None

    def _sign(self, cookie: str) -> str:
        return hmac.new(self._key, f"dashboard-form:{cookie}".encode(), hashlib.sha256).hexdigest()


def remember_locale(request: web.Request, locale: str) -> None:
    request.setdefault(PENDING_COOKIES, {})[LOCALE_COOKIE] = (locale, LOCALE_TTL_S)


def chosen_locale(request: web.Request) -> str | None:
    return request.cookies.get(LOCALE_COOKIE)


async def set_pending_cookies(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: the cookies this request decided on, on whatever response it got
    (a page or a redirect). aiohttp has already turned `response.cookies` into headers by now."""
    for name, (value, max_age) in request.get(PENDING_COOKIES, {}).items():
        cookie: SimpleCookie = SimpleCookie()
        cookie[name] = value
        cookie[name].update({"max-age": str(max_age), "path": "/", "secure": True, "httponly": True,
                             "samesite": "Lax"})
        response.headers.add("Set-Cookie", cookie[name].OutputString())
