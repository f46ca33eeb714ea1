"""The idempotency keys' table: claims, their owners, expiry, the purge and the start-up release."""

from __future__ import annotations

import pytest

from kopek import clock, keys
from kopek.app import create_app
from kopek.master_key import open_keyring
from kopek.merchants import create_merchant
from kopek.store.idempotency import IdempotencyStore, KeyScope, StoredResponse
from kopek.store.sqlite import SqliteStore
from support import make_settings

RESPONSE = StoredResponse(201, "application/json; charset=utf-8", b'{"id": "pay_1"}')


@pytest.fixture
async def keystore(tmp_path):
    store = SqliteStore(tmp_path / "kopek.db")
    await store.open()
    merchant = await create_merchant(store, "Shop", ["https://shop.test"])
    yield IdempotencyStore(store), merchant.merchant.id
    await store.close()


async def _claim(store, scope, token, created_after=""):
    return await store.claim(scope, token=token, fingerprint="f", method="POST", path="/v1/payments",
                             created_after=created_after)


async def test_the_first_claim_wins_and_only_its_owner_completes_it(keystore):
    store, merchant_id = keystore
    scope = KeyScope(merchant_id, False, "k")
    assert (await _claim(store, scope, "first")).token == "first"
    second = await _claim(store, scope, "second")
    assert second.token == "first" and second.response is None
    assert await store.complete(scope, "second", RESPONSE) is False
    assert await store.complete(scope, "first", RESPONSE) is True
    assert (await store.find(scope, "")).response == RESPONSE
    await store.release(scope, "first")  # a kept response is never released
    assert (await store.find(scope, "")).response == RESPONSE


async def test_an_expired_key_is_ignored_and_replaced(keystore):
    store, merchant_id = keystore
    scope = KeyScope(merchant_id, False, "k")
    await _claim(store, scope, "old")
    await store.complete(scope, "old", RESPONSE)
    future = clock.iso_in(60)
    assert await store.find(scope, future) is None
    assert (await _claim(store, scope, "new", created_after=future)).token == "new"


async def test_the_purge_is_bounded_per_call(keystore):
    store, merchant_id = keystore
    for i in range(5):
        await _claim(store, KeyScope(merchant_id, False, f"k{i}"), f"t{i}")
    future = clock.iso_in(60)
    assert await store.purge(future, 2) == 2
    assert await store.count(merchant_id) == 3
    assert await store.purge(clock.iso_in(-60), 10) == 0
    assert await store.purge(future, 10) == 3


async def test_claims_cut_off_by_a_stop_are_released_at_start(tmp_path, unused_tcp_port, aiohttp_client):
    settings = make_settings(tmp_path, unused_tcp_port)
    store = SqliteStore(settings.db_path)
    await store.open()
    await open_keyring(settings, store)
    merchant = await create_merchant(store, "Shop", ["https://shop.test"])
    keystore = IdempotencyStore(store)
    done, cut_off = KeyScope(merchant.merchant.id, False, "done"), KeyScope(merchant.merchant.id, False, "cut")
    await _claim(keystore, done, "a")
    await keystore.complete(done, "a", RESPONSE)
    await _claim(keystore, cut_off, "b")
    await store.close()

    app = create_app(settings)
    await aiohttp_client(app)
    restarted = IdempotencyStore(app[keys.STORE])
    assert await restarted.find(cut_off, "") is None
    assert (await restarted.find(done, "")).response == RESPONSE
