"""Content-Security-Policy headers for Kopek's pages."""

from __future__ import annotations

from typing import Iterable
from urllib.parse import urlsplit


def websocket_origin(public_base_url: str) -> str:
    parts = urlsplit(public_base_url)
    return f"{'wss' if parts.scheme == 'https' else 'ws'}://{parts.netloc}"


def frame_csp(public_base_url: str, frame_ancestors: Iterable[str], script: str, style: str) -> str:
    """The checkout frame: its one inline script and style by hash (web/inline_assets.py), nothing else."""
    ancestors = " ".join(frame_ancestors) or "'none'"
    return "; ".join([
        "default-src 'none'", f"script-src {script}", f"style-src {style}",
        f"connect-src 'self' {websocket_origin(public_base_url)}", "img-src 'self' data:",
        f"frame-ancestors {ancestors}", "base-uri 'none'", "form-action 'none'",
    ])


def page_csp(public_base_url: str, nonce: str | None = None) -> str:
    """A Kopek page that embeds the widget itself (the sandbox)."""
    script = "script-src 'self'" + (f" 'nonce-{nonce}'" if nonce else "")
    return "; ".join([
        "default-src 'none'", script, "style-src 'self'", f"frame-src {public_base_url}",
        f"connect-src 'self' {websocket_origin(public_base_url)}", "img-src 'self' data:",
        "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'",
    ])


def dashboard_csp(public_base_url: str, nonce: str, frame_src: str | None = None) -> str:
    """Dashboard and console pages: scripts only from Kopek with this response's nonce, no inline
    styles, forms post only to Kopek, and no one may frame them."""
    return "; ".join([
        "default-src 'none'", f"script-src 'self' 'nonce-{nonce}'", "style-src 'self'", "img-src 'self' data:",
        f"connect-src 'self' {websocket_origin(public_base_url)}", "frame-src " + (frame_src or "'none'"),
        "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'",
    ])
