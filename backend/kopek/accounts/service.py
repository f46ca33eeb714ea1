"""Dashboard accounts: sign-up (a new merchant, or joining one by invitation), login with
throttling, and invitations. Everything a form can get wrong is an AccountError with a reason
in English and Russian."""

from __future__ import annotations

from dataclasses import dataclass

from kopek import clock
from kopek.accounts.passwords import hash_password, verify_password
from kopek.errors import RateLimited
from kopek.ids import hash_secret, new_id, random_token
from kopek.limits import Backoff, Limits, Ticket
from kopek.merchants import NewMerchant, create_merchant, fresh_keys
from kopek.store.accounts import AccountStore, EmailTaken, Invite, Membership, User
from kopek.store.sqlite import SqliteStore

ROLES = ("owner", "viewer")
INVITE_TTL_S = 7 * 24 * 3600


class AccountError(Exception):
    def __init__(self, code: str, message_en: str, message_ru: str, *, status: int = 400,
                 retry_after_s: int | None = None) -> None:
        super().__init__(message_en)
        self.code, self.message_en, self.message_ru = code, message_en, message_ru
        self.status, self.retry_after_s = status, retry_after_s

    def message(self, locale: str) -> str:
        return self.message_ru if locale == "ru" else self.message_en


@dataclass(frozen=True)
class NewInvite:
    invite: Invite
    code: str                  # shown to the owner once


class LoginThrottle:
    """Failed logins per (email, address) and per address, with growing delays (kopek.limits).

    A try counts as a failure before the password is checked, so concurrent tries cannot all slip
    under the limit; a right password takes its try back. The owner, trying from their own address,
    is not slowed by failures that others made from theirs."""

    def __init__(self, limits: Limits, per_email: int, per_ip: int, window_s: float) -> None:
        self._limits = limits
        self._per_account = Backoff("login_per_account", free=per_email, window_s=window_s, delay_s=30,
                                    delay_s_max=window_s)
        self._per_ip = Backoff("login_per_ip", free=per_ip, window_s=window_s, delay_s=30, delay_s_max=window_s)

    async def admit(self, email: str, ip: str) -> Ticket:
        try:
            return await self._limits.admit_each(((self._per_account, f"{email}|{ip}"), (self._per_ip, ip)))
        except RateLimited as exc:
            wait = exc.extra["retry_after_s"]
            raise AccountError("login_throttled", f"Too many failed logins. Try again in {wait} s.",
                               f"Слишком много неудачных попыток входа. Повторите через {wait} с.",
                               status=429, retry_after_s=wait) from exc

    async def succeeded(self, ticket: Ticket) -> None:
        await self._limits.forgive(ticket)


class Accounts:
    def __init__(self, store: SqliteStore, throttle: LoginThrottle) -> None:
        self._main = store
        self._store = AccountStore(store)
        self.throttle = throttle

    @property
    def store(self) -> AccountStore:
        return self._store

    async def sign_up(self, email: str, password: str, shop_name: str) -> None:
        """A new merchant and its first owner, who sees its keys at the first login. For an email
        that has an account nothing changes and the answer is the same (the hash is still spent,
        so it takes as long): a sign-up does not tell who has an account."""
        password_hash = await hash_password(password)
        if await self._store.user_by_email(email) is not None:
            return
        created = await create_merchant(self._main, shop_name, [])
        await self._create_quietly(email, password_hash, created.merchant.id, "owner", welcome=True)

    async def sign_up_invited(self, email: str, password: str, code: str) -> None:
        """Joins the inviting shop; like `sign_up`, silent when the email already has an account."""
        invite = await self._open_invite(code, email)
        password_hash = await hash_password(password)
        if await self._store.user_by_email(email) is not None:
            return
        await self._create_quietly(email, password_hash, invite.merchant_id, invite.role, invite.id)

    async def welcome_keys(self, membership: Membership) -> NewMerchant | None:
        """A new shop's keys at its owner's first login: fresh ones, the sign-up's were never shown."""
        if not await self._store.claim_welcome(membership.user_id):
            return None
        merchant = await self._main.get_merchant(membership.merchant_id)
        return await fresh_keys(self._main, merchant) if merchant else None

    async def add_member(self, merchant_id: str, email: str, role: str, password: str) -> Membership:
        """The operator's way in (CLI, and the sandbox merchant's first user)."""
        if role not in ROLES:
            raise _invalid_role()
        await self._refuse_taken(email)
        return await self._create(email, await hash_password(password), merchant_id, role)

    async def log_in(self, email: str, password: str, ip: str) -> Membership:
        ticket = await self.throttle.admit(email, ip)
        user = await self._store.user_by_email(email)
        if not await verify_password(user.password_hash if user else None, password) or user is None:
            raise AccountError("login_failed", "Wrong email or password.", "Неверный email или пароль.",
                               status=401)
        await self.throttle.succeeded(ticket)
        membership = await self._store.first_membership(user.id)
        if membership is None:
            raise AccountError("no_merchant", "This account belongs to no shop.",
                               "Эта учётная запись не относится ни к одному магазину.", status=403)
        return membership

    async def invite(self, by: Membership, email: str, role: str) -> NewInvite:
        if role not in ROLES:
            raise _invalid_role()
        if any(m.email == email for m in await self._store.members(by.merchant_id)):
            raise AccountError("already_member", "This person is already on the team.",
                               "Этот человек уже в команде.", status=409)
        code = "inv_" + random_token(24)
        now = clock.now_iso()
        invite = Invite(new_id("inv", 16), by.merchant_id, email, role, hash_secret(code), by.user_id, now,
                        clock.iso_in(INVITE_TTL_S))
        await self._store.insert_invite(invite)
        return NewInvite(invite, code)

    async def _open_invite(self, code: str, email: str) -> Invite:
        invite = await self._store.open_invite(hash_secret(code.strip()))
        if invite is None or invite.email != email:
            raise AccountError("invalid_invite", "This invitation code is not valid for this email, "
                               "or it has expired or been used.",
                               "Код приглашения не подходит к этому email, истёк или уже использован.")
        return invite

    async def _refuse_taken(self, email: str) -> None:
        if await self._store.user_by_email(email) is not None:
            raise _email_taken()

    async def _create_quietly(self, email: str, password_hash: str, merchant_id: str, role: str,
                              invite_id: str | None = None, *, welcome: bool = False) -> None:
        try:
            await self._create(email, password_hash, merchant_id, role, invite_id, welcome=welcome)
        except AccountError as exc:
            if exc.code != "email_taken":   # taken meanwhile by a concurrent sign-up: the same answer
                raise

    async def _create(self, email: str, password_hash: str, merchant_id: str, role: str,
                      invite_id: str | None = None, *, welcome: bool = False) -> Membership:
        user = User(new_id("usr", 16), email, password_hash, clock.now_iso())
        membership = Membership(merchant_id, user.id, role, user.created_at, email)
        try:
            await self._store.create_user(user, membership, invite_id, welcome=welcome)
        except EmailTaken as exc:
            raise _email_taken() from exc
        except LookupError as exc:
            raise AccountError("invalid_invite", "This invitation was already used.",
                               "Это приглашение уже использовано.") from exc
        return membership

def _email_taken() -> AccountError:
    return AccountError("email_taken", "An account with this email exists; log in instead.",
                        "Учётная запись с этим email уже есть; войдите.", status=409)


def _invalid_role() -> AccountError:
    return AccountError("invalid_role", "The role is owner or viewer.", "Роль: владелец или наблюдатель.")
