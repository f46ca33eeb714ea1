"""Rendering a dashboard page: locale, a CSP nonce, the CSRF token, the member, one-shot notices."""

from __future__ import annotations

import secrets
from typing import Any, Callable

import aiohttp_jinja2
from aiohttp import web

from kopek import keys
from kopek.web.csp import dashboard_csp
from kopek.web.dashboard.context import PAGE, PageContext
from kopek.web.dashboard.messages_ru import errors_in_russian
from kopek.web.pages import STATIC_BASE

FLASH = "flash"


def translator(locale: str) -> Callable[[str, str], str]:
    def tr(en: str, ru: str) -> str:
        return ru if locale == "ru" else en
    return tr


def flash(request: web.Request, en: str, ru: str) -> None:
    """A notice shown once, on the page the next redirect lands on."""
    request[PAGE].session[FLASH] = [en, ru]


def render(request: web.Request, template: str, context: dict[str, Any] | None = None, *, status: int = 200,
           frame_src: str | None = None) -> web.Response:
    page: PageContext = request[PAGE]
    context = dict(context or {})
    if page.locale == "ru" and isinstance(context.get("errors"), dict):
        context["errors"] = errors_in_russian(context["errors"])
    nonce = secrets.token_urlsafe(18)
    notice = page.session.pop(FLASH, None) if FLASH in page.session else None
    settings = request.app[keys.SETTINGS]
    response = aiohttp_jinja2.render_template(template, request, {
        "locale": page.locale, "tr": translator(page.locale), "csrf_token": page.csrf_token,
        "member": page.member, "nonce": nonce, "static_base": STATIC_BASE, "sandbox": settings.sandbox,
        "path": request.path, "notice": (notice[1] if page.locale == "ru" else notice[0]) if notice else None,
        **context}, status=status)
    response.headers["Content-Security-Policy"] = dashboard_csp(settings.public_base_url, nonce, frame_src)
    response.headers["Cache-Control"] = "no-store"
    # Not `no-referrer`: under it a browser sends `Origin: null` even with the page's own forms,
    # which the same-origin check refuses. `same-origin` still tells other sites nothing.
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def see_other(location: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(location)
