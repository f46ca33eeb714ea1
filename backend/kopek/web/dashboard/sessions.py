"""Dashboard sessions for aiohttp-session, kept server-side in SQLite.

The cookie carries only a random id (HttpOnly, SameSite=Lax, always Secure: browsers keep Secure
cookies on http://localhost and 127.0.0.1 too); the table keys the session by the id's SHA-256,
so a copy of the database opens no session. A page view never creates a row (sessions start at a
login, see accounts.py). Logging out deletes the row, so an old cookie is worthless at once.
"""

from __future__ import annotations

import json
import time
from aiohttp import web
from aiohttp_session import AbstractStorage, Session

from kopek import clock
from kopek.ids import hash_secret, random_token
from typing import Callable

from kopek.store.accounts import AccountStore

COOKIE_NAME = "kopek_session"


class SqliteSessionStorage(AbstractStorage):
    def __init__(self, accounts: Callable[[], AccountStore], *, max_age: int) -> None:
        """`accounts` is asked at each request: the store opens after the app is built."""
        super().__init__(cookie_name=COOKIE_NAME, max_age=max_age, secure=True, httponly=True, samesite="Lax")
        self._store = accounts

    @property
    def _accounts(self) -> AccountStore:
        return self._store()

    async def load_session(self, request: web.Request) -> Session:
        cookie = self.load_cookie(request)
        raw = await self._accounts.session_data(hash_secret(cookie)) if cookie and len(cookie) <= 128 else None
        if raw is None:
            return Session(None, data=None, new=True, max_age=self.max_age)
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        return Session(cookie, data=data, new=False, max_age=self.max_age)

    async def save_session(self, request: web.Request, response: web.StreamResponse, session: Session) -> None:
        if session.empty:
            if session.identity:
                await self._accounts.delete_session(hash_secret(str(session.identity)))
            self.save_cookie(response, "", max_age=session.max_age)
            return
        if session.identity is None and request.method in ("GET", "HEAD"):
            return   # a page view never creates a session: anonymous visitors cost no row
        key = str(session.identity) if session.identity else random_token(43)
        remaining = max(1, int(session.created + (session.max_age or 0) - time.time()))
        await self._accounts.save_session(hash_secret(key), json.dumps(self._get_session_data(session)),
                                          clock.iso_in(remaining))
        self.save_cookie(response, key, max_age=remaining)

    async def forget(self, request: web.Request) -> None:
        """Drop the row behind the request's cookie (before a login starts a fresh session)."""
        cookie = self.load_cookie(request)
        if cookie and len(cookie) <= 128:
            await self._accounts.delete_session(hash_secret(cookie))
