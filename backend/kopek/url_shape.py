"""The shape of an http(s) URL as the OpenAPI document states it, and the fields that accept one.

The pattern is a little narrower than what the validators accept, never wider: every URL it admits
is accepted by marshmallow's Url field and by the webhook guard's url_problem (a test checks this),
so a client that follows the document is never refused for the URL's shape."""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate

MAX_URL_LENGTH = 2048

_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_LAST_LABEL = r"[A-Za-z][A-Za-z0-9-]{0,61}[A-Za-z0-9]"  # no legacy numeric IPv4 spelling; a TLD has 2+
_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_HOST = rf"(({_LABEL}\.){{0,8}}{_LAST_LABEL}|({_OCTET}\.){{3}}{_OCTET})"
_PORT = r"(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})"
_PCHAR = r"([A-Za-z0-9._~!$&'()*+,;=:@-]|%[0-9A-Fa-f]{2})"   # RFC 3986
URL_PATTERN = rf"^https?://{_HOST}(:{_PORT})?(/({_PCHAR}|/)*)?(\?({_PCHAR}|[/?])+)?(#({_PCHAR}|[/?])+)?$"


def url_metadata(description: str) -> dict[str, Any]:
    return {"format": "uri", "pattern": URL_PATTERN, "maxLength": MAX_URL_LENGTH, "description": description}


def http_url(description: str, **kwargs: Any) -> fields.Url:
    """An http(s) URL a shopper's browser is sent to (return_url)."""
    return fields.Url(schemes={"http", "https"}, require_tld=False, validate=validate.Length(max=MAX_URL_LENGTH),
                      metadata=url_metadata(description), **kwargs)
