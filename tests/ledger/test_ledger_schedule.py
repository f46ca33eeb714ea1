"""Providers settle on their schedule, compressed by the sandbox time scale: money becomes
available without anyone asking."""

from __future__ import annotations

import asyncio

import pytest

from kopek import keys
from kopek.settings import settings_from_env
from ledger_helpers import pay
from support import make_settings


@pytest.fixture
def kopek_settings(tmp_path, unused_tcp_port):
    # 20 s "daily" at a time scale of 0.01: a provider settles every 0.2 s.
    return make_settings(tmp_path, unused_tcp_port, provider_settlement_interval_s=20.0)


async def test_pending_money_becomes_available_when_the_providers_scheduled_settlement_arrives(kopek):
    await pay(kopek.app[keys.PAYMENTS], kopek.merchant.merchant.id, 10_000, "yandex_dengi", "SCH-1")
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        balance = await (await kopek.client.get("/v1/balance", headers=kopek.auth())).json()
        if balance["available"] == [{"currency": "RUB", "amount": 9_850}] or \
                asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.05)
    assert balance["available"] == [{"currency": "RUB", "amount": 9_850}]
    assert balance["pending"] == [{"currency": "RUB", "amount": 0}]
    assert await kopek.app[keys.STORE].get_instance_setting("ledger.provider_settlement_last_run")


def test_the_interval_comes_from_the_environment_and_must_be_positive():
    assert settings_from_env({"KOPEK_PROVIDER_SETTLEMENT_INTERVAL_S": "3600"}).provider_settlement_interval_s == 3600
    assert settings_from_env({}).provider_settlement_interval_s == 86400
    with pytest.raises(ValueError, match="provider settlement interval"):
        settings_from_env({"KOPEK_PROVIDER_SETTLEMENT_INTERVAL_S": "-1"})
