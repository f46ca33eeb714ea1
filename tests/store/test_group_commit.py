"""Group commit on the SQLite writer: units share a COMMIT, none returns before its COMMIT, a failing
unit rolls back alone, and a cancelled one never leaves the writer stuck. Checked with a second,
independent sqlite3 connection to the same file, which sees only what is committed."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from kopek.store.sqlite import SqliteStore


@pytest.fixture
async def store(tmp_path):
    store = SqliteStore(tmp_path / "kopek.db")
    await store.open()
    async with store._transaction() as db:
        await db.execute("CREATE TABLE units (name TEXT PRIMARY KEY)")
    yield store
    await store.close()


def committed_names(store: SqliteStore) -> set[str]:
    with sqlite3.connect(store.path) as outside:
        return {row[0] for row in outside.execute("SELECT name FROM units")}


async def insert(store: SqliteStore, name: str, seen_after: dict[str, bool] | None = None) -> None:
    async with store._transaction() as db:
        await db.execute("INSERT INTO units VALUES (?)", (name,))
        await asyncio.sleep(0)          # let the others queue up behind this unit
    if seen_after is not None:
        seen_after[name] = name in committed_names(store)


async def test_every_unit_returns_after_the_commit_that_holds_it_and_units_share_commits(store):
    seen_after: dict[str, bool] = {}
    group = store._group
    commits, units = group.commits, group.units_committed
    await asyncio.gather(*(insert(store, f"u{n}", seen_after) for n in range(200)))
    assert seen_after == {f"u{n}": True for n in range(200)}
    assert group.units_committed - units == 200 and group.commits - commits < 50, group.commits - commits


async def test_a_failing_unit_rolls_back_alone(store):
    async def failing() -> None:
        async with store._transaction() as db:
            await db.execute("INSERT INTO units VALUES ('lost')")
            await asyncio.sleep(0)
            raise ValueError("the unit's own error")

    results = await asyncio.gather(insert(store, "before"), failing(), insert(store, "after"),
                                   return_exceptions=True)
    assert results[0] is None and isinstance(results[1], ValueError) and results[2] is None
    assert committed_names(store) == {"before", "after"}


async def test_a_constraint_error_inside_a_group_fails_only_its_unit(store):
    await insert(store, "taken")
    results = await asyncio.gather(insert(store, "a"), insert(store, "taken"), insert(store, "b"),
                                   return_exceptions=True)
    assert results[0] is None and isinstance(results[1], sqlite3.IntegrityError) and results[2] is None
    assert committed_names(store) == {"taken", "a", "b"}


async def test_cancelled_units_never_leave_the_writer_stuck(store):
    for round_ in range(20):
        tasks = [asyncio.ensure_future(insert(store, f"r{round_}-{n}")) for n in range(10)]
        await asyncio.sleep(0)
        for task in tasks[1::2]:
            task.cancel()
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout=5)
        for n, task in enumerate(tasks):
            if not task.cancelled() and task.exception() is None:
                assert f"r{round_}-{n}" in committed_names(store)
    await asyncio.wait_for(insert(store, "still-works"), timeout=5)
    assert "still-works" in committed_names(store)


async def test_a_waiter_cancelled_as_the_writer_passes_to_it_does_not_strand_the_group(store):
    """The unit ahead left the group open for the waiter, which is cancelled at that very moment:
    someone must still commit. (The lock's release is wrapped to cancel at exactly that point.)"""
    gate = asyncio.Event()

    async def holder() -> None:
        async with store._transaction() as db:
            await db.execute("INSERT INTO units VALUES ('held')")
            await gate.wait()

    ahead = asyncio.ensure_future(holder())
    await asyncio.sleep(0.05)
    waiter = asyncio.ensure_future(insert(store, "cancelled"))
    await asyncio.sleep(0.05)
    lock = store._group._lock
    release = lock.release

    def release_then_cancel_the_waiter() -> None:
        lock.release = release
        release()
        waiter.cancel()

    lock.release = release_then_cancel_the_waiter
    gate.set()
    await asyncio.wait_for(ahead, timeout=5)
    assert waiter.cancelled() and committed_names(store) == {"held"}


async def test_a_steady_stream_of_writers_cannot_hold_a_commit_back(store):
    """Writers that never stop arriving: groups still commit at MAX_UNITS_PER_COMMIT."""
    from kopek.store.group_commit import MAX_UNITS_PER_COMMIT

    first = asyncio.ensure_future(insert(store, "first"))
    stream = [asyncio.ensure_future(insert(store, f"s{n}")) for n in range(5 * MAX_UNITS_PER_COMMIT)]
    await asyncio.wait_for(asyncio.shield(first), timeout=5)
    assert "first" in committed_names(store)
    await asyncio.gather(*stream)
    assert store._group.largest_group == MAX_UNITS_PER_COMMIT


@pytest.mark.parametrize("steps", range(0, 40))
async def test_a_unit_cancelled_at_any_point_leaves_the_writer_usable(store, steps):
    """A request cancelled after `steps` turns of the loop, wherever that falls (BEGIN, the body,
    COMMIT): the writer must not be left inside a transaction, or every later write fails with
    "cannot start a transaction within a transaction"."""
    unit = asyncio.ensure_future(insert(store, "cancelled"))
    for _ in range(steps):
        await asyncio.sleep(0)
    unit.cancel()
    await asyncio.gather(unit, return_exceptions=True)
    await asyncio.wait_for(insert(store, "after"), timeout=5)
    assert "after" in committed_names(store)
