"""Signing, the retry schedule, Retry-After, the SSRF guard's address rules: no network needed."""

from __future__ import annotations

import base64
import ipaddress
import random
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
import standardwebhooks

from kopek.store.webhooks import WebhookEndpoint
from kopek.webhooks import guard, schedule, signing, transport

KEY = bytes(range(32))


def endpoint(**changes: object) -> WebhookEndpoint:
    fields: dict[str, object] = dict(
        id="we_test", merchant_id="mer_x", livemode=False, url="https://shop.example/hooks", description="",
        events=("payment.succeeded",), status="enabled", disabled_reason=None, secret_version=1,
        previous_secret_version=None, previous_secret_expires_at=None, created_at="", updated_at="")
    fields.update(changes)
    return WebhookEndpoint(**fields)  # type: ignore[arg-type]


def test_secret_is_whsec_and_32_bytes_and_depends_on_endpoint_and_version():
    secret = signing.derive_secret(KEY, "we_1", 1)
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
    assert secret == signing.derive_secret(KEY, "we_1", 1)
    assert len({secret, signing.derive_secret(KEY, "we_1", 2), signing.derive_secret(KEY, "we_2", 1),
                signing.derive_secret(b"another instance key", "we_1", 1)}) == 4


def test_signature_verifies_with_the_standardwebhooks_package():
    secret = signing.derive_secret(KEY, "we_1", 1)
    body = '{"id":"evt_1","type":"payment.succeeded","data":{"object":{"description":"чай"}}}'.encode()
    timestamp = int(datetime.now(timezone.utc).timestamp())
    headers = {"webhook-id": "evt_1", "webhook-timestamp": str(timestamp),
               "webhook-signature": signing.signature_header([secret], "evt_1", timestamp, body)}
    assert standardwebhooks.Webhook(secret).verify(body, headers)["id"] == "evt_1"
    tampered = body.replace(b"evt_1", b"evt_2")
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.Webhook(secret).verify(tampered, headers)
    assert signing.sign(secret, "evt_1", timestamp, body) == \
        standardwebhooks.Webhook(secret).sign("evt_1", datetime.fromtimestamp(timestamp, timezone.utc), body.decode())


def test_previous_secret_signs_only_during_its_overlap():
    rotated = endpoint(secret_version=2, previous_secret_version=1,
                       previous_secret_expires_at="2030-01-01T00:00:00.000000Z")
    now = "2029-12-31T23:59:59.000000Z"
    assert signing.signing_secrets([KEY], rotated, now) == [signing.derive_secret(KEY, "we_test", 2),
                                                          signing.derive_secret(KEY, "we_test", 1)]
    assert signing.signing_secrets([KEY], rotated, "2030-01-01T00:00:00.000001Z") == \
        [signing.derive_secret(KEY, "we_test", 2)]
    assert len(signing.signing_secrets([KEY], endpoint(), now)) == 1


def test_retry_schedule_is_ten_attempts_with_jitter_and_scale():
    rng = random.Random(7)
    delays = [schedule.retry_delay(n, 1.0, rng) for n in range(1, 11)]
    assert delays[-1] is None and schedule.MAX_ATTEMPTS == 10
    expected = [5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]
    for delay, base in zip(delays, expected):
        assert delay is not None and base * 0.9 <= delay <= base * 1.1
    assert 0.0045 <= schedule.retry_delay(1, 0.001, rng) <= 0.0055  # type: ignore[operator]
    assert schedule.retry_delay(0, 1.0) is None


def test_retry_after_is_honoured_only_when_later_and_capped_at_a_day():
    assert schedule.parse_retry_after("120") == 120
    assert schedule.parse_retry_after("9999999") == 86400
    assert schedule.parse_retry_after(None) is None and schedule.parse_retry_after("soon") is None
    now = datetime(2030, 1, 1, tzinfo=timezone.utc)
    assert schedule.parse_retry_after(format_datetime(now + timedelta(minutes=10), usegmt=True), now) == 600
    assert schedule.parse_retry_after(format_datetime(now - timedelta(minutes=10), usegmt=True), now) == 0
    rng = random.Random(1)
    assert schedule.next_delay(1, 1.0, 120, rng) == 120             # later than 5 s: wins
    assert 270 <= schedule.next_delay(2, 1.0, 120, rng) <= 330      # type: ignore[operator]  # earlier: ignored
    assert schedule.next_delay(10, 1.0, 120, rng) is None           # the schedule is used up


@pytest.mark.parametrize("address", [
    "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "0.0.0.0", "224.0.0.1",
    "240.0.0.1", "100.64.0.1", "255.255.255.255", "::1", "::", "fe80::1", "fc00::1", "ff02::1",
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:8.8.8.8", "192.0.2.10", "fec0::1", "2002:7f00:1::",
    "2002:808:808::1", "2001::1", "64:ff9b::7f00:1", "64:ff9b::808:808", "64:ff9b:1::1", "::127.0.0.1",
    "::8.8.8.8", "192.88.99.1", "192.0.0.8", "198.18.0.1", "2001:db8::1", "3fff::1", "100::1", "fe80::1%eth0"])
def test_private_and_reserved_addresses_are_refused(address):
    assert not guard.address_allowed(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "2a00:1450:4001::1"])
def test_public_addresses_are_allowed(address):
    assert guard.address_allowed(ipaddress.ip_address(address))


@pytest.mark.parametrize(("url", "problem"), [
    ("ftp://shop.example/hooks", "http"), ("https://", "host"), ("https:///hooks", "host"),
    ("https://user:pw@shop.example/", "Credentials"), ("https://shop.example/a b", "whitespace"),
    ("https://shop.example:99999/", "valid"), ("https://shop.example/" + "a" * 2030, "2048"),
    ("javascript:alert(1)", "http"), ("https://ex\u200bample.com/", "valid")])
def test_url_shapes_that_are_refused(url, problem):
    assert problem in (guard.url_problem(url) or "")


def test_url_shapes_that_are_fine():
    for url in ("https://shop.example/hooks?x=1", "http://127.0.0.1:8000/h", "https://[2001:db8::1]/",
                "https://shop.example/" + "a" * 2000):
        assert guard.url_problem(url) is None, url


async def test_guarded_resolver_refuses_a_name_that_resolves_inward():
    resolver = guard.GuardedResolver()
    try:
        with pytest.raises(guard.UrlNotAllowed, match="127.0.0.1"):
            await resolver.resolve("localhost", 80)
    finally:
        await resolver.close()


async def test_save_time_check_resolves_names_and_reads_literals():
    with pytest.raises(guard.UrlNotAllowed, match="resolves to 127.0.0.1"):
        await guard.check_url_target("http://localhost:8080/h", allow_private=False)
    with pytest.raises(guard.UrlNotAllowed, match="could not resolve"):
        await guard.check_url_target("https://no-such-host.invalid/h", allow_private=False)
    with pytest.raises(guard.UrlNotAllowed):
        await guard.check_url_target("http://[::ffff:169.254.169.254]/latest", allow_private=False)
    await guard.check_url_target("https://93.184.216.34/h", allow_private=False)
    await guard.check_url_target("http://localhost:8080/h", allow_private=True)


def test_excerpt_is_at_most_a_kilobyte_of_whole_characters():
    text = transport.excerpt("я".encode() * 2000)
    assert text is not None and len(text.encode()) <= 1024 and set(text) == {"я"}
    assert transport.excerpt(b"") is None
    assert transport.excerpt(b"\xff\xfeok") == "\ufffd\ufffdok"
