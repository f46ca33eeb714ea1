"""The SQLite writer: no unit returns before its COMMIT, a failing unit rolls back alone, a
cancelled one never leaves the writer stuck, and another process holding the write lock never
blocks the event loop. Checked with a second, independent sqlite3 connection to the same file,
which sees only what is committed."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from kopek.store.records import DatabaseBusy
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


async def test_every_unit_returns_after_the_commit_that_holds_it(store):
    seen_after: dict[str, bool] = {}
    await asyncio.gather(*(insert(store, f"u{n}", seen_after) for n in range(200)))
    assert seen_after == {f"u{n}": True for n in range(200)}


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


async def test_a_constraint_error_fails_only_its_unit(store):
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


@pytest.mark.parametrize("steps", range(0, 40))
async def test_a_unit_cancelled_at_any_point_leaves_the_writer_usable(store, steps):
    """A request cancelled after `steps` turns of the loop, wherever that falls (waiting for the
    writer, the body, the return): the writer must not be left inside a transaction, or every
    later write fails with "cannot start a transaction within a transaction"."""
    unit = asyncio.ensure_future(insert(store, "cancelled"))
    for _ in range(steps):
        await asyncio.sleep(0)
    unit.cancel()
    await asyncio.gather(unit, return_exceptions=True)
    await asyncio.wait_for(insert(store, "after"), timeout=5)
    assert "after" in committed_names(store)


def hold_write_lock(store: SqliteStore) -> sqlite3.Connection:
    """Another process's write transaction on the same file, as a `kopek` command would hold."""
    other = sqlite3.connect(store.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO units VALUES ('other')")
    return other


async def test_a_write_lock_held_by_another_process_does_not_block_the_loop(store):
    other = hold_write_lock(store)
    unit = asyncio.ensure_future(insert(store, "waited"))
    ticks = 0
    for _ in range(20):             # the loop keeps turning while the unit waits for the lock
        await asyncio.sleep(0.01)
        ticks += 1
    assert not unit.done() and ticks == 20
    other.execute("COMMIT")
    other.close()
    await asyncio.wait_for(unit, timeout=5)
    assert committed_names(store) == {"other", "waited"}


async def test_a_write_lock_never_released_fails_the_unit_with_a_clear_error(store, monkeypatch):
    from kopek.store import writer

    monkeypatch.setattr(writer, "BUSY_GIVE_UP_S", 0.2)
    other = hold_write_lock(store)
    try:
        with pytest.raises(DatabaseBusy):
            await asyncio.wait_for(insert(store, "refused"), timeout=5)
    finally:
        other.execute("ROLLBACK")
        other.close()
    await insert(store, "after")
    assert committed_names(store) == {"after"}


async def insert_at_once(store: SqliteStore, name: str) -> None:
    """A unit that awaits nothing but the store, as the store's own units do: it runs in one step."""
    async with store._transaction() as db:
        await db.execute("INSERT INTO units VALUES (?)", (name,))


def count_commits(store: SqliteStore) -> list[str]:
    commits: list[str] = []
    store._writer.sqlite.set_trace_callback(lambda sql: commits.append(sql) if sql == "COMMIT" else None)
    return commits


async def test_units_of_the_same_turn_share_one_commit(store):
    commits = count_commits(store)
    await asyncio.gather(*(insert_at_once(store, f"g{n}") for n in range(100)))
    assert committed_names(store) == {f"g{n}" for n in range(100)}
    assert 1 <= len(commits) <= 5, f"{len(commits)} COMMITs for 100 units"


async def test_a_failing_unit_in_a_group_rolls_back_alone(store):
    async def failing() -> None:
        async with store._transaction() as db:
            await db.execute("INSERT INTO units VALUES ('lost')")
            raise ValueError("the unit's own error")

    commits = count_commits(store)
    results = await asyncio.gather(insert_at_once(store, "a"), failing(), insert_at_once(store, "b"),
                                   return_exceptions=True)
    assert results[0] is None and isinstance(results[1], ValueError) and results[2] is None
    assert committed_names(store) == {"a", "b"} and len(commits) == 1


async def test_a_commit_that_fails_fails_every_unit_of_its_group_and_none_is_kept(store):
    """A deferred foreign key is checked only at COMMIT: one bad unit fails its whole group, and
    none of the group's units returns as if it had been written."""
    async with store._transaction() as db:
        await db.execute("CREATE TABLE parents (id TEXT PRIMARY KEY)")
        await db.execute("CREATE TABLE children (parent TEXT REFERENCES parents(id) DEFERRABLE INITIALLY DEFERRED)")

    async def orphan() -> None:
        async with store._transaction() as db:
            await db.execute("INSERT INTO children VALUES ('nobody')")

    results = await asyncio.gather(insert_at_once(store, "x"), orphan(), insert_at_once(store, "y"),
                                   return_exceptions=True)
    assert all(isinstance(result, sqlite3.IntegrityError) for result in results), results
    assert committed_names(store) == set()
    await insert_at_once(store, "next")
    assert committed_names(store) == {"next"}


async def test_a_waiter_cancelled_during_the_commit_does_not_cancel_the_others(store):
    tasks = [asyncio.ensure_future(insert_at_once(store, f"c{n}")) for n in range(10)]
    for _ in range(3):
        await asyncio.sleep(0)
    tasks[0].cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert all(task.exception() is None for task in tasks[1:])
    assert {f"c{n}" for n in range(1, 10)} <= committed_names(store)
