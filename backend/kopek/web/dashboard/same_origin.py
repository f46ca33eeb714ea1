"""Is a state-changing request from Kopek's own pages? Browsers say where a request comes from
(`Origin`, `Sec-Fetch-Site`); a page on another port of the same host is the same *site* (so it
gets the SameSite=Lax cookie) but not the same *origin*, and is refused here. A client that sends
neither header (curl, an old browser) still has to present the form's CSRF token."""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web

DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> str:
    """`scheme://host[:port]` as a browser spells it in `Origin` (no default port)."""
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    host = f"[{host}]" if ":" in host else host
    port = parts.port
    return f"{scheme}://{host}" if port in (None, DEFAULT_PORTS.get(scheme)) else f"{scheme}://{host}:{port}"


def from_elsewhere(request: web.Request, own_origin: str) -> bool:
    origin = request.headers.get("Origin")
    if origin is not None and origin != own_origin:
        return True
    site = request.headers.get("Sec-Fetch-Site")
    return site is not None and site != "same-origin"
