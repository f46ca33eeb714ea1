"""What the settings pages share: they take no query string but the layout's `locale`, and speak
the member's language in messages built in Python."""

from __future__ import annotations

import functools
from typing import Any, Awaitable, Callable

from aiohttp import web

from kopek.payments.schemas import EmptySchema
from kopek.web.dashboard.api_forms import load_query
from kopek.web.dashboard.context import PAGE
from kopek.web.dashboard.render import translator

Handler = Callable[..., Awaitable[web.StreamResponse]]


def strict_query(handler: Handler) -> Handler:
    """A tampered query string (`?foo=1`) is a 400 page, never ignored. Put it under @member_page or
    @form_action, so the refusal is a page in the member's language and a form changes nothing."""
    @functools.wraps(handler)
    async def wrapper(request: web.Request, *args: Any) -> web.StreamResponse:
        load_query(request, EmptySchema())
        return await handler(request, *args)
    return wrapper


def say(request: web.Request, en: str, ru: str) -> str:
    return translator(request[PAGE].locale)(en, ru)
