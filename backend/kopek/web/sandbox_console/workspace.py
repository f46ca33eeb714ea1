"""Whose sandbox the console shows: a logged-in member's own merchant (always its test mode), or,
for anyone else, the built-in sandbox merchant (the quick-start page needs no account).

Each workspace has a key that scopes its faults: a member's is their merchant's id, an anonymous
visitor's a random one kept in their session (made by their first console form). The payments an
anonymous visitor starts carry it in their metadata, so they stay theirs on the shared merchant."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from aiohttp import web

from kopek import keys
from kopek.store.records import ApiKey, Merchant, Payment
from kopek.web.dashboard.access import owner_only
from kopek.web.dashboard.context import PAGE, Member, load_page_context

LIVEMODE = False   # the console only ever makes test payments
VISITOR_SESSION_KEY = "sandbox_visitor"
WORKSPACE_METADATA = "sandbox_workspace"   # on the payments an anonymous visitor starts


@dataclass(frozen=True)
class Workspace:
    merchant: Merchant
    member: Member | None
    visitor: str | None = None   # an anonymous visitor's key, once they have used a console form

    @property
    def key(self) -> str | None:
        """What scopes this workspace's faults (None: an anonymous visitor who has set nothing yet)."""
        return self.member.merchant_id if self.member is not None else self.visitor

    def owns(self, payment: Payment, sandbox_merchant_id: str) -> bool:
        """A test payment of this merchant; on the shared merchant, one this visitor started."""
        return (self.key is not None and payment.merchant_id == self.merchant.id
                and payment_workspace(payment, sandbox_merchant_id) == self.key)

    @property
    def is_shared(self) -> bool:
        """The built-in sandbox merchant, used by everyone who is not logged in."""
        return self.member is None

    @property
    def may_configure(self) -> bool:
        """Set up the merchant's webhooks: its owners, or anyone for the shared sandbox merchant."""
        return self.member is None or self.member.is_owner

    @property
    def may_reveal_keys(self) -> bool:
        return self.member is not None and self.member.is_owner

    def require_configure(self) -> None:
        if not self.may_configure:
            raise owner_only()


async def workspace(request: web.Request) -> Workspace:
    """Needs the page context (the dashboard decorators load it; JSON routes call `load_workspace`)."""
    member = request[PAGE].member
    if member is not None:
        return Workspace(member.merchant, member)
    merchant = await request.app[keys.STORE].get_merchant(request.app[keys.SANDBOX_MERCHANT_ID])
    assert merchant is not None, "the sandbox merchant is made at start"
    return Workspace(merchant, None, request[PAGE].session.get(VISITOR_SESSION_KEY))


async def claimed_workspace(request: web.Request) -> Workspace:
    """For a console form that passed its CSRF check: gives an anonymous visitor their key."""
    session = request[PAGE].session
    if request[PAGE].member is None and not session.get(VISITOR_SESSION_KEY):
        session[VISITOR_SESSION_KEY] = "visitor_" + secrets.token_urlsafe(18)
    return await workspace(request)


def payment_workspace(payment: Payment, sandbox_merchant_id: str) -> str | None:
    """The key of the workspace a payment belongs to (None: a live payment): on the shared merchant,
    the visitor's who started it; else (its own API's payments too) its merchant's members'."""
    if payment.livemode != LIVEMODE:
        return None
    if payment.merchant_id == sandbox_merchant_id and WORKSPACE_METADATA in payment.metadata:
        return payment.metadata[WORKSPACE_METADATA]
    return payment.merchant_id


class PaymentWorkspaces:
    """Which workspace a provider call serves, read from the store (see providers/sandbox/scoping.py)."""

    def __init__(self, app: web.Application) -> None:
        self._app = app

    async def of_payment(self, payment_id: str) -> str | None:
        payment = await self._app[keys.STORE].get_payment(payment_id)
        return None if payment is None else payment_workspace(payment, self._app[keys.SANDBOX_MERCHANT_ID])

    async def of_operation(self, wallet: str, provider_ref: str) -> str | None:
        attempt = await self._app[keys.STORE].find_attempt_by_ref(wallet, provider_ref)
        return None if attempt is None else await self.of_payment(attempt.payment_id)


async def load_workspace(request: web.Request) -> Workspace:
    await load_page_context(request, start_session=False)
    return await workspace(request)


@dataclass(frozen=True)
class ConsoleKeys:
    publishable: ApiKey | None
    secret: ApiKey | None


async def console_keys(request: web.Request, merchant_id: str) -> ConsoleKeys:
    """The newest working test keys (a rolled key still in its overlap comes after its successor)."""
    working = [key for key in await request.app[keys.STORE].working_api_keys(merchant_id)
               if key.livemode == LIVEMODE]
    return ConsoleKeys(next((k for k in working if k.kind == "publishable"), None),
                    next((k for k in working if k.kind == "secret"), None))
