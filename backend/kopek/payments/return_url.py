"""Where a shopper may be sent back to: only a URL on one of the merchant's allowed origins.

Checked when a payment or a button is made (a 400 `return_url_not_allowed`), and again at the
redirect, since the merchant may have removed the origin since.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from kopek.errors import InvalidRequest
from kopek.merchants import InvalidOrigin, normalize_origin
from kopek.store.sqlite import SqliteStore


def on_allowed_origin(url: str, origins: tuple[str, ...]) -> bool:
    try:
        parts = urlsplit(url)
        return normalize_origin(f"{parts.scheme}://{parts.netloc}") in origins
    except (InvalidOrigin, ValueError):
        return False   # credentials in the URL, a bad port: never a place to send a shopper


async def check_return_url(store: SqliteStore, merchant_id: str, url: str | None) -> None:
    if url is None:
        return
    origins = await store.merchant_origins(merchant_id)
    if not on_allowed_origin(url, origins):
        raise InvalidRequest("return_url must lie on one of your allowed origins "
                             f"({', '.join(origins) or 'none yet; add one in the dashboard'})",
                             param="return_url", code="return_url_not_allowed")
