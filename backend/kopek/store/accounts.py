"""SQL for dashboard accounts: users, memberships, invites and sessions."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from kopek import clock
from kopek.store.inline import InlineConnection
from kopek.store.sqlite import SqliteStore


@dataclass(frozen=True)
class User:
    id: str
    email: str
    password_hash: str
    created_at: str


@dataclass(frozen=True)
class Membership:
    merchant_id: str
    user_id: str
    role: str        # "owner" | "viewer"
    created_at: str
    email: str = ""


@dataclass(frozen=True)
class Invite:
    id: str
    merchant_id: str
    email: str
    role: str
    code_hash: str
    invited_by: str
    created_at: str
    expires_at: str
    accepted_at: str | None = None


class EmailTaken(Exception):
    pass


def _membership(row: sqlite3.Row) -> Membership:
    return Membership(**dict(row))


class AccountStore:
    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    # -- users and memberships --------------------------------------------------------

    async def create_user(self, user: User, membership: Membership, invite_id: str | None = None, *,
                          welcome: bool = False) -> None:
        """The user, their role, (when they came by invitation) the invite's use and (for a new
        shop's owner) the keys to show at the first login, at once."""
        async with self._store._transaction() as db:
            try:
                await db.execute("INSERT INTO users VALUES (?, ?, ?, ?)",
                                 (user.id, user.email, user.password_hash, user.created_at))
            except sqlite3.IntegrityError as exc:
                raise EmailTaken(user.email) from exc
            await _insert_membership(db, membership)
            if invite_id:
                await _mark_accepted(db, invite_id)
            if welcome:
                await db.execute("INSERT INTO pending_welcomes VALUES (?, ?)", (user.id, user.created_at))

    async def claim_welcome(self, user_id: str) -> bool:
        """True once per new owner: at the first login, whoever claims it shows the keys."""
        async with self._store._transaction() as db:
            cursor = await db.execute("DELETE FROM pending_welcomes WHERE user_id=?", (user_id,))
            return cursor.rowcount == 1

    async def user_by_email(self, email: str) -> User | None:
        row = await self._store._fetchone("SELECT * FROM users WHERE email=?", (email,))
        return User(**dict(row)) if row else None

    async def user(self, user_id: str) -> User | None:
        row = await self._store._fetchone("SELECT * FROM users WHERE id=?", (user_id,))
        return User(**dict(row)) if row else None

    async def membership(self, user_id: str, merchant_id: str) -> Membership | None:
        row = await self._store._fetchone(
            "SELECT m.*, u.email FROM memberships m JOIN users u ON u.id = m.user_id "
            "WHERE m.user_id=? AND m.merchant_id=?", (user_id, merchant_id))
        return _membership(row) if row else None

    async def first_membership(self, user_id: str) -> Membership | None:
        row = await self._store._fetchone(
            "SELECT m.*, u.email FROM memberships m JOIN users u ON u.id = m.user_id "
            "WHERE m.user_id=? ORDER BY m.created_at LIMIT 1", (user_id,))
        return _membership(row) if row else None

    async def members(self, merchant_id: str) -> list[Membership]:
        rows = await self._store._fetchall(
            "SELECT m.*, u.email FROM memberships m JOIN users u ON u.id = m.user_id "
            "WHERE m.merchant_id=? ORDER BY m.created_at", (merchant_id,))
        return [_membership(r) for r in rows]

    async def add_membership(self, membership: Membership, invite_id: str) -> None:
        async with self._store._transaction() as db:
            await _insert_membership(db, membership)
            await _mark_accepted(db, invite_id)

    # -- invites ----------------------------------------------------------------------

    async def insert_invite(self, invite: Invite) -> None:
        async with self._store._transaction() as db:
            await db.execute("INSERT INTO invites VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                             (invite.id, invite.merchant_id, invite.email, invite.role, invite.code_hash,
                              invite.invited_by, invite.created_at, invite.expires_at, invite.accepted_at))

    async def open_invite(self, code_hash: str) -> Invite | None:
        row = await self._store._fetchone(
            "SELECT * FROM invites WHERE code_hash=? AND accepted_at IS NULL AND expires_at > ?",
            (code_hash, clock.now_iso()))
        return Invite(**dict(row)) if row else None

    async def open_invites(self, merchant_id: str) -> list[Invite]:
        rows = await self._store._fetchall(
            "SELECT * FROM invites WHERE merchant_id=? AND accepted_at IS NULL AND expires_at > ? "
            "ORDER BY created_at", (merchant_id, clock.now_iso()))
        return [Invite(**dict(r)) for r in rows]

    # -- sessions ---------------------------------------------------------------------

    async def session_data(self, id_hash: str) -> str | None:
        row = await self._store._fetchone(
            "SELECT data FROM dashboard_sessions WHERE id_hash=? AND expires_at > ?", (id_hash, clock.now_iso()))
        return str(row[0]) if row else None

    async def save_session(self, id_hash: str, data: str, expires_at: str) -> None:
        async with self._store._transaction() as db:
            await db.execute("INSERT INTO dashboard_sessions VALUES (?, ?, ?) ON CONFLICT(id_hash) "
                             "DO UPDATE SET data=excluded.data, expires_at=excluded.expires_at",
                             (id_hash, data, expires_at))

    async def delete_session(self, id_hash: str) -> None:
        async with self._store._transaction() as db:
            await db.execute("DELETE FROM dashboard_sessions WHERE id_hash=?", (id_hash,))

    async def delete_expired_sessions(self) -> None:
        async with self._store._transaction() as db:
            await db.execute("DELETE FROM dashboard_sessions WHERE expires_at <= ?", (clock.now_iso(),))


async def _insert_membership(db: InlineConnection, membership: Membership) -> None:
    await db.execute("INSERT INTO memberships VALUES (?, ?, ?, ?)",
                     (membership.merchant_id, membership.user_id, membership.role, membership.created_at))


async def _mark_accepted(db: InlineConnection, invite_id: str) -> None:
    cursor = await db.execute("UPDATE invites SET accepted_at=? WHERE id=? AND accepted_at IS NULL",
                              (clock.now_iso(), invite_id))
    if cursor.rowcount != 1:
        raise LookupError("the invitation was already used")
