"""The loop-thread connection answers like aiosqlite for every form the store uses."""

from __future__ import annotations

from kopek.store.inline import InlineConnection


async def test_positional_named_and_generator_parameters_and_cursor_fields(tmp_path):
    db = InlineConnection.open(tmp_path / "t.db")
    await db.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER)")
    await db.executemany("INSERT INTO t VALUES (?, ?)", [("a", 1), ("b", 2)])
    cursor = await db.execute("UPDATE t SET v = v + 1 WHERE k IN (:x, :y)", {"x": "a", "y": "b"})
    assert cursor.rowcount == 2
    async with db.execute("SELECT v FROM t WHERE k = ?", (k for k in ["b"])) as found:
        assert tuple(await found.fetchone()) == (3,)
    rows = await db.execute_fetchall("SELECT k, v FROM t WHERE v >= :least ORDER BY k", {"least": 2})
    assert [(r["k"], r["v"]) for r in rows] == [("a", 2), ("b", 3)]
    await db.close()
