"""The key file: the keyring as a small versioned JSON document, beside (never inside) the database.

It is created once with O_CREAT|O_EXCL and mode 0600, written in full before it appears under its
name (a hard link of a finished temporary file), so two processes starting at once agree on one
key: the second finds the first one's complete file and reads it. Rotation replaces it atomically
(a temporary 0600 file renamed over it).
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from kopek.keyring import PURPOSES, Generation, Keyring, KeyringError

FORMAT_VERSION = 1
MAX_FILE_BYTES = 16 * 1024


def default_path(db_path: Path) -> Path:
    """`kopek.db` -> `kopek.db.key`, in the database's directory."""
    return db_path.with_name(db_path.name + ".key")


def read(path: Path) -> Keyring:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        raise KeyringError(f"cannot read the key file {path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as file:
        _refuse_unsafe_mode(path, os.fstat(file.fileno()))
        text = file.read(MAX_FILE_BYTES + 1)
    return _parse(path, text)


def create(path: Path, keyring: Keyring) -> Keyring:
    """Writes a new key file; when another process made one first, returns that one instead."""
    temp = _write_temp(path, keyring)
    try:
        os.link(temp, path)
    except FileExistsError:
        return read(path)
    finally:
        temp.unlink()
    _sync_dir(path)
    return keyring


def replace(path: Path, keyring: Keyring) -> None:
    temp = _write_temp(path, keyring)
    os.replace(temp, path)
    _sync_dir(path)


def _write_temp(path: Path, keyring: Keyring) -> Path:
    temp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(json.dumps(_document(keyring), indent=2) + "\n")
        file.flush()
        os.fsync(file.fileno())
    return temp


def _sync_dir(path: Path) -> None:
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _refuse_unsafe_mode(path: Path, status: os.stat_result) -> None:
    if not stat.S_ISREG(status.st_mode):
        raise KeyringError(f"the key file {path} is not a regular file")
    if status.st_mode & 0o077:
        raise KeyringError(f"the key file {path} is readable by group or others (mode "
                           f"{stat.S_IMODE(status.st_mode):04o}); run `chmod 600 {path}`")


def _document(keyring: Keyring) -> dict[str, Any]:
    document: dict[str, Any] = {"kopek_key_file": FORMAT_VERSION, "current": _generation_json(keyring.current)}
    if keyring.previous is not None:
        document["previous"] = _generation_json(keyring.previous)
    return document


def _generation_json(generation: Generation) -> dict[str, Any]:
    found: dict[str, Any] = {"master": generation.master.hex()}
    if generation.legacy:
        found["legacy"] = {purpose: key.hex() for purpose, key in generation.legacy.items()}
    if generation.expires_at is not None:
        found["expires_at"] = generation.expires_at
    return found


def _parse(path: Path, text: bytes) -> Keyring:
    garbled = KeyringError(f"the key file {path} is empty or garbled; restore it from your backup")
    if not text.strip() or len(text) > MAX_FILE_BYTES:
        raise garbled
    try:
        document = json.loads(text)
        if document.get("kopek_key_file") != FORMAT_VERSION:
            raise garbled
        previous = document.get("previous")
        return Keyring(_generation(document["current"]), None if previous is None else _generation(previous))
    except (ValueError, KeyError, TypeError, AttributeError):
        raise garbled from None


def _generation(data: dict[str, Any]) -> Generation:
    master = bytes.fromhex(data["master"])
    legacy = {purpose: bytes.fromhex(key) for purpose, key in data.get("legacy", {}).items()}
    expires_at = data.get("expires_at")
    if len(master) < 32 or not set(legacy) <= set(PURPOSES) or not isinstance(expires_at, (str, type(None))):
        raise ValueError("not a key generation")
    return Generation(master, legacy, expires_at)
