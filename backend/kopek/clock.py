"""Timestamps as fixed-width ISO 8601 UTC strings, which sort correctly as text."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def now() -> datetime:
    return datetime.now(timezone.utc)


def to_iso(moment: datetime) -> str:
    # isoformat is several times faster than strftime and gives the same text as _FORMAT.
    return moment.astimezone(timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def from_iso(text: str) -> datetime:
    return datetime.strptime(text, _FORMAT).replace(tzinfo=timezone.utc)


def now_iso() -> str:
    return to_iso(now())


def iso_in(seconds: float) -> str:
    return to_iso(now() + timedelta(seconds=seconds))
