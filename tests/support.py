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


# For in-process tests that send many payments from one address on a few magic accounts: the limits
# on codes and PINs across payments (tests/web/test_guessing_across_payments.py) lifted out of the way.
LIFTED_GUESS_SETTINGS = {name: 1_000_000 for name in ("wrong_codes_per_account", "wrong_codes_per_ip",
                                                      "codes_sent_per_account", "codes_sent_per_ip")}


def make_settings(tmp_path: Path, port: int, **overrides: Any) -> Settings:
    defaults: dict[str, Any] = dict(port=port, db_path=tmp_path / "kopek.db", sandbox_time_scale=0.01,
                                    expiry_sweep_interval_s=0.05)
    defaults.update(overrides)
    return Settings(**defaults)


class ConnectionCounter:
    """A bare TCP listener on 127.0.0.1 that counts who connects and answers nothing: what an
    internal service would see of a request Kopek must never make."""

    def __init__(self) -> None:
        self.connections = 0
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        writer.close()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


# Markup a shop or shopper sends where Kopek expects text (an order id, a description, metadata, a
# refund's reason, a shop's name). Every page must show it as text, escaped, and never as markup.
XSS_SCRIPT = "<script>alert(1)</script>"
XSS_ATTRIBUTE = '"><img src=x onerror=alert(1)>'


def html_escaped(text: str) -> str:
    """`text` as the templates' autoescape writes it: & < > " and ' as entities."""
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&#34;").replace("'", "&#39;"))


def assert_shown_as_text(page_html: str, *values: str) -> None:
    for value in values:
        assert html_escaped(value) in page_html, f"{value!r} is not on the page as escaped text"
    assert "<script>alert" not in page_html and "<img src=x" not in page_html, "the shop's markup reached the page"


# Hosts a live server must never reach, each spelled as an attacker might (see webhooks/guard.py).
INWARD_URLS = [
    "http://127.0.0.1:8080/hooks", "http://localhost/hooks", "http://10.0.0.5/hooks", "http://192.168.1.1/",
    "http://172.16.0.1/", "http://169.254.169.254/latest/meta-data", "http://0.0.0.0:80/", "http://[::1]/",
    "http://[::ffff:127.0.0.1]/", "http://[::127.0.0.1]/", "http://224.0.0.1/", "http://100.64.0.1/",
    "http://198.18.0.1/", "http://192.0.2.1/", "http://192.0.0.8/", "http://192.88.99.1/", "http://240.0.0.1/",
    "http://255.255.255.255/", "http://[fe80::1]/", "http://[fec0::1]/", "http://[fc00::1]/", "http://[fd12:3456::1]/",
    "http://[2002:7f00:1::]/", "http://[2002:a00:1::1]/", "http://[2001::1]/", "http://[2001:db8::1]/",
    "http://[3fff::1]/", "http://[64:ff9b::7f00:1]/", "http://[64:ff9b:1::a00:1]/", "http://[ff02::1]/",
    "http://[::]/", "http://[100::1]/", "https://no-such-host.invalid/"]
# Legacy IPv4 spellings (decimal, octal, hex, short) that a resolver maps onto 127.0.0.1.
ODD_IPV4_URLS = ["http://2130706433/", "http://0177.0.0.1/", "http://127.1/", "http://0x7f.0.0.1/",
                 "http://017700000001/", "http://0x7f000001:8080/"]


# A live-mode server: providers configured (never called in these tests), live keys.
LIVE_ENV = {
    "KOPEK_WEBMONEY_WMID": "123456789012", "KOPEK_WEBMONEY_PURSE_RUB": "P123456789012",
    "KOPEK_WEBMONEY_SECRET_KEY": "s", "KOPEK_WEBMONEY_NOTIFY_SECRET": "n",
    "KOPEK_YANDEX_DENGI_WALLET": "410011234567801", "KOPEK_YANDEX_DENGI_TOKEN": "t",
    "KOPEK_YANDEX_DENGI_NOTIFICATION_SECRET": "n",
    "KOPEK_EPORT_MERCHANT_ID": "m", "KOPEK_EPORT_SECRET": "s", "KOPEK_EPORT_NOTIFY_SECRET": "n",
    "KOPEK_KREDITPILOT_KEY_ID": "k", "KOPEK_KREDITPILOT_SECRET": "s", "KOPEK_KREDITPILOT_NOTIFY_SECRET": "n",
}
