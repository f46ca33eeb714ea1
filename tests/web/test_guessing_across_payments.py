"""Guessing codes and PINs, and texting codes, across many payments for one wallet account.

The per-attempt (three code tries) and per-payment (five attempts) limits bound one payment; an
attacker opens more payments. These tests drive the checkout API over real HTTP from outside,
count what the provider evaluated and what the sandbox phone received, and expect limits per
wallet account and per address that refuse (429) before anything reaches the provider.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from contextlib import asynccontextmanager
from typing import AsyncIterator

import aiohttp
import pytest

from kopek.providers.registry import PLUGINS
from kopek.providers.sandbox.magic import SANDBOX_PIN
from support import WRONG_CODES, attempt, confirm, make_settings, wait_for_status

WRONG_CODE = "000000"
WRONG_PIN = "9731"


async def texted(kopek, payments) -> int:
    total = 0
    for payment in payments:
        response = await kopek.client.get("/sandbox/phone.json", params={"payment": payment["id"]})
        total += len((await response.json())["data"])
    return total


async def error_of(response) -> dict:
    return (await response.json()).get("error") or {}


def assert_refused(response, body_error: dict) -> None:
    assert response.status == 429, body_error
    assert body_error["type"] == "rate_limit_error"
    assert int(response.headers["Retry-After"]) >= 1
    assert body_error["retry_after_s"] >= 1


@asynccontextmanager
async def another_address(kopek, address: str = "127.0.0.2") -> AsyncIterator[aiohttp.ClientSession]:
    """A shopper on another address (Linux answers the whole of 127/8)."""
    connector = aiohttp.TCPConnector(local_addr=(address, 0))
    async with aiohttp.ClientSession(kopek.base_url, connector=connector) as http:
        yield http


async def test_wrong_codes_and_texted_codes_for_one_webmoney_account_are_limited_across_payments(kopek):
    """The issue's case: 3 payments for one account from one address gave 45 wrong codes evaluated
    and 16 codes texted. Now 10 wrong codes and 5 texts per account per hour."""
    payments = [await kopek.create_payment(order_id=f"guess-{i}") for i in range(3)]
    seen: Counter[str] = Counter()
    for payment in payments:
        for _ in range(5):
            started = await attempt(kopek, payment, WRONG_CODES)
            if started.status == 429:
                assert_refused(started, await error_of(started))
                seen["start_refused"] += 1
                break
            assert started.status == 200, await started.text()
            refused = False
            for _ in range(3):
                answer = await confirm(kopek, payment, WRONG_CODE)
                error = await error_of(answer)
                if answer.status == 429:
                    assert_refused(answer, error)
                    seen["code_refused"] += 1
                    refused = True
                    break
                assert error["code"] in ("incorrect_code", "code_attempts_exceeded"), error
                seen["evaluated"] += 1
            if refused:
                break
    assert seen["evaluated"] == 10, seen
    assert await texted(kopek, payments) == 5
    assert seen["code_refused"] >= 1 and seen["start_refused"] >= 1, seen


@pytest.fixture
def kopek_settings(tmp_path, unused_tcp_port, request):
    overrides = getattr(request, "param", {})
    return make_settings(tmp_path, unused_tcp_port, code_resend_cooldown_s=0.0, **overrides)


async def test_resent_codes_count_against_the_account_too(kopek):
    first, second = [await kopek.create_payment(order_id=f"resend-{i}") for i in range(2)]
    assert (await attempt(kopek, first, WRONG_CODES)).status == 200
    for _ in range(3):
        resent = await kopek.client.post(f"/v1/checkout/{first['id']}/resend", json={},
                                         headers=kopek.checkout_headers(first))
        assert resent.status == 200, await resent.text()
    assert (await attempt(kopek, second, WRONG_CODES)).status == 200   # the 5th code this hour
    refused = await kopek.client.post(f"/v1/checkout/{second['id']}/resend", json={},
                                      headers=kopek.checkout_headers(second))
    error = await error_of(refused)
    assert_refused(refused, error)
    assert error["code"] == "too_many_codes_sent"
    assert await texted(kopek, [first, second]) == 5


@pytest.mark.parametrize("kopek_settings", [{"wrong_code_window_s": 2.0}], indirect=True)
async def test_the_right_code_is_refused_while_locked_out_and_works_once_the_window_passes(kopek):
    payment = await kopek.create_payment(order_id="window")
    for wrong_codes in (3, 3, 3, 1):   # four attempts of one payment: ten wrong codes
        assert (await attempt(kopek, payment, "R100000000001")).status == 200
        for _ in range(wrong_codes):
            answer = await confirm(kopek, payment, WRONG_CODE)
            assert answer.status == 400, await answer.text()
    right_code = await kopek.phone_code(payment["id"])
    locked = await confirm(kopek, payment, right_code)
    error = await error_of(locked)
    assert_refused(locked, error)
    assert error["code"] == "too_many_wrong_codes"
    current = await (await kopek.client.get(f"/v1/checkout/{payment['id']}",
                                            headers=kopek.checkout_headers(payment))).json()
    assert current["payment"]["status"] == "requires_confirmation"   # nothing reached the provider
    assert current["payment"]["next_action"]["tries_left"] == 2

    await asyncio.sleep(2.2)
    accepted = await confirm(kopek, payment, right_code)
    assert accepted.status == 200, await accepted.text()
    assert (await wait_for_status(kopek, payment, "succeeded"))["status"] == "succeeded"


async def test_wrong_codes_from_one_address_are_limited_across_accounts(kopek):
    """30 wrong codes per address per hour, whichever accounts they were for; another address
    (127.0.0.2 here) is not affected."""
    accounts = [f"R1000000{n:03d}01" for n in range(1, 12)]   # eleven different accounts, all "01"
    evaluated = refused = 0
    for account in accounts:
        payment = await kopek.create_payment(order_id=f"addr-{account}")
        assert (await attempt(kopek, payment, account)).status == 200
        for _ in range(3):
            answer = await confirm(kopek, payment, WRONG_CODE)
            if answer.status == 429:
                assert_refused(answer, await error_of(answer))
                refused += 1
                break
            evaluated += 1
    assert (evaluated, refused) == (30, 1)

    elsewhere = await kopek.create_payment(order_id="addr-elsewhere")
    async with another_address(kopek) as other_address:
        headers = kopek.checkout_headers(elsewhere)
        started = await other_address.post(f"/v1/checkout/{elsewhere['id']}/attempts", headers={
            **headers, "Idempotency-Key": str(uuid.uuid4())},
            json={"wallet": "webmoney", "details": {"account": "R100000099901"}})
        assert started.status == 200, await started.text()
        code = await kopek.phone_code(elsewhere["id"])
        paid = await other_address.post(f"/v1/checkout/{elsewhere['id']}/confirm", json={"code": code},
                                        headers=headers)
        assert paid.status == 200, await paid.text()


@pytest.mark.parametrize("kopek_settings", [{"codes_sent_per_ip": 4}], indirect=True)
async def test_codes_texted_from_one_address_are_limited_across_accounts(kopek):
    """30 codes per address per hour (4 here), whichever accounts they went to, each far under its
    own five. The refused account's allowance is untouched: from another address it gets its code."""
    accounts = [f"R1000000{n:03d}01" for n in range(1, 6)]   # five different accounts
    payments = [await kopek.create_payment(order_id=f"texts-{account}") for account in accounts]
    started = [await attempt(kopek, payment, account) for payment, account in zip(payments, accounts)]
    assert [answer.status for answer in started] == [200] * 4 + [429]
    error = await error_of(started[-1])
    assert_refused(started[-1], error)
    assert error["code"] == "too_many_codes_sent"
    assert await texted(kopek, payments) == 4, "the refused start texted nothing"

    refused_payment = payments[-1]
    async with another_address(kopek) as other_address:
        again = await other_address.post(
            f"/v1/checkout/{refused_payment['id']}/attempts", json={"wallet": "webmoney",
                                                                     "details": {"account": accounts[-1]}},
            headers={**kopek.checkout_headers(refused_payment), "Idempotency-Key": str(uuid.uuid4())})
        assert again.status == 200, await again.text()
    assert await texted(kopek, [refused_payment]) == 1


