"""Decorators for dashboard routes. Each loads the session and then:

- `public_page`: renders for anyone (login, sign-up);
- `member_page`: needs a logged-in member, else redirects to the login page;
- `form_action`: a POST that changes state. It needs a live session, the session's CSRF token
  (form field `csrf_token` or header `X-CSRF-Token`) and, unless `viewer_allowed`, the owner role.
  It refuses with a page that says why, and nothing changes.

Every form (`form_action`, `public_action`) is also refused when the browser says it comes from
another origin (see same_origin.py), whatever token it carries.

Every error a handler raises becomes a page in the member's language, never a 500 or JSON.
"""

from __future__ import annotations

import functools
from typing import Any, Awaitable, Callable
from urllib.parse import quote

from aiohttp import web
from multidict import MultiDictProxy

from kopek.accounts.service import AccountError
from kopek import keys
from kopek.errors import KopekError
from kopek.web.dashboard.context import (
    CSRF_FIELD, CSRF_HEADER, PAGE, SESSION_EXPIRED, Member, csrf_matches, load_page_context,
)
from kopek.web.dashboard.render import render
from kopek.web.dashboard.same_origin import from_elsewhere, origin_of

LOGIN_PATH = "/dashboard/login"
Form = MultiDictProxy[Any]
PublicHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PageHandler = Callable[[web.Request, Member], Awaitable[web.StreamResponse]]
ActionHandler = Callable[[web.Request, Member, Form], Awaitable[web.StreamResponse]]


class DashboardError(Exception):
    """A refusal shown to the member as a page, in their language."""

    def __init__(self, status: int, en: str, ru: str, *, retry_after_s: int | None = None) -> None:
        super().__init__(en)
        self.status, self.en, self.ru, self.retry_after_s = status, en, ru, retry_after_s


def public_page(handler: PublicHandler) -> PublicHandler:
    @functools.wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        await load_page_context(request)
        return await _as_page(request, handler(request))
    return wrapper


def member_page(handler: PageHandler) -> PublicHandler:
    @functools.wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        context = await load_page_context(request)
        if context.member is None:
            return _to_login(request)
        return await _as_page(request, handler(request, context.member))
    return wrapper


def form_action(*, viewer_allowed: bool = False) -> Callable[[ActionHandler], PublicHandler]:
    def decorate(handler: ActionHandler) -> PublicHandler:
        @functools.wraps(handler)
        async def wrapper(request: web.Request) -> web.StreamResponse:
            context = await load_page_context(request)
            return await _as_page(request, _checked(request, handler, viewer_allowed, context.member))
        return wrapper
    return decorate


def public_action(handler: Callable[[web.Request, Form], Awaitable[web.StreamResponse]]) -> PublicHandler:
    """A form anyone may post (login, sign-up): the CSRF token still has to match the session's."""
    @functools.wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        await load_page_context(request)
        return await _as_page(request, _with_form(request, handler))
    return wrapper


async def _with_form(request: web.Request,
                     handler: Callable[[web.Request, Form], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    return await handler(request, await read_form(request))


async def read_form(request: web.Request) -> Form:
    if from_elsewhere(request, origin_of(request.app[keys.SETTINGS].public_base_url)):
        raise _forged()
    form = await request.post()
    if not csrf_matches(request, request[PAGE], form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)):
        raise _forged()
    return form


def _forged() -> DashboardError:
    return DashboardError(403, "This form has expired or did not come from your dashboard, so nothing "
                             "was changed. Reload the page and try again.",
                             "Форма устарела или отправлена не из вашего кабинета, поэтому ничего не "
                             "изменилось. Обновите страницу и повторите.")


async def _checked(request: web.Request, handler: ActionHandler, viewer_allowed: bool,
                   member: Member | None) -> web.StreamResponse:
    if member is None and request.get(SESSION_EXPIRED):
        raise _session_expired()
    form = await read_form(request)
    if member is None:  # a token that matches an anonymous session: a login form, not this one
        raise _session_expired()
    if not viewer_allowed and not member.is_owner:
        raise owner_only()
    return await handler(request, member, form)


def owner_only() -> DashboardError:
    return DashboardError(403, "Only an owner can do this; your role is viewer. Nothing was changed.",
                          "Это может только владелец; ваша роль — наблюдатель. Ничего не изменилось.")


def _session_expired() -> DashboardError:
    return DashboardError(401, "Your session has ended, so nothing was changed. Log in again.",
                          "Сеанс завершён, поэтому ничего не изменилось. Войдите снова.")


def _to_login(request: web.Request) -> web.StreamResponse:
    expired = "&expired=1" if request.get(SESSION_EXPIRED) else ""
    raise web.HTTPSeeOther(f"{LOGIN_PATH}?next={quote(request.path_qs, safe='')}{expired}")


async def _as_page(request: web.Request, work: Awaitable[web.StreamResponse]) -> web.StreamResponse:
    try:
        return await work
    except DashboardError as exc:
        return error_page(request, exc.status, exc.en, exc.ru, exc.retry_after_s)
    except AccountError as exc:
        return error_page(request, exc.status, exc.message_en, exc.message_ru, exc.retry_after_s)
    except KopekError as exc:
        return error_page(request, exc.status, exc.message, exc.message, exc.extra.get("retry_after_s"))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return error_page(request, exc.status, exc.reason, exc.reason)


def error_page(request: web.Request, status: int, en: str, ru: str, retry_after_s: int | None = None) -> web.Response:
    page = request[PAGE]
    response = render(request, "dashboard/message.html",
                      {"status": status, "message": ru if page.locale == "ru" else en}, status=status)
    if retry_after_s:
        response.headers["Retry-After"] = str(retry_after_s)
    return response
