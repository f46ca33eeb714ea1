"""Whose sandbox the console shows: a logged-in member's own merchant (always its test mode), or,
for anyone else, the built-in sandbox merchant (the quick-start page needs no account)."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from kopek import keys
from kopek.store.records import ApiKey, Merchant
from kopek.web.dashboard.access import owner_only
from kopek.web.dashboard.context import PAGE, Member, load_page_context

LIVEMODE = False   # the console only ever makes test payments


@dataclass(frozen=True)
class Workspace:
    merchant: Merchant
    member: Member | None

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
    return Workspace(merchant, None)


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
