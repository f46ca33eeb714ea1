"""Who is asking: the logged-in member, their merchant, the data mode they look at, and the
session's CSRF token. Pages and form actions get it through the decorators in access.py."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from aiohttp import web
from aiohttp_session import Session, get_session

from kopek import keys
from kopek.store.accounts import Membership
from kopek.store.records import Merchant
from kopek.web.pages import page_locale

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
LOCALES = ("en", "ru")


@dataclass(frozen=True)
class Member:
    membership: Membership
    merchant: Merchant
    livemode: bool

    @property
    def is_owner(self) -> bool:
        return self.membership.role == "owner"

    @property
    def merchant_id(self) -> str:
        return self.merchant.id


@dataclass(frozen=True)
class PageContext:
    """What every dashboard page renders with."""

    session: Session
    locale: str
    csrf_token: str
    member: Member | None


SESSION_EXPIRED = web.RequestKey("dashboard_session_expired", bool)
PAGE = web.RequestKey("dashboard_page", PageContext)


async def load_page_context(request: web.Request, *, start_session: bool = True) -> PageContext:
    """`start_session=False` for JSON and websocket routes: they read a session, never start one."""
    session = await get_session(request)
    locale = _locale(request, session)
    # Only a page view starts a session: a refused POST (cross-site, or with an ended session)
    # must not answer with a cookie that would replace the one the browser holds.
    if start_session and not session.get(CSRF_FIELD) and request.method in ("GET", "HEAD"):
        session[CSRF_FIELD] = secrets.token_urlsafe(32)
    member = await _member(request, session)
    context = PageContext(session, locale, session.get(CSRF_FIELD, ""), member)
    request[PAGE] = context
    return context


def _locale(request: web.Request, session: Session) -> str:
    asked = request.query.get("locale")
    if asked in LOCALES:
        if session.get("locale") != asked and request.method in ("GET", "HEAD"):
            session["locale"] = asked
        return asked
    stored = session.get("locale")
    return stored if stored in LOCALES else page_locale(request)


async def _member(request: web.Request, session: Session) -> Member | None:
    user_id, merchant_id = session.get("user_id"), session.get("merchant_id")
    if not user_id or not merchant_id:
        request[SESSION_EXPIRED] = bool(request.cookies.get("kopek_session")) and session.new
        return None
    membership = await request.app[keys.ACCOUNTS].store.membership(user_id, merchant_id)
    merchant = await request.app[keys.STORE].get_merchant(merchant_id)
    if membership is None or merchant is None:   # removed from the team since logging in
        session.invalidate()
        return None
    default_live = not request.app[keys.SETTINGS].sandbox
    return Member(membership, merchant, bool(session.get("livemode", default_live)))


def csrf_matches(context: PageContext, presented: str | None) -> bool:
    return bool(presented) and secrets.compare_digest(context.csrf_token, str(presented))
