"""Sandbox only: each provider call runs in the sandbox workspace of the payment it serves, and
the connectors' HTTP session sends that workspace to the simulators (WORKSPACE_HEADER), whose
fault injector then applies that workspace's faults (and no one else's)."""

from __future__ import annotations

from typing import Mapping, Protocol

import aiohttp

from kopek.providers.contract import (
    AttemptRequest, CallbackEvent, CallbackReply, Connector, ProviderResult, RefundResult,
)
from kopek.providers.sandbox.faults import WORKSPACE_HEADER, current_workspace, within_workspace


class Workspaces(Protocol):
    async def of_payment(self, payment_id: str) -> str | None: ...

    async def of_operation(self, wallet: str, provider_ref: str) -> str | None: ...


class WorkspaceScoped:
    """A connector whose calls carry the workspace of their payment; the same interface."""

    def __init__(self, connector: Connector, workspaces: Workspaces) -> None:
        self._connector = connector
        self._workspaces = workspaces
        self.info = connector.info

    async def start(self, request: AttemptRequest) -> ProviderResult:
        with within_workspace(await self._workspaces.of_payment(request.payment_id)):
            return await self._connector.start(request)

    async def confirm(self, provider_ref: str, code: str) -> ProviderResult:
        with within_workspace(await self._of(provider_ref)):
            return await self._connector.confirm(provider_ref, code)

    async def fetch_status(self, provider_ref: str) -> ProviderResult:
        with within_workspace(await self._of(provider_ref)):
            return await self._connector.fetch_status(provider_ref)

    async def resend_code(self, provider_ref: str) -> None:
        with within_workspace(await self._of(provider_ref)):
            await self._connector.resend_code(provider_ref)

    async def refund(self, provider_ref: str, refund_id: str, amount: int, currency: str) -> RefundResult:
        with within_workspace(await self._of(provider_ref)):
            return await self._connector.refund(provider_ref, refund_id, amount, currency)

    def parse_callback(self, body: bytes, headers: Mapping[str, str]) -> CallbackEvent:
        return self._connector.parse_callback(body, headers)

    def callback_reply(self, accepted: bool) -> CallbackReply:
        return self._connector.callback_reply(accepted)

    async def _of(self, provider_ref: str) -> str | None:
        return await self._workspaces.of_operation(self.info.id, provider_ref)


def scope_all(connectors: Mapping[str, Connector], workspaces: Workspaces) -> dict[str, Connector]:
    return {wallet: WorkspaceScoped(connector, workspaces) for wallet, connector in connectors.items()}


async def send_workspace(request: aiohttp.ClientRequest,
                         handler: aiohttp.ClientHandlerType) -> aiohttp.ClientResponse:
    """A client middleware for the connectors' session in sandbox mode."""
    workspace = current_workspace()
    if workspace is not None:
        request.headers[WORKSPACE_HEADER] = workspace
    return await handler(request)
