"""A background loop that sleeps on its wake event must stop when cancelled, even when the event
fires in the same turn of the loop (the server's shutdown waited forever for the webhook sender)."""

from __future__ import annotations

import asyncio

import pytest

from kopek.waiting import wait_for_event


async def sleeper(event: asyncio.Event, rounds: list[int]) -> None:
    while True:                      # as the webhook sender and the reconciler loop
        rounds.append(1)
        await wait_for_event(event, 60)
        event.clear()


async def test_a_cancel_in_the_same_turn_as_a_wake_stops_the_loop():
    for _ in range(20):
        event, rounds = asyncio.Event(), []
        task = asyncio.ensure_future(sleeper(event, rounds))
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        event.set()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=2)


async def test_it_answers_whether_the_event_came_in_time():
    event = asyncio.Event()
    assert await wait_for_event(event, 0.01) is False
    asyncio.get_running_loop().call_later(0.01, event.set)
    assert await wait_for_event(event, 5) is True
