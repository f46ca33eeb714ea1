"""Webhook endpoint use cases: create, read, update, delete, rotate the secret, read the log.

Secrets are derived from an instance key, the endpoint id and a version number, so the
database never holds one: a secret is shown once, when created or rotated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kopek import clock
from kopek.errors import Conflict, InvalidRequest, NotFound, RateLimited
from kopek.ids import new_id
from kopek.keyring import PurposeKeys
from kopek.settings import Settings
from kopek.store.webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookStore
from kopek.webhooks import guard, signing
from kopek.webhooks.events import DEFAULT_EVENTS, TEST_EVENT

MAX_ENDPOINTS = 16          # per merchant and mode
ATTEMPTS_SHOWN = 20         # per delivery in the log
MAX_OPEN_TESTS = 5          # webhook.test events waiting for one endpoint


@dataclass(frozen=True)
class WithSecret:
    """An endpoint and its secret in the clear: the one time the secret is shown."""

    endpoint: WebhookEndpoint
    secret: str


class WebhookEndpoints:
    def __init__(self, store: WebhookStore, settings: Settings, secret_keys: PurposeKeys) -> None:
        self.store = store
        self._settings = settings
        self._secret_keys = secret_keys

    async def create(self, *, merchant_id: str, livemode: bool, data: dict[str, Any]) -> WithSecret:
        await self._check_target(data["url"])
        now = clock.now_iso()
        endpoint = WebhookEndpoint(
            id=new_id("we"), merchant_id=merchant_id, livemode=livemode, url=data["url"],
            description=data["description"], events=_dedupe(data["events"] or DEFAULT_EVENTS),
            status="enabled", disabled_reason=None, secret_version=1, previous_secret_version=None,
            previous_secret_expires_at=None, created_at=now, updated_at=now)
        if not await self.store.insert_endpoint_below(endpoint, MAX_ENDPOINTS):
            raise Conflict(f"at most {MAX_ENDPOINTS} webhook endpoints per merchant; delete one first",
                           code="endpoint_limit")
        return WithSecret(endpoint, self._secret(endpoint))

    async def get(self, merchant_id: str, livemode: bool, endpoint_id: str) -> WebhookEndpoint:
        """Another merchant's endpoint is as missing as one that never existed."""
        endpoint = await self.store.get_endpoint(endpoint_id)
        if endpoint is None or endpoint.merchant_id != merchant_id or endpoint.livemode != livemode:
            raise NotFound(f"no such webhook endpoint: {endpoint_id}", param="id")
        return endpoint

    async def list(self, merchant_id: str, livemode: bool) -> list[WebhookEndpoint]:
        return await self.store.list_endpoints(merchant_id, livemode)

    async def update(self, endpoint: WebhookEndpoint, data: dict[str, Any]) -> WebhookEndpoint:
        fields: dict[str, Any] = {key: data[key] for key in ("url", "description", "status") if key in data}
        if "events" in data:
            fields["events"] = _dedupe(data["events"])
        if "url" in fields:
            await self._check_target(fields["url"])
        if "status" in fields:
            fields["disabled_reason"] = "disabled by the merchant" if fields["status"] == "disabled" else None
        stops = fields.get("status") == "disabled" and endpoint.status == "enabled"
        return await self._updated(endpoint, fields, abandon_open=stops)

    async def delete(self, endpoint: WebhookEndpoint) -> None:
        await self.store.delete_endpoint(endpoint.id)

    async def rotate_secret(self, endpoint: WebhookEndpoint, overlap_s: int) -> WithSecret:
        """A new secret now; the old one keeps signing beside it for `overlap_s` seconds."""
        fields: dict[str, Any] = {"secret_version": endpoint.secret_version + 1,
                                  "previous_secret_version": endpoint.secret_version if overlap_s else None,
                                  "previous_secret_expires_at": clock.iso_in(overlap_s) if overlap_s else None}
        updated = await self._updated(endpoint, fields)
        return WithSecret(updated, self._secret(updated))

    async def deliveries(self, endpoint: WebhookEndpoint, limit: int, starting_after: str | None
                         ) -> tuple[list[tuple[WebhookDelivery, list[WebhookAttempt]]], bool]:
        cursor = await self.delivery(endpoint, starting_after) if starting_after else None
        rows = await self.store.list_deliveries(endpoint.id, limit + 1, cursor)
        page = rows[:limit]
        attempts = await self.store.attempts((d.id for d in page), ATTEMPTS_SHOWN)
        return [(d, attempts[d.id]) for d in page], len(rows) > limit

    async def delivery(self, endpoint: WebhookEndpoint, delivery_id: str) -> WebhookDelivery:
        delivery = await self.store.get_delivery(delivery_id)
        if delivery is None or delivery.endpoint_id != endpoint.id:
            raise NotFound(f"no such delivery for this endpoint: {delivery_id}", param="delivery_id")
        return delivery

    @staticmethod
    def require_enabled(endpoint: WebhookEndpoint) -> None:
        if endpoint.status != "enabled":
            raise Conflict("the endpoint is disabled; enable it first", code="endpoint_disabled")

    async def require_can_test(self, endpoint: WebhookEndpoint) -> None:
        self.require_enabled(endpoint)
        if await self.store.count_open(endpoint.id, TEST_EVENT) >= MAX_OPEN_TESTS:
            raise RateLimited(f"{MAX_OPEN_TESTS} test events are still waiting for this endpoint; "
                              "wait for them first", extra={"retry_after_s": 5})

    def _secret(self, endpoint: WebhookEndpoint) -> str:
        return signing.derive_secret(self._secret_keys.current, endpoint.id, endpoint.secret_version)

    async def _check_target(self, url: str) -> None:
        try:
            await guard.check_url_target(url, allow_private=self._settings.sandbox)
        except guard.UrlNotAllowed as exc:
            raise InvalidRequest(f"webhook URL not allowed: {exc}", param="url", code="url_not_allowed") from exc

    async def _updated(self, endpoint: WebhookEndpoint, fields: dict[str, Any], *,
                       abandon_open: bool = False) -> WebhookEndpoint:
        if not fields:
            return endpoint
        updated = await self.store.update_endpoint(endpoint.id, fields, abandon_open=abandon_open)
        if updated is None:
            raise NotFound(f"no such webhook endpoint: {endpoint.id}", param="id")
        return updated


def _dedupe(names: Any) -> tuple[str, ...]:
    return tuple(dict.fromkeys(names))
