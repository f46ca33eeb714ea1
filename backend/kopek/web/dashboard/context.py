"""Who is asking: the logged-in member, their merchant, the data mode they look at, and the
CSRF token their forms carry (the session's for a member, a signed cookie's for an anonymous
visitor, see visitor.py). Pages and form actions get it through the decorators in access.py."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from aiohttp import web
from aiohttp_session import Session, get_session

from kopek import keys
from kopek.store.accounts import Membership
from kopek.store.records import Merchant
from kopek.web.dashboard import visitor
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
    """`start_session=False` for JSON and websocket routes: they read a session and hand out no
    form token. Only a login starts a session: an anonymous visitor writes nothing."""
    session = await get_session(request)
    member = await _member(request, session)
    locale = _locale(request, session, member is not None)
    if member is not None:
        token = session.get(CSRF_FIELD, "")
    else:
        token = request.app[keys.VISITOR_TOKENS].token(request) if start_session else ""
    context = PageContext(session, locale, token, member)
    request[PAGE] = context
    return context


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def _locale(request: web.Request, session: Session, logged_in: bool) -> str:
    stored = session.get("locale") if logged_in else visitor.chosen_locale(request)
    asked = request.query.get("locale")
    if asked in LOCALES:
        if stored != asked and request.method in ("GET", "HEAD"):
            if logged_in:
                session["locale"] = asked
            else:
                visitor.remember_locale(request, asked)
        return asked
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


def csrf_matches(request: web.Request, context: PageContext, presented: str | None) -> bool:
    if context.member is None:
        return request.app[keys.VISITOR_TOKENS].matches(request, presented)
    return bool(presented) and bool(context.csrf_token) and secrets.compare_digest(context.csrf_token,
                                                                                    str(presented))
