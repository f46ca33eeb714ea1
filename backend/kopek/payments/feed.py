"""The events feed for shops that poll instead of receiving webhooks (GET /v1/events).

It reads the outbox: every event of the merchant in one mode, oldest first, each carrying the
payment as it was right after the event. `next_cursor` says where the next poll starts.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from kopek.payments import states
from kopek.store.events_feed import EventsFeedStore, FeedRow
from kopek.store.sqlite import SqliteStore

# Every event type the outbox holds. A feature that writes a new type adds it here, so that
# the feed accepts it as a filter.
EVENT_TYPES: tuple[str, ...] = ("payment.created", *dict.fromkeys(states.EVENT_TYPES.values()),
                               "refund.succeeded", "refund.failed")

_CURSOR_PREFIX = "cur_"
_CURSOR_BODY = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_POSITION = re.compile(r"^outbox:(0|[1-9][0-9]{0,17})$")


class CursorInvalid(ValueError):
    pass


def encode_cursor(position: int) -> str:
    return _CURSOR_PREFIX + base64.urlsafe_b64encode(f"outbox:{position}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    body = cursor[len(_CURSOR_PREFIX):] if cursor.startswith(_CURSOR_PREFIX) else ""
    if not _CURSOR_BODY.match(body):
        raise CursorInvalid(cursor)
    try:
        text = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise CursorInvalid(cursor) from exc
    match = _POSITION.match(text)
    if match is None:
        raise CursorInvalid(cursor)
    return int(match.group(1))


# Every exact event type, and every prefix such as `payment.*` that some event type starts with.
KNOWN_TYPE_PATTERNS = (*EVENT_TYPES, *dict.fromkeys(
    ".".join(parts[:depth]) + ".*" for parts in (t.split(".") for t in EVENT_TYPES) for depth in range(1, len(parts))))


def is_known_type(pattern: str) -> bool:
    return pattern in KNOWN_TYPE_PATTERNS


def split_types(patterns: list[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(exact types, prefixes) from checked patterns; `payment.*` becomes the prefix `payment.`."""
    exact = tuple(dict.fromkeys(p for p in patterns if not p.endswith(".*")))
    prefixes = tuple(dict.fromkeys(p[:-1] for p in patterns if p.endswith(".*")))
    return exact, prefixes


def feed_item(row: FeedRow) -> dict[str, Any]:
    return {"id": row.event_id, "object": "event", "type": row.type, "created_at": row.created_at,
            "seq": row.seq, "data": {"object": row.payload}}


class EventFeed:
    def __init__(self, store: SqliteStore) -> None:
        self._rows = EventsFeedStore(store)

    async def page(self, *, merchant_id: str, livemode: bool, after: int | None, types: list[str],
                   limit: int) -> dict[str, Any]:
        """Events past `after` (a position; None is the start), of the `types` patterns if any."""
        position = after or 0
        exact, prefixes = split_types(types)
        rows = await self._rows.after(merchant_id=merchant_id, livemode=livemode, position=position,
                                      types=exact, prefixes=prefixes, limit=limit + 1)
        has_more, rows = len(rows) > limit, rows[:limit]
        return {"object": "list", "data": [feed_item(row) for row in rows], "has_more": has_more,
                "next_cursor": encode_cursor(rows[-1].position if rows else position)}
