"""Finding the instance's keyring at start: KOPEK_SECRET_KEY, else the key file beside the database.

A fresh database gets a new key file. A database from an older version, whose keys sit in its
`instance_secrets` table, has them moved into the key file and erased from the database. A
database that already holds merchants or payments but has no key anywhere is refused: a new key
would silently invalidate every secret issued so far.
"""

from __future__ import annotations

from pathlib import Path

from kopek import clock, key_file
from kopek.keyring import Generation, Keyring, KeyringError, parse_secret_key
from kopek.settings import Settings
from kopek.store.sqlite import SqliteStore

# Older versions kept these purpose keys in the database (the check secret used the client's).
LEGACY_PURPOSES = {"webhook_secret_key": ("webhook_secret",), "client_secret_key": ("client_secret", "check_secret"),
                   "dashboard_form_key": ("dashboard_form",)}


DEFAULT_GRACE_HOURS = 168.0


def key_file_path(settings: Settings) -> Path:
    return settings.secret_key_file or key_file.default_path(settings.db_path)


async def open_keyring(settings: Settings, store: SqliteStore) -> Keyring:
    legacy = _legacy_generation_keys(await store.legacy_instance_secrets())
    if settings.secret_key:
        if legacy:
            raise KeyringError("the database still holds keys from an older Kopek version; start once without "
                               "KOPEK_SECRET_KEY so they move into the key file " f"{key_file_path(settings)}")
        return Keyring(Generation(parse_secret_key(settings.secret_key)))
    path = key_file_path(settings)
    if path.exists():
        keyring = key_file.read(path)
    elif legacy:
        keyring = key_file.create(path, Keyring(Generation(Generation.new().master, legacy)))
    elif await store.holds_business_data():
        raise KeyringError(f"the database {settings.db_path} holds merchants or payments but the key file {path} "
                           "is missing: restore it from your backup, or set KOPEK_SECRET_KEY. A new key would "
                           "invalidate every webhook, check and client secret")
    else:
        keyring = key_file.create(path, Keyring(Generation.new()))
    if legacy:
        _refuse_conflicting_legacy(keyring, legacy, path)
        await store.erase_legacy_instance_secrets()
    return keyring


def _legacy_generation_keys(rows: dict[str, str]) -> dict[str, bytes]:
    return {purpose: bytes.fromhex(value) for name, value in rows.items()
            for purpose in LEGACY_PURPOSES.get(name, ())}


def _refuse_conflicting_legacy(keyring: Keyring, legacy: dict[str, bytes], path: Path) -> None:
    """The database's old keys are erased only once the key file provably holds them."""
    kept = [g for g in (keyring.current, keyring.previous) if g is not None and legacy.items() <= g.legacy.items()]
    if not kept:
        raise KeyringError(f"the database holds keys from an older Kopek version that the key file {path} does "
                           "not contain; was the key file made for another database?")


def rotate_key_file(settings: Settings, keyring: Keyring, grace_s: float) -> Keyring:
    """Writes a new current key to the key file; the running instances pick it up when restarted."""
    if settings.secret_key:
        raise KeyringError("the master key comes from KOPEK_SECRET_KEY, which Kopek cannot rewrite; unset it and "
                           f"put the key file {key_file_path(settings)} in place to rotate with this command")
    previous = keyring.previous
    if previous is not None and previous.live_at(clock.now_iso()):
        raise KeyringError(f"the previous key is still in its grace until {previous.expires_at}; rotating again "
                           "now would cut that grace short")
    rotated = keyring.rotated(grace_s)
    key_file.replace(key_file_path(settings), rotated)
    return rotated
