"""What an anonymous visitor can make Kopek write: viewing the console writes no payment; only the
"Start a test payment" form does, a limited number of times per address; and one visitor's
faults strike only their own workspace's payments, over real HTTP."""

from __future__ import annotations

import asyncio
import html
import re
import sqlite3
import time

import pytest
from yarl import URL
from sandbox_steps import open_console, payment_id, start_attempt, start_payment

from kopek import keys
from kopek.providers.sandbox.faults import FaultSettings
from support import SUCCEEDS, attempt, make_settings


def payment_rows(kopek) -> int:
    with sqlite3.connect(kopek.app[keys.SETTINGS].db_path) as db:
        return db.execute("SELECT COUNT(*) FROM payments").fetchone()[0]


def rows_by_table(kopek) -> dict[str, int]:
    """Every table's row count, the dashboard's sessions included."""
    with sqlite3.connect(kopek.app[keys.SETTINGS].db_path) as db:
        tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {name: db.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0] for name in tables}


@pytest.fixture
def kopek_settings(tmp_path, unused_tcp_port):
    return make_settings(tmp_path, unused_tcp_port, sandbox_payments_per_window=3)


async def test_fifty_views_of_the_console_make_no_payment(kopek, visitors):
    before, tables_before = payment_rows(kopek), rows_by_table(kopek)
    regular = visitors()
    for n in range(50):   # a returning visitor and new ones
        await open_console(regular if n % 2 else visitors(), amount="1.00", wallet="eport")
    assert payment_rows(kopek) == before
    assert rows_by_table(kopek) == tables_before, "no payment event, outbox row or webhook either"
    page = await open_console(visitors())
    assert 'id="start-payment"' in page.text and 'method="post" action="/sandbox/payments"' in page.text
    assert 'data-client-secret="' not in page.text, "no payment, so no widget yet"


async def test_the_start_button_makes_exactly_one_payment_and_shows_it(kopek, visitors):
    visitor = visitors()
    await open_console(visitor)
    before = payment_rows(kopek)
    page = await start_payment(visitor, amount="2.50", wallet="yandex_dengi", scenario="decline")
    assert payment_rows(kopek) == before + 1
    assert page.url.path == "/sandbox" and page.url.query["payment"] == payment_id(page)
    assert page.find(r'id="order-amount">([^<]+)<') == "2.50 RUB"
    assert '<option value="decline" selected>' in page.text
    again = await visitor.get("/sandbox", payment=payment_id(page))
    assert again.status == 200 and payment_id(again) == payment_id(page)
    assert payment_rows(kopek) == before + 1, "viewing it again makes none"


async def test_the_start_form_without_its_csrf_token_makes_nothing(kopek, visitors):
    visitor = visitors()
    await open_console(visitor)
    before = payment_rows(kopek)
    token = visitor.last.csrf()
    assert (await visitor.post("/sandbox/payments", {"amount": "1.00"}, with_csrf=False)).status == 403
    assert (await visitor.post("/sandbox/payments", {"amount": "1.00"}, csrf="forged")).status == 403
    assert (await visitor.post("/sandbox/payments", {"amount": "0"}, csrf=token)).status == 400
    assert payment_rows(kopek) == before


async def test_over_the_limit_an_address_gets_a_429_page(kopek, visitors):
    before = payment_rows(kopek)
    for _ in range(3):  # sandbox_payments_per_window, from one address with fresh cookies each time
        visitor = visitors()
        await open_console(visitor)
        await start_payment(visitor)
    visitor = visitors()
    await open_console(visitor)
    refused = await visitor.post("/sandbox/payments", {"amount": "1.00"})
    assert refused.status == 429 and int(refused.headers["Retry-After"]) > 0
    assert 'data-status="429"' in refused.text
    assert payment_rows(kopek) == before + 3


async def test_another_visitors_payment_is_not_shown(kopek, visitors):
    first, second = visitors(), visitors()
    await open_console(first)
    theirs = payment_id(await start_payment(first))
    page = await second.get("/sandbox", payment=theirs)
    assert page.status == 404 and theirs not in page.text.replace(f"no such payment: {theirs}", "")
    assert 'data-client-secret="' not in page.text


