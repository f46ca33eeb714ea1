"""A shopper driving the checkout API over HTTP, as the widget would, for any wallet.

Used by the reliability and restart tests: it reads codes from the sandbox phone, approves
on the provider's page like a browser, and retries what a person would retry.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass, field
from html import unescape
from typing import Any

import aiohttp
from yarl import URL

TERMINAL = {"succeeded", "failed", "canceled", "expired"}


@dataclass
class Trip:
    """What happened to one payment: for the test's verdict and the figures."""

    payment_id: str
    wallet: str
    account: str
    final: str = ""
    attempts: int = 0
    retried_requests: int = 0
    errors: list[str] = field(default_factory=list)


class Shopper:
    def __init__(self, http: aiohttp.ClientSession, kopek_url: str, phone_url: str, deadline_s: float = 60) -> None:
        self.http = http
        self.kopek_url = kopek_url.rstrip("/")
        self.phone_url = phone_url
        self.deadline_s = deadline_s

    async def pay(self, payment: dict[str, Any], wallet: str, details: dict[str, str]) -> Trip:
        trip = Trip(payment["id"], wallet, next(iter(details.values())))
        headers = {"Kopek-Client-Secret": payment["client_secret"]}
        base = f"{self.kopek_url}/v1/checkout/{payment['id']}"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.deadline_s
        seen_action = None
        while loop.time() < deadline:
            answer = await self._json("GET", base, headers, trip)
            if "payment" not in answer:
                await asyncio.sleep(0.2)
                continue
            state = answer["payment"]
            status, action = state["status"], state.get("next_action") or {}
            if status in TERMINAL:
                trip.final = status
                return trip
            if status == "requires_wallet":
                trip.attempts += 1
                await self._json("POST", f"{base}/attempts", {**headers, "Idempotency-Key": str(uuid.uuid4())},
                                 trip, {"wallet": wallet, "details": details})
            elif action.get("type") == "enter_code" and action != seen_action:
                seen_action = action
                await self._enter_code(base, headers, payment["id"], trip)
            elif action.get("type") == "approve_in_wallet" and action != seen_action:
                seen_action = action if await self._approve(action["url"], trip) else None
            else:
                await asyncio.sleep(0.05)
        trip.final = "stuck"
        return trip

    async def _enter_code(self, base: str, headers: dict[str, str], payment_id: str, trip: Trip) -> None:
        async with self.http.get(self.phone_url, params={"payment": payment_id}) as response:
            messages = (await response.json())["data"]
        if not messages:
            await asyncio.sleep(0.05)
            return
        for _ in range(3):  # a wallet whose every code is wrong takes three tries to give up
            answer = await self._json("POST", f"{base}/confirm", headers, trip, {"code": messages[0]["code"]})
            if (answer.get("error") or {}).get("code") != "incorrect_code":
                return

    async def _approve(self, url: str, trip: Trip) -> bool:
        """Press Approve on the wallet's page; False when the page failed and a person would try again."""
        async with self.http.get(url) as page:
            html = await page.text()
        fields = {name: unescape(value) for name, value in
                  re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', html)}
        actions = re.findall(r'<form method="post" action="([^"]+)"', html)
        if not actions:
            trip.errors.append(f"no approval form at {url}")
            return True
        async with self.http.post(URL(url).join(URL(actions[0])), data={**fields, "decision": "approve"}) as answer:
            if answer.status == 503:  # an injected provider fault: press again
                trip.retried_requests += 1
                await asyncio.sleep(0.1)
                return False
            if answer.status != 200:
                trip.errors.append(f"approval answered {answer.status}")
            return True

    async def _json(self, method: str, url: str, headers: dict[str, str], trip: Trip,
                    body: dict[str, Any] | None = None) -> dict[str, Any]:
        """A request as the widget makes it; a provider hiccup (502/503) is retried like a person would."""
        for _ in range(20):
            try:
                async with self.http.request(method, url, headers=headers, json=body) as response:
                    data = await response.json()
                    if response.status in (502, 503):
                        trip.retried_requests += 1
                        await asyncio.sleep(0.1)
                        continue
                    if response.status >= 500:
                        trip.errors.append(f"{method} {url} -> {response.status}: {data}")
                    return data
            except aiohttp.ClientConnectionError:  # Kopek restarting
                trip.retried_requests += 1
                await asyncio.sleep(0.2)
        trip.errors.append(f"{method} {url} kept failing")
        return {}
