"""Fault injection from the console: the form sets and clears the visitor's own faults, the next
provider call of their payment sees them, and bad values or a missing CSRF token change nothing.
(That they strike no one else's payments: test_console_writes.py.)"""

from __future__ import annotations

import pytest
from sandbox_steps import open_console, start_attempt, start_payment

from kopek import keys
from kopek.providers.sandbox.faults import RATES, FaultSettings
from kopek.web.sandbox_console.forms import FaultsForm


async def faults(kopek, visitor) -> FaultSettings:
    """The faults the visitor's console shows as theirs; the operator's stay as they started (off)."""
    assert kopek.app[keys.SANDBOX_FAULTS].settings == FaultSettings()
    page = await open_console(visitor)
    return FaultSettings.parse(page.find(r'id="faults-current" data-faults="([^"]*)"'))


async def test_error_rate_one_makes_the_provider_unavailable_until_cleared(kopek, visitors):
    visitor = visitors()
    await open_console(visitor)
    page = await visitor.post("/sandbox/faults", {"error_rate": "1"})
    assert page.status == 200 and page.url.path == "/sandbox"
    assert "Faults set: error_rate=1." in page.text
    assert page.find(r'id="faults-env">([^<]+)<') == "KOPEK_SANDBOX_FAULTS=error_rate=1"
    assert page.find(r'id="f-error_rate" name="error_rate" type="text" value="([^"]*)"') == "1"
    assert await faults(kopek, visitor) == FaultSettings(error_rate=1.0)

    page = await start_payment(visitor)
    failed = await start_attempt(kopek, page, "webmoney", {"account": "R100000000001"})
    assert failed["status"] == "requires_wallet" and failed["last_error"]["code"] == "provider_error"
    assert kopek.app[keys.SANDBOX_FAULTS].injected["error_rate"] >= 1

    cleared = await visitor.post("/sandbox/faults", {"action": "clear"})
    assert "Fault injection is off." in cleared.text and "No faults are injected now." in cleared.text
    assert await faults(kopek, visitor) == FaultSettings()
    retried = await start_attempt(kopek, page, "webmoney", {"account": "R100000000001"})
    assert retried["status"] == "requires_confirmation"


async def test_every_knob_is_set_at_once_and_shown(kopek, visitors):
    visitor = visitors()
    await open_console(visitor)
    page = await visitor.post("/sandbox/faults", {
        "latency_ms": "5-50", "error_rate": "0.1", "duplicate_callbacks": "0.2",
        "out_of_order_callbacks": "0.3", "bad_signatures": "0.05"})
    assert page.find(r'id="faults-env">([^<]+)<') == (
        "KOPEK_SANDBOX_FAULTS=latency_ms=5-50,error_rate=0.1,duplicate_callbacks=0.2,"
        "out_of_order_callbacks=0.3,bad_signatures=0.05")
    assert await faults(kopek, visitor) == FaultSettings(5, 50, 0.1, 0.2, 0.3, 0.05)
    emptied = await visitor.post("/sandbox/faults", {"csrf_token": page.csrf()}, with_csrf=False)
    assert emptied.status == 200 and await faults(kopek, visitor) == FaultSettings()


def test_the_form_has_a_field_for_every_fault():
    assert set(FaultsForm().fields) == {"action", "latency_ms", *RATES}


@pytest.mark.parametrize(("data", "reason"), [
    ({"error_rate": "2"}, "error_rate: a share from 0 to 1"),
    ({"error_rate": "-0.1"}, "error_rate: a share from 0 to 1"),
    ({"error_rate": "abc"}, "error_rate: Not a valid number"),
    ({"bad_signatures": "nan"}, "bad_signatures:"),
    ({"latency_ms": "50-5"}, "latency_ms is LOW-HIGH milliseconds"),
    ({"latency_ms": "70000"}, "latency_ms is LOW-HIGH milliseconds"),
    ({"latency_ms": "fast"}, "latency_ms: milliseconds as LOW-HIGH"),
    ({"action": "explode"}, "action:"),
    ({"stale": "1"}, "stale: Unknown field"),
])
async def test_a_bad_value_is_a_400_page_and_changes_nothing(kopek, visitors, data, reason):
    visitor = visitors()
    await open_console(visitor)
    await visitor.post("/sandbox/faults", {"duplicate_callbacks": "0.5"})
    page = await visitor.post("/sandbox/faults", {"error_rate": "0.2", **data})
    assert page.status == 400 and reason in page.text, page.text
    assert await faults(kopek, visitor) == FaultSettings(duplicate_callbacks=0.5)


async def test_without_the_csrf_token_nothing_changes(kopek, visitors):
    visitor = visitors()
    await open_console(visitor)
    missing = await visitor.post("/sandbox/faults", {"error_rate": "1"}, with_csrf=False)
    assert missing.status == 403
    wrong = await visitor.post("/sandbox/faults", {"error_rate": "1"}, csrf="forged")
    assert wrong.status == 403
    stranger = visitors()
    await open_console(stranger)
    theirs = await visitor.post("/sandbox/faults", {"error_rate": "1"}, csrf=stranger.last.csrf())
    assert theirs.status == 403
    assert await faults(kopek, visitor) == FaultSettings()
    assert await faults(kopek, stranger) == FaultSettings()


async def test_a_member_may_set_faults_too(kopek, viewer):
    await open_console(viewer)
    page = await viewer.post("/sandbox/faults", {"latency_ms": "1"})
    assert page.status == 200 and await faults(kopek, viewer) == FaultSettings(latency_ms_min=1, latency_ms_max=1)
