"""Shopper-facing HTML pages on Kopek's origin: locale, strict CSP, and errors as pages, not JSON."""

from __future__ import annotations

import functools
from typing import Any, Awaitable, Callable

import aiohttp_jinja2
from aiohttp import web

from kopek.errors import KopekError

STATIC_BASE = "/static/widget"
# A page with no script and no frame: it may only load Kopek's stylesheet and post its own forms.
PLAIN_PAGE_CSP = "; ".join([
    "default-src 'none'", "style-src 'self'", "img-src 'self' data:", "frame-ancestors 'none'",
    "base-uri 'none'", "form-action 'self'",
])
TITLES = {
    400: ("This payment cannot start", "Оплату нельзя начать"),
    403: ("This payment link is not valid", "Ссылка на оплату недействительна"),
    404: ("Payment not found", "Платёж не найден"),
    409: ("Payment not finished", "Оплата не завершена"),
    410: ("No longer available", "Больше не действует"),
    429: ("Too many tries", "Слишком много попыток"),
}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class PageError(KopekError):
    """A shopper-facing error, with its message in English and Russian."""

    def __init__(self, status: int, code: str, message_en: str, message_ru: str,
                 retry_after_s: int | None = None) -> None:
        super().__init__(message_en, code=code)
        self.status = status
        self.message_ru = message_ru
        self.retry_after_s = retry_after_s


def page_locale(request: web.Request) -> str:
    wanted = request.query.get("locale") or request.headers.get("Accept-Language", "")
    return "ru" if wanted.lower().startswith("ru") else "en"


def render_page(request: web.Request, template: str, context: dict[str, Any], *, status: int = 200,
                csp: str = PLAIN_PAGE_CSP) -> web.Response:
    response = aiohttp_jinja2.render_template(
        template, request, {"static_base": STATIC_BASE, "locale": page_locale(request), **context}, status=status)
    response.headers["Content-Security-Policy"] = csp
    response.headers["Cache-Control"] = "no-store"
    return response


def error_page(request: web.Request, error: KopekError) -> web.Response:
    ru = page_locale(request) == "ru"
    title_en, title_ru = TITLES.get(error.status, ("Something went wrong", "Что-то пошло не так"))
    message = error.message_ru if ru and isinstance(error, PageError) else error.message
    response = render_page(request, "error.html", {"status": error.status, "title": title_ru if ru else title_en,
                                                   "message": message}, status=error.status)
    retry_after_s = error.retry_after_s if isinstance(error, PageError) else error.extra.get("retry_after_s")
    if retry_after_s:
        response.headers["Retry-After"] = str(retry_after_s)
    return response


def html_errors(handler: Handler) -> Handler:
    """Shoppers reach these routes in a browser, so an error is a page (never the JSON envelope)."""

    @functools.wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except KopekError as exc:
            return error_page(request, exc)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            error = KopekError(exc.reason)
            error.status = exc.status
            return error_page(request, error)

    return wrapper
