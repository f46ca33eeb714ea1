"""Passwords are hashed with argon2id, on a worker thread: a hash takes tens of milliseconds and
64 MiB, which must never stall the event loop that serves payments."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()
# Verifying against this when no user has the email keeps a wrong email as slow as a wrong password.
_DUMMY_HASH = _HASHER.hash("kopek-no-such-user")


async def hash_password(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(None, _HASHER.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    return await asyncio.get_running_loop().run_in_executor(None, _verify, password_hash, password)


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
