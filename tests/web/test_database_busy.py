"""Another process holding the database's write lock (a `kopek` command on the same file, a
backup tool gone wrong) never blocks the server: reads keep answering, and a write that cannot
get the lock in time answers 503 database_busy with Retry-After, never a 500."""

from __future__ import annotations

import asyncio
import sqlite3

from kopek import keys
from kopek.store import writer


async def test_a_write_lock_held_elsewhere_gives_503_and_reads_keep_answering(kopek, monkeypatch):
    monkeypatch.setattr(writer, "BUSY_GIVE_UP_S", 1.0)
    payment = await kopek.create_payment(order_id="before-the-lock")
    other = sqlite3.connect(kopek.app[keys.STORE].path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        create = asyncio.ensure_future(kopek.client.post(
            "/v1/payments", json={"amount": 500, "currency": "RUB", "order_id": "during-the-lock"},
            headers=kopek.auth()))
        await asyncio.sleep(0.2)
        read = await asyncio.wait_for(kopek.client.get(f"/v1/payments/{payment['id']}", headers=kopek.auth()),
                                      timeout=0.5)
        assert read.status == 200 and not create.done()
        refused = await create
        assert refused.status == 503, await refused.text()
        assert refused.headers["Retry-After"] == "1"
        assert (await refused.json())["error"]["code"] == "database_busy"
    finally:
        other.execute("ROLLBACK")
        other.close()
    retried = await kopek.client.post("/v1/payments", json={"amount": 500, "currency": "RUB",
                                                            "order_id": "during-the-lock"}, headers=kopek.auth())
    assert retried.status == 201, await retried.text()
