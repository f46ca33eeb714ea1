"""benchmarks/stages.py puts each py-spy sample in the stage that did the work."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from stages import SIMULATORS, classify, stage_samples  # noqa: E402

LOOP = "BaseEventLoop._run_once (asyncio/base_events.py:1922);Handle._run (asyncio/events.py:80)"
HANDLER = f"{LOOP};RequestHandler._handle_request (aiohttp/web_protocol.py:577)"


@pytest.mark.parametrize("stack, stage", [
    (f"{HANDLER};create_payment (kopek/web/api.py:22);SqliteStore.insert_payment (kopek/store/sqlite.py:264)",
     "SQL"),
    (f"{HANDLER};read_json (kopek/web/requests.py:30);loads (kopek/strict_json.py:12);decode (json/decoder.py:3)",
     "validation"),
    (f"{LOOP};Sender.deliver (kopek/webhooks/sender.py:80);ClientSession._request (aiohttp/client.py:500)",
     "webhook"),
    (f"{LOOP};Connector.attempt (kopek/providers/webmoney/connector.py:40);"
     "ClientSession._request (aiohttp/client.py:500)", "provider HTTP"),
    (f"{LOOP};Sender.deliver (kopek/webhooks/sender.py:80);sign (kopek/webhooks/signing.py:20);"
     "HMAC.digest (hmac.py:150)", "signing"),
    (f"{HANDLER};handle (kopek/providers/webmoney/simulator.py:10);insert (kopek/store/sqlite.py:1)", SIMULATORS),
    (f"{LOOP};Hub.publish (kopek/live/hub.py:30)", "push"),
    (f"{HANDLER};StreamResponse.prepare (aiohttp/web_response.py:400)", "HTTP in and out"),
    (f"{HANDLER};PaymentService.public (kopek/payments/service.py:50)", "payment logic"),
    (LOOP, "event loop and the rest"),
])
def test_a_sample_goes_to_the_stage_that_did_the_work(stack, stage):
    assert classify(stack.split(";")) == stage


def test_counts_are_summed_per_stage_from_raw_lines():
    lines = [f"{LOOP};Hub.publish (kopek/live/hub.py:30) 3", f"{LOOP} 2", f"{LOOP};Hub.publish (kopek/live/hub.py:31) 4",
             "", "not a sample"]
    assert stage_samples(lines) == {"push": 7, "event loop and the rest": 2}