# ---- PIN wallets: the provider checks the PIN; Kopek counts its answers ---------------------------

async def pin_attempt(kopek, payment, wallet: str, pin: str, account: str | None = None, http=None):
    plugin = PLUGINS[wallet]
    details = plugin.example_details(account or plugin.example_account("01")) | {"pin": pin}
    return await (http or kopek.client).post(
        f"/v1/checkout/{payment['id']}/attempts", json={"wallet": wallet, "details": details},
        headers={**kopek.checkout_headers(payment), "Idempotency-Key": str(uuid.uuid4())})


def nth_card(wallet: str, n: int) -> str:
    """The wallet's example "01" card or account with two more digits changed: a different card, same outcome."""
    example = PLUGINS[wallet].example_account("01")
    return f"{example[:-4]}{n:02d}01"


async def guess_pins(kopek, wallet: str, payments: int) -> Counter[str]:
    """Up to five wrong PINs per payment (its attempts), as an attacker with the card number would."""
    seen: Counter[str] = Counter()
    for i in range(payments):
        payment = await kopek.create_payment(order_id=f"{wallet}-pin-{i}")
        for _ in range(5):
            answer = await pin_attempt(kopek, payment, wallet, WRONG_PIN)
            body = await answer.json()
            if answer.status == 429:
                assert_refused(answer, body["error"])
                assert body["error"]["code"] == "too_many_wrong_pins"
                seen["refused"] += 1
                break
            assert answer.status == 200, body
            assert body["payment"]["last_error"]["code"] == "incorrect_pin", body
            seen["evaluated"] += 1
    return seen


