"""Random, prefixed identifiers and secrets."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Iterable

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# Each random byte below 248 (4 x 62) maps to a letter, so every letter is equally likely; bytes from
# 248 up are dropped rather than folded in, which would favour the first eight letters.
_TO_LETTER = bytes(ord(_ALPHABET[b % len(_ALPHABET)]) for b in range(256))
_DROPPED = bytes(range(4 * len(_ALPHABET), 256))


def random_token(length: int = 24) -> str:
    """`length` letters of [0-9A-Za-z] from the OS's CSPRNG, in one call (secrets.choice per letter is slow)."""
    letters = b""
    while len(letters) < length:
        letters += secrets.token_bytes(length + 8).translate(_TO_LETTER, _DROPPED)
    return letters[:length].decode("ascii")


def new_id(prefix: str, length: int = 24) -> str:
    return f"{prefix}_{random_token(length)}"


def hash_secret(secret: str) -> str:
    """API keys are long random tokens, so a plain SHA-256 is enough to store them (unlike passwords)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def derive_client_secret(instance_key: bytes, payment_id: str) -> str:
    """A payment's client secret is derived, so it is never stored and can be shown again."""
    tag = hmac.new(instance_key, payment_id.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:32]
    return f"{payment_id}_secret_{tag}"


def check_client_secret(accepted_keys: Iterable[bytes], payment_id: str, presented: str) -> bool:
    """Whether `presented` was made with any of the keys (during a key rotation's grace: two)."""
    # Bytes: compare_digest refuses non-ASCII str, and what a client presents may be any string,
    # lone surrogates included (JSON's "\ud800").
    wanted = presented.encode("utf-8", "surrogatepass")
    return any(hmac.compare_digest(derive_client_secret(key, payment_id).encode("utf-8", "surrogatepass"), wanted)
               for key in accepted_keys)


def payment_id_from_client_secret(client_secret: str) -> str | None:
    payment_id, sep, _ = client_secret.partition("_secret_")
    return payment_id if sep and payment_id.startswith("pay_") else None
