"""The instance master key and the per-purpose keys derived from it.

Every derived secret (webhook endpoint secrets, pre-check secrets, client secrets, dashboard
form tokens) comes from one master key that lives outside the database (KOPEK_SECRET_KEY or a
key file, see key_file.py), so a copy of the database alone cannot recompute any of them.

After `kopek keys rotate` the keyring holds two generations: the current one, which signs and
mints, and the previous one, which still verifies (and co-signs webhooks) until it expires.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from typing import Mapping

from kopek import clock

PURPOSES = ("webhook_secret", "check_secret", "client_secret", "dashboard_form", "account_key")
MIN_KEY_BYTES = 32


class KeyringError(Exception):
    """The master key is missing, malformed or unsafe: Kopek must not start."""


def parse_secret_key(text: str) -> bytes:
    """KOPEK_SECRET_KEY: hex or base64 (standard or URL-safe) of at least 32 random bytes."""
    text = text.strip()
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        try:
            raw = base64.b64decode(text.replace("-", "+").replace("_", "/"), validate=True)
        except (binascii.Error, ValueError):
            raise KeyringError("KOPEK_SECRET_KEY is neither hex nor base64; make one with "
                               "`python -c 'import secrets; print(secrets.token_hex(32))'`") from None
    if len(raw) < MIN_KEY_BYTES:
        raise KeyringError(f"KOPEK_SECRET_KEY holds {len(raw)} bytes; it needs at least {MIN_KEY_BYTES}")
    return raw


@dataclass(frozen=True)
class Generation:
    """One master key. `legacy` holds purpose keys that older versions kept in the database:
    they win over derivation, so the secrets issued with them keep working."""

    master: bytes
    legacy: Mapping[str, bytes] = field(default_factory=dict)
    expires_at: str | None = None   # set on the previous generation: the end of its grace
    # Derived once: purpose keys are read on every payment view, check and webhook.
    _purpose_keys: Mapping[str, bytes] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        derived = {purpose: self.legacy[purpose] if purpose in self.legacy else
                   hmac.new(self.master, f"kopek-purpose:{purpose}".encode(), hashlib.sha256).digest()
                   for purpose in PURPOSES}
        object.__setattr__(self, "_purpose_keys", derived)

    @classmethod
    def new(cls) -> Generation:
        return cls(secrets.token_bytes(MIN_KEY_BYTES))

    def purpose_key(self, purpose: str) -> bytes:
        if purpose not in self._purpose_keys:
            raise ValueError(f"unknown key purpose: {purpose}")
        return self._purpose_keys[purpose]

    def live_at(self, now_iso: str) -> bool:
        return self.expires_at is None or self.expires_at > now_iso


@dataclass(frozen=True)
class PurposeKeys:
    """The keys of one purpose: `current` makes new secrets, `accepted()` verifies them."""

    keyring: Keyring
    purpose: str

    @classmethod
    def single(cls, key: bytes, purpose: str = "client_secret") -> PurposeKeys:
        """One fixed key (tests and tools): legacy-style, so `current` is exactly `key`."""
        return cls(Keyring(Generation(key, {purpose: key})), purpose)

    @property
    def current(self) -> bytes:
        return self.keyring.current.purpose_key(self.purpose)

    def accepted(self) -> list[bytes]:
        """The current key, then the previous one while its grace lasts (read at each call)."""
        return [generation.purpose_key(self.purpose) for generation in self.keyring.live_generations()]


@dataclass(frozen=True)
class Keyring:
    current: Generation
    previous: Generation | None = None

    def live_generations(self) -> list[Generation]:
        found = [self.current]
        if self.previous is not None and self.previous.live_at(clock.now_iso()):
            found.append(self.previous)
        return found

    def purpose(self, purpose: str) -> PurposeKeys:
        return PurposeKeys(self, purpose)

    def rotated(self, grace_s: float) -> Keyring:
        """A new current key; this one verifies for `grace_s` more seconds (0: not at all)."""
        return Keyring(Generation.new(), Generation(self.current.master, self.current.legacy, clock.iso_in(grace_s)))
