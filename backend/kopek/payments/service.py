"""Payment use cases for the shop's server: create, read, list, cancel, expire.

Every state change goes through `apply`, which checks the transition table, writes the
guarded change with its event and outbox row, and then tells live subscribers.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from kopek import clock
from kopek.errors import AuthenticationFailed, Conflict, InvalidRequest, InvalidState, NotFound
from kopek.keyring import PurposeKeys
from kopek.ids import check_client_secret, derive_client_secret, new_id
from kopek.ledger.plans import refuse_if_fee_exceeds
from kopek.live.hub import LiveHub
from kopek.payments import states
from kopek.payments.locks import KeyedLocks
from kopek.payments.return_url import check_return_url
from kopek.payments.views import payment_object, payment_snapshot
from kopek.providers.contract import WalletInfo
from kopek.settings import Settings
from kopek.store.records import Change, DuplicateOrder, Event, Payment, StaleState
from kopek.store.sqlite import SqliteStore

log = logging.getLogger(__name__)


class PaymentService:
    def __init__(self, *, store: SqliteStore, hub: LiveHub, settings: Settings,
                 wallets: dict[str, WalletInfo], client_keys: PurposeKeys,
                 is_available: Callable[[str], bool] = lambda wallet_id: True) -> None:
        self.store = store
        self.hub = hub
        self.settings = settings
        self.wallets = wallets
        self.is_available = is_available
        self.locks = KeyedLocks()
        self.client_keys = client_keys

    # -- views ------------------------------------------------------------------------

    def snapshot(self, payment: Payment) -> dict[str, Any]:
        return payment_snapshot(payment, self.settings.max_attempts_per_payment)

    def client_secret(self, payment: Payment) -> str:
        return derive_client_secret(self.client_keys.current, payment.id)

    def public(self, payment: Payment) -> dict[str, Any]:
        return payment_object(self.snapshot(payment), self.client_secret(payment), self.settings.public_base_url)

    # -- the one way to change state --------------------------------------------------

    async def apply(self, payment: Payment, target: str, action: str, *,
                    event: bool = True, **change: Any) -> Payment:
        states.check_move(payment.status, target, action)
        event_type = states.EVENT_TYPES[target] if event else None
        fields = {"status": target, **change.pop("payment_fields", {})}
        try:
            updated, appended = await self.store.apply_change(
                Change(payment.id, payment.status, event_type, fields, **change), self.snapshot)
        except StaleState as exc:
            raise InvalidState(exc.current_status or "unknown", action) from exc
        if appended is not None:
            self.hub.publish(appended, merchant_id=updated.merchant_id, livemode=updated.livemode)
        return updated

    async def update_quietly(self, payment: Payment, **change: Any) -> Payment:
        """Update fields without a state change or an event (a wrong code's tries left)."""
        fields = change.pop("payment_fields", {})
        try:
            updated, _ = await self.store.apply_change(
                Change(payment.id, payment.status, None, fields, **change), self.snapshot)
        except StaleState as exc:
            raise InvalidState(exc.current_status or "unknown", "update") from exc
        return updated

    # -- shop server use cases --------------------------------------------------------

    async def create(self, *, merchant_id: str, livemode: bool, data: dict[str, Any]) -> Payment:
        await check_return_url(self.store, merchant_id, data["return_url"])
        disabled = await self.store.disabled_wallets(merchant_id)
        allowed = self._check_wallets(data["wallets"], data["amount"], data["currency"], disabled)
        await refuse_if_fee_exceeds(self.store, merchant_id, self._payable_wallets(allowed, disabled, data),
                                    data["amount"])
        created = clock.now_iso()
        ttl_s = data["expires_in"] or self.settings.payment_ttl_s
        payment = Payment(
            id=new_id("pay"), merchant_id=merchant_id, livemode=livemode,
            status=states.REQUIRES_WALLET, amount=data["amount"], currency=data["currency"],
            order_id=data["order_id"], description=data["description"],
            return_url=data["return_url"], metadata=data["metadata"], allowed_wallets=allowed,
            wallet=None, current_attempt_id=None, next_action=None, last_error=None,
            attempts_count=0, last_seq=1, expires_at=clock.iso_in(ttl_s),
            created_at=created, updated_at=created)
        try:
            stored, event = await self.store.insert_payment(payment, "payment.created", self.snapshot)
        except DuplicateOrder as exc:
            raise Conflict(f"order {payment.order_id!r} already has an open or paid payment",
                           param="order_id", code="duplicate_order",
                           extra={"payment": exc.existing_payment_id}) from exc
        self.hub.publish(event, merchant_id=stored.merchant_id, livemode=stored.livemode)
        return stored

    def _check_wallets(self, requested: list[str] | None, amount: int, currency: str,
                       disabled: frozenset[str]) -> tuple[str, ...] | None:
        for wallet_id in requested or ():
            if wallet_id not in self.wallets:
                raise InvalidRequest(f"unknown wallet {wallet_id!r}; see GET /v1/wallets",
                                     param="wallets", code="wallet_unknown")
            if wallet_id in disabled:
                raise InvalidRequest(f"wallet {wallet_id!r} is disabled for this merchant",
                                     param="wallets", code="wallet_disabled")
        names = requested or [w for w in self.wallets if w not in disabled]
        candidates = [self.wallets[w] for w in names]
        if not any(wallet.accepts(amount, currency) for wallet in candidates):
            raise InvalidRequest(self._limits_message(candidates, amount, currency),
                                 param="amount", code="amount_outside_wallet_limits")
        return tuple(dict.fromkeys(requested)) if requested else None

    def _payable_wallets(self, allowed: tuple[str, ...] | None, disabled: frozenset[str],
                         data: dict[str, Any]) -> list[str]:
        names = allowed or [w for w in self.wallets if w not in disabled]
        return [w for w in names if self.wallets[w].accepts(data["amount"], data["currency"])]

    @staticmethod
    def _limits_message(candidates: list[WalletInfo], amount: int, currency: str) -> str:
        ranges = [f"{w.id}: {lim.min_amount}..{lim.max_amount}" for w in candidates
                  if (lim := w.limits_for(currency))]
        if not ranges:
            return f"no wallet accepts {currency}"
        return f"no wallet accepts {amount} {currency} minor units; limits are " + ", ".join(ranges)

    async def get_for_merchant(self, merchant_id: str, livemode: bool, payment_id: str) -> Payment:
        payment = await self.store.get_payment(payment_id)
        if payment is None or payment.merchant_id != merchant_id or payment.livemode != livemode:
            raise NotFound(f"no such payment: {payment_id}", param="id")
        return payment

    async def list(self, *, merchant_id: str, livemode: bool, query: dict[str, Any]) -> tuple[list[Payment], bool]:
        cursor = None
        if query.get("starting_after"):
            cursor = await self.get_for_merchant(merchant_id, livemode, query["starting_after"])
        rows = await self.store.list_payments(
            merchant_id=merchant_id, livemode=livemode, limit=query["limit"] + 1,
            status=query.get("status"), order_id=query.get("order_id"), starting_after=cursor)
        return rows[:query["limit"]], len(rows) > query["limit"]

    async def events(self, payment: Payment, after: int, limit: int) -> tuple[list[Event], bool]:
        rows = await self.store.events(payment.id, after, limit + 1)
        return rows[:limit], len(rows) > limit

    async def cancel(self, payment: Payment) -> Payment:
        async with self.locks.hold(payment.id):
            current = await self.reload(payment)
            fields = {"next_action": None}
            return await self.apply(current, states.CANCELED, "cancel", payment_fields=fields,
                                    **_fail_current_attempt(current, "canceled"))

    async def reload(self, payment: Payment) -> Payment:
        current = await self.store.get_payment(payment.id)
        assert current is not None
        return current

    # -- checkout authorisation -------------------------------------------------------

    def check_client_secret(self, payment_id: str, client_secret: str | None) -> None:
        if not client_secret or not check_client_secret(self.client_keys.accepted(), payment_id, client_secret):
            raise AuthenticationFailed("invalid client secret for this payment",
                                       code="invalid_client_secret")

    async def for_client_secret(self, payment_id: str) -> Payment:
        """The payment whose client secret `check_client_secret` accepted."""
        payment = await self.store.get_payment(payment_id)
        if payment is None:
            raise NotFound(f"no such payment: {payment_id}")
        return payment

    async def offered_wallets(self, payment: Payment) -> list[tuple[WalletInfo, bool]]:
        """The wallets this payment may use, each with whether its provider is up right now."""
        disabled = await self.store.disabled_wallets(payment.merchant_id)
        names = payment.allowed_wallets or tuple(self.wallets)
        offered = [self.wallets[name] for name in names if name in self.wallets and name not in disabled]
        return [(wallet, self.is_available(wallet.id)) for wallet in offered
                if wallet.accepts(payment.amount, payment.currency)]

    # -- expiry -----------------------------------------------------------------------

    async def expire_due(self, limit: int = 100) -> int:
        expired = 0
        for payment in await self.store.expirable_payments(clock.now_iso(), limit):
            async with self.locks.hold(payment.id):
                current = await self.reload(payment)
                if current.status not in (states.REQUIRES_WALLET, states.REQUIRES_CONFIRMATION):
                    continue
                await self.apply(current, states.EXPIRED, "expire", payment_fields={"next_action": None},
                                 **_fail_current_attempt(current, "expired"))
                expired += 1
        return expired

    async def expire_if_due(self, payment: Payment) -> Payment:
        """Called before acting on a payment, so nothing acts on one past its expiry."""
        if payment.expires_at <= clock.now_iso() and states.can_move(payment.status, states.EXPIRED):
            payment = await self.apply(payment, states.EXPIRED, "expire", payment_fields={"next_action": None},
                                       **_fail_current_attempt(payment, "expired"))
        return payment


def _fail_current_attempt(payment: Payment, reason: str) -> dict[str, Any]:
    """The attempt part of a Change that ends the payment's open attempt, if it has one."""
    if payment.status != states.REQUIRES_CONFIRMATION or not payment.current_attempt_id:
        return {}
    return {"attempt_id": payment.current_attempt_id, "attempt_expected_status": "requires_confirmation",
            "attempt_fields": {"status": "failed", "failure_code": reason}}