@pytest.mark.parametrize("wallet", ["kreditpilot", "eport"])
async def test_wrong_pins_for_one_card_are_limited_across_payments_and_the_right_pin_waits(kopek, wallet):
    """The issue's case: 20 wrong PINs over 4 payments, then the right PIN succeeded."""
    seen = await guess_pins(kopek, wallet, payments=4)
    assert seen["evaluated"] == 10 and seen["refused"] >= 1, seen
    payment = await kopek.create_payment(order_id=f"{wallet}-pin-right")
    right = await pin_attempt(kopek, payment, wallet, SANDBOX_PIN)
    body = await right.json()
    assert_refused(right, body["error"])
    current = await (await kopek.client.get(f"/v1/payments/{payment['id']}", headers=kopek.auth())).json()
    assert current["status"] == "requires_wallet"   # nothing reached the provider


@pytest.mark.parametrize("kopek_settings", [{"wrong_code_window_s": 2.0}], indirect=True)
@pytest.mark.parametrize("wallet", ["kreditpilot", "eport"])
async def test_the_right_pin_works_again_once_the_window_passes(kopek, wallet):
    seen = await guess_pins(kopek, wallet, payments=3)
    assert seen["evaluated"] == 10, seen
    payment = await kopek.create_payment(order_id=f"{wallet}-pin-later")
    assert (await pin_attempt(kopek, payment, wallet, SANDBOX_PIN)).status == 429
    await asyncio.sleep(2.2)
    right = await pin_attempt(kopek, payment, wallet, SANDBOX_PIN)
    assert right.status == 200, await right.text()
    assert (await wait_for_status(kopek, payment, "succeeded"))["status"] == "succeeded"


@pytest.mark.parametrize("kopek_settings", [{"wrong_codes_per_ip": 4}], indirect=True)
@pytest.mark.parametrize("wallet", ["kreditpilot", "eport"])
async def test_wrong_pins_from_one_address_are_limited_across_cards(kopek, wallet):
    """30 wrong PINs per address per hour (4 here), one per card, each far under its own ten; the
    refused card, from another address, still pays with its right PIN."""
    cards = [nth_card(wallet, n) for n in range(1, 6)]
    payments = [await kopek.create_payment(order_id=f"{wallet}-pin-addr-{n}") for n in range(len(cards))]
    answers = [await pin_attempt(kopek, payment, wallet, WRONG_PIN, card) for payment, card in zip(payments, cards)]
    bodies = [await answer.json() for answer in answers]
    assert [answer.status for answer in answers] == [200] * 4 + [429], bodies
    assert all(body["payment"]["last_error"]["code"] == "incorrect_pin" for body in bodies[:4]), bodies
    assert_refused(answers[-1], bodies[-1]["error"])
    assert bodies[-1]["error"]["code"] == "too_many_wrong_pins"

    refused_payment = payments[-1]
    current = await (await kopek.client.get(f"/v1/payments/{refused_payment['id']}", headers=kopek.auth())).json()
    assert current["status"] == "requires_wallet"   # nothing reached the provider
    async with another_address(kopek) as other_address:
        right = await pin_attempt(kopek, refused_payment, wallet, SANDBOX_PIN, cards[-1], http=other_address)
        assert right.status == 200, await right.text()
    assert (await wait_for_status(kopek, refused_payment, "succeeded"))["status"] == "succeeded"
