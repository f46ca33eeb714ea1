"""kill -9 while 32 clients create payments as fast as they can: every payment the server answered
201 for is there after the restart. The writer answers a request only after the COMMIT that holds
it, so no answer can outrun its data."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from processes import KopekProcess, create_merchant, free_port

CLIENTS = 32


async def create_until_stopped(http: aiohttp.ClientSession, base_url: str, secret_key: str, client: int,
                               answered: list[str], stop: asyncio.Event) -> None:
    n = 0
    while not stop.is_set():
        n += 1
        body = {"amount": 100, "currency": "RUB", "order_id": f"crash-{client}-{n}"}
        try:
            async with http.post(f"{base_url}/v1/payments", json=body,
                                 headers={"Authorization": f"Bearer {secret_key}"}) as response:
                if response.status == 201:
                    answered.append((await response.json())["id"])
        except (aiohttp.ClientError, asyncio.TimeoutError):
            return   # the server is gone


@pytest.mark.timeout(120)
async def test_no_payment_answered_201_is_lost_to_a_kill_9(tmp_path):
    db, port = tmp_path / "kopek.db", free_port()
    merchant = create_merchant(db, "Crash shop", "https://shop.example")
    kopek = KopekProcess(db, port)
    answered: list[str] = []
    stop = asyncio.Event()
    async with aiohttp.ClientSession() as http:
        clients = [asyncio.ensure_future(create_until_stopped(http, kopek.base_url, merchant["secret_key"], n,
                                                              answered, stop)) for n in range(CLIENTS)]
        while len(answered) < 300:
            await asyncio.sleep(0.01)
        kopek.kill()
        stop.set()
        await asyncio.gather(*clients)
    assert len(answered) >= 300

    restarted = KopekProcess(db, port)
    try:
        async with aiohttp.ClientSession() as http:
            missing = []
            for payment_id in answered:
                async with http.get(f"{restarted.base_url}/v1/payments/{payment_id}",
                                    headers={"Authorization": f"Bearer {merchant['secret_key']}"}) as response:
                    if response.status != 200:
                        missing.append((payment_id, response.status))
        assert missing == []
    finally:
        restarted.stop()