async def test_one_visitors_faults_strike_only_their_own_payments(kopek, visitors):
    alice, bob = visitors(), visitors()
    await open_console(alice)
    set_page = await alice.post("/sandbox/faults", {"error_rate": "1"})
    assert "Faults set: error_rate=1." in set_page.text

    bobs_console = await open_console(bob)
    assert "No faults are injected now." in bobs_console.text
    assert 'id="faults-env"' not in bobs_console.text
    bobs = await start_payment(bob)
    assert (await start_attempt(kopek, bobs, "webmoney", {"account": "R100000000001"}))["status"] \
        == "requires_confirmation"

    alices = await start_payment(alice)
    assert alices.find(r'id="faults-env">([^<]+)<') == "KOPEK_SANDBOX_FAULTS=error_rate=1"
    failed = await start_attempt(kopek, alices, "webmoney", {"account": "R100000000001"})
    assert failed["status"] == "requires_wallet" and failed["last_error"]["code"] == "provider_error"
    assert alices.find(r'data-fault="error_rate">(\d+)<') == "0"
    assert int((await open_console(alice)).find(r'data-fault="error_rate">(\d+)<')) >= 1
    assert (await open_console(bob)).find(r'data-fault="error_rate">(\d+)<') == "0"


async def test_a_members_faults_stay_in_their_merchant(kopek, owner, visitors):
    await open_console(owner)
    await owner.post("/sandbox/faults", {"error_rate": "1"})
    anonymous = visitors()
    await open_console(anonymous)
    theirs = await start_payment(anonymous)
    assert (await start_attempt(kopek, theirs, "webmoney", {"account": "R100000000001"}))["status"] \
        == "requires_confirmation"
    api_payment = await kopek.create_payment()   # another merchant's, made with its own key
    started = await attempt(kopek, api_payment, SUCCEEDS)
    assert started.status == 200 and (await started.json())["payment"]["status"] == "requires_confirmation"
    mine = await start_payment(owner)
    failed = await start_attempt(kopek, mine, "webmoney", {"account": "R100000000001"})
    assert failed["last_error"]["code"] == "provider_error"


async def test_the_operators_faults_still_strike_everyone(kopek, visitors):
    kopek.app[keys.SANDBOX_FAULTS].replace_settings(FaultSettings(error_rate=1.0))   # KOPEK_SANDBOX_FAULTS
    visitor = visitors()
    page = await start_payment(visitor)
    assert "No faults are injected now." in page.text
    assert page.find(r'id="faults-operator">[^<]+<code>([^<]+)<') == "KOPEK_SANDBOX_FAULTS=error_rate=1"
    failed = await start_attempt(kopek, page, "webmoney", {"account": "R100000000001"})
    assert failed["last_error"]["code"] == "provider_error"


async def approve_in_wallet(visitor, url: str) -> None:
    """Press Approve on the wallet's own page, as the shopper's browser does (no Kopek in between)."""
    async with visitor.http.get(url) as page:
        text = await page.text()
    fields = {name: html.unescape(value)
              for name, value in re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', text)}
    action = re.search(r'<form method="post" action="([^"]+)"', text).group(1)
    async with visitor.http.post(URL(url).join(URL(action)), data={**fields, "decision": "approve"}) as answer:
        assert answer.status == 200, await answer.text()


async def wait_until_succeeded(visitor, pay_id: str) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        async with visitor.http.get(f"{visitor.base_url}/sandbox/payments/{pay_id}/state.json") as response:
            if (await response.json())["status"] == "succeeded":
                return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{pay_id} did not succeed")


async def duplicates_struck(visitor) -> int:
    return int((await open_console(visitor)).find(r'data-fault="duplicate_callbacks">(\d+)<'))


async def test_an_approval_in_the_wallet_notifies_within_its_payments_workspace(kopek, visitors):
    alice, bob = visitors(), visitors()
    await open_console(alice)
    await alice.post("/sandbox/faults", {"duplicate_callbacks": "1"})
    for visitor in (bob, alice):
        page = await start_payment(visitor, wallet="yandex_dengi")
        started = await start_attempt(kopek, page, "yandex_dengi", {"wallet": "410010000000001"})
        await approve_in_wallet(visitor, started["next_action"]["url"])
        await wait_until_succeeded(visitor, payment_id(page))
    deadline = time.monotonic() + 10
    while await duplicates_struck(alice) == 0 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert await duplicates_struck(alice) >= 1, "Alice's notification went out twice"
    assert await duplicates_struck(bob) == 0
