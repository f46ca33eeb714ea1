"""Standard Webhooks signatures, and endpoint secrets derived (never stored) from an instance key."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Iterable

from kopek import clock
from kopek.store.webhooks import WebhookEndpoint

SECRET_PREFIX = "whsec_"


def derive_secret(instance_key: bytes, endpoint_id: str, version: int) -> str:
    """`whsec_` + base64 of 32 bytes; a new version number gives a new secret (rotation)."""
    raw = hmac.new(instance_key, f"webhook-secret:{endpoint_id}:{version}".encode(), hashlib.sha256).digest()
    return SECRET_PREFIX + base64.b64encode(raw).decode()


def signing_secrets(accepted_keys: Iterable[bytes], endpoint: WebhookEndpoint,
                    now_iso: str | None = None) -> list[str]:
    """The current secret, then the previous one while its rotation overlap lasts, for each accepted
    instance key (two while a key rotation's grace lasts: the shop may hold a secret of either)."""
    versions = [endpoint.secret_version]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret_version is not None and expires and expires > (now_iso or clock.now_iso()):
        versions.append(endpoint.previous_secret_version)
    return [derive_secret(key, endpoint.id, version) for key in accepted_keys for version in versions]


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def signature_header(secrets: list[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """Space-separated `v1,` signatures, one per secret, as the spec allows."""
    return " ".join(sign(secret, msg_id, timestamp, body) for secret in secrets)
