"""Merchants, their allowed origins and their API keys (secret keys are stored hashed)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from kopek import clock
from kopek.ids import hash_secret, new_id, random_token
from kopek.settings import Settings
from kopek.store.records import ApiKey, Merchant
from kopek.store.sqlite import SqliteStore

SANDBOX_MERCHANT_SETTING = "sandbox_merchant_id"
KEY_KINDS = ("publishable", "secret")
MAX_ROLL_OVERLAP_S = 7 * 24 * 3600


class InvalidOrigin(ValueError):
    pass


def normalize_origin(text: str) -> str:
    """'https://Shop.example:443/' -> 'https://shop.example'. Anything but a bare origin is refused."""
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError as exc:
        raise InvalidOrigin(f"not a valid origin: {text!r}") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidOrigin(f"an origin is http(s)://host[:port], not {text!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
        raise InvalidOrigin(f"an origin has no path, query, fragment or credentials: {text!r}")
    default_port = {"http": 80, "https": 443}[parts.scheme]
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default_port else "")


@dataclass(frozen=True)
class NewMerchant:
    """A merchant just created, with its keys in the clear: shown once, never again."""

    merchant: Merchant
    publishable_key: str
    secret_key: str
    live_publishable_key: str
    live_secret_key: str

    def to_json(self) -> dict[str, object]:
        return {"id": self.merchant.id, "name": self.merchant.name, "origins": list(self.merchant.origins),
                "publishable_key": self.publishable_key, "secret_key": self.secret_key,
                "live_publishable_key": self.live_publishable_key, "live_secret_key": self.live_secret_key}


async def create_merchant(store: SqliteStore, name: str, origins: list[str]) -> NewMerchant:
    now = clock.now_iso()
    merchant = Merchant(id=new_id("mer", 16), name=name, created_at=now,
                        origins=tuple(dict.fromkeys(normalize_origin(o) for o in origins)))
    made = {(kind, live): _new_key(merchant.id, kind, live, now) for kind in KEY_KINDS for live in (False, True)}
    await store.create_merchant(merchant, [record for record, _ in made.values()])
    return NewMerchant(merchant, made[("publishable", False)][1], made[("secret", False)][1],
                       made[("publishable", True)][1], made[("secret", True)][1])


def _new_key(merchant_id: str, kind: str, livemode: bool, now: str) -> tuple[ApiKey, str]:
    """A key's record and its plain token. A secret key is stored only as its hash."""
    token = f"{'pk' if kind == 'publishable' else 'sk'}_{'live' if livemode else 'test'}_{random_token(32)}"
    record = ApiKey(id=new_id("key", 16), merchant_id=merchant_id, kind=kind, livemode=livemode,
                    lookup=hash_secret(token) if kind == "secret" else token,
                    hint=f"{token[:8]}…{token[-4:]}", created_at=now)
    return record, token


async def fresh_keys(store: SqliteStore, merchant: Merchant) -> NewMerchant:
    """All four keys rolled at once, the old ones stopping now: for keys nobody has seen yet."""
    made = {(kind, live): await roll_api_key(store, merchant.id, kind, live, 0)
            for kind in KEY_KINDS for live in (False, True)}
    return NewMerchant(merchant, made[("publishable", False)][1], made[("secret", False)][1],
                       made[("publishable", True)][1], made[("secret", True)][1])


async def roll_api_key(store: SqliteStore, merchant_id: str, kind: str, livemode: bool,
                       overlap_s: int) -> tuple[ApiKey, str]:
    """A new key of this kind and mode, shown once; the current ones keep working for `overlap_s`
    seconds (0: they stop now), so a shop can deploy the new key without an outage."""
    if kind not in KEY_KINDS or not 0 <= overlap_s <= MAX_ROLL_OVERLAP_S:
        raise ValueError(f"cannot roll a {kind!r} key with an overlap of {overlap_s} s")
    record, token = _new_key(merchant_id, kind, livemode, clock.now_iso())
    await store.roll_api_key(record, clock.iso_in(overlap_s))
    return record, token


@dataclass(frozen=True)
class SandboxMerchant:
    merchant: Merchant
    created: NewMerchant | None   # set only on the start that created it


async def ensure_sandbox_merchant(store: SqliteStore, settings: Settings) -> SandboxMerchant:
    """The sandbox merchant exists. (Kopek's own origin may frame every checkout, so /sandbox works
    whatever URL Kopek is reached at.)"""
    merchant_id = await store.get_instance_setting(SANDBOX_MERCHANT_SETTING)
    merchant = await store.get_merchant(merchant_id) if merchant_id else None
    if merchant is not None:
        return SandboxMerchant(merchant, None)
    created = await create_merchant(store, "Sandbox shop", [normalize_origin(settings.public_base_url)])
    await store.set_instance_setting(SANDBOX_MERCHANT_SETTING, created.merchant.id)
    return SandboxMerchant(created.merchant, created)
