"""Helpers the tests share: a shopper's steps through the checkout API."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

from kopek.settings import Settings

SUCCEEDS, DECLINED, INSUFFICIENT, SLOW, WRONG_CODES, NOT_FOUND = (
    "R100000000001", "R100000000002", "R100000000003", "R100000000004", "R100000000005", "R100000000009")


async def attempt(kopek, payment, account, key=None, wallet="webmoney"):
    return await kopek.client.post(
        f"/v1/checkout/{payment['id']}/attempts", json={"wallet": wallet, "details": {"account": account}},
        headers={**kopek.checkout_headers(payment), "Idempotency-Key": key or str(uuid.uuid4())})


async def confirm(kopek, payment, code):
    return await kopek.client.post(f"/v1/checkout/{payment['id']}/confirm", json={"code": code},
                                   headers=kopek.checkout_headers(payment))


async def wait_for_status(kopek, payment, wanted, timeout_s=10.0):
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        current = await (await kopek.client.get(f"/v1/payments/{payment['id']}", headers=kopek.auth())).json()
        if current["status"] == wanted or asyncio.get_running_loop().time() > deadline:
            return current
        await asyncio.sleep(0.05)


async def event_types(kopek, payment):
    events = await (await kopek.client.get(f"/v1/payments/{payment['id']}/events", headers=kopek.auth())).json()
    seqs = [e["seq"] for e in events["data"]]
    assert seqs == list(range(1, len(seqs) + 1)), "seq must be gapless"
    return [e["type"] for e in events["data"]]


def make_settings(tmp_path: Path, port: int, **overrides: Any) -> Settings:
    defaults: dict[str, Any] = dict(port=port, db_path=tmp_path / "kopek.db", sandbox_time_scale=0.01,
                                    expiry_sweep_interval_s=0.05)
    defaults.update(overrides)
    return Settings(**defaults)


# A live-mode server: providers configured (never called in these tests), live keys.
LIVE_ENV = {
    "KOPEK_WEBMONEY_WMID": "123456789012", "KOPEK_WEBMONEY_PURSE_RUB": "P123456789012",
    "KOPEK_WEBMONEY_SECRET_KEY": "s", "KOPEK_WEBMONEY_NOTIFY_SECRET": "n",
    "KOPEK_YANDEX_DENGI_WALLET": "410011234567801", "KOPEK_YANDEX_DENGI_TOKEN": "t",
    "KOPEK_YANDEX_DENGI_NOTIFICATION_SECRET": "n",
    "KOPEK_EPORT_MERCHANT_ID": "m", "KOPEK_EPORT_SECRET": "s", "KOPEK_EPORT_NOTIFY_SECRET": "n",
    "KOPEK_KREDITPILOT_KEY_ID": "k", "KOPEK_KREDITPILOT_SECRET": "s", "KOPEK_KREDITPILOT_NOTIFY_SECRET": "n",
}
