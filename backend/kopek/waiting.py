"""Waiting for an event with a time limit, without losing a cancellation.

Python 3.11's `asyncio.wait_for` returns normally when the event fires in the same turn of the
loop as the task's cancellation, and the cancellation is lost: a background loop that sleeps that
way can then never be stopped, and the server's shutdown waits for it forever.
"""

from __future__ import annotations

import asyncio


async def wait_for_event(event: asyncio.Event, timeout_s: float) -> bool:
    """True when the event was set within timeout_s. A cancellation always propagates."""
    if event.is_set():
        return True
    waiter = asyncio.ensure_future(event.wait())
    try:
        await asyncio.wait({waiter}, timeout=timeout_s)
    finally:
        waiter.cancel()
    return event.is_set()
