"""Behind the operator's reverse proxy every request comes from the proxy's address. Limits keyed
by address must still tell shoppers apart, and a shopper must not be able to choose their own
address by sending X-Forwarded-For to a Kopek that trusts no proxy."""

from __future__ import annotations

import pytest

from kopek.web.requests import API_KEY_GUESSES
from support import make_settings

FREE = API_KEY_GUESSES.free


@pytest.fixture
def kopek_settings(tmp_path, unused_tcp_port, request):
    return make_settings(tmp_path, unused_tcp_port, **getattr(request, "param", {}))


async def wrong_key_from(kopek, forwarded_for: str) -> int:
    response = await kopek.client.get("/v1/payments", headers={
        "Authorization": "Bearer sk_test_wrong", "X-Forwarded-For": forwarded_for})
    return response.status


@pytest.mark.parametrize("kopek_settings", [{"trusted_proxies": "127.0.0.0/8"}], indirect=True)
async def test_shoppers_behind_a_trusted_proxy_are_limited_each_on_their_own(kopek):
    guesser = [await wrong_key_from(kopek, "198.51.100.7, 127.0.0.1") for _ in range(FREE + 1)]
    assert guesser == [401] * FREE + [429]
    assert await wrong_key_from(kopek, "203.0.113.9") == 401, "another shopper behind the proxy is not held back"
    listed = await kopek.client.get("/v1/payments", headers={**kopek.auth(), "X-Forwarded-For": "203.0.113.9"})
    assert listed.status == 200


@pytest.mark.parametrize("kopek_settings", [{"trusted_proxies": "127.0.0.0/8"}], indirect=True)
async def test_a_client_cannot_prepend_addresses_to_escape_the_proxys_hop(kopek):
    # The proxy appends the real peer; whatever the client wrote to the left is not believed.
    statuses = [await wrong_key_from(kopek, f"10.0.0.{n}, 198.51.100.7") for n in range(FREE + 1)]
    assert statuses == [401] * FREE + [429]


async def test_without_trusted_proxies_x_forwarded_for_is_ignored(kopek):
    statuses = [await wrong_key_from(kopek, f"198.51.100.{n}") for n in range(FREE + 1)]
    assert statuses == [401] * FREE + [429]


def test_a_bad_trusted_proxy_entry_is_refused_with_its_name(tmp_path):
    with pytest.raises(ValueError, match="not-a-network"):
        make_settings(tmp_path, 8080, trusted_proxies="10.0.0.0/8, not-a-network")
