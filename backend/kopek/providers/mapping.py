"""The vocabulary of every wallet's exhaustive status tables, and the lookup that fails loudly.

Each protocol maps its provider's own codes and states through tables of `Mapped` (the
shopper's outcome) and `Refused` (the provider rejected our request itself) entries; the
tables, and the words of each provider's messages, stay in the wallet's protocol.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Hashable, Mapping, TypeVar

from kopek.providers.contract import Outcome, ProviderError, UnknownProviderStatus

K = TypeVar("K", bound=Hashable)
E = TypeVar("E")


@dataclass(frozen=True)
class Mapped:
    outcome: Outcome
    failure_code: str | None = None


@dataclass(frozen=True)
class Refused:
    """The provider rejected the request itself: a ProviderError, not the shopper's outcome."""

    reason: str


def look_up(table: Mapping[K, E], key: K, unknown: str) -> E:
    """The table's entry for `key`; a key the table does not know raises UnknownProviderStatus(unknown)."""
    entry = table.get(key)
    if entry is None:
        raise UnknownProviderStatus(unknown)
    return entry


def resolve(table: Mapping[K, E | Refused], key: K, *, unknown: str, refused: Callable[[str], str]) -> E:
    """`look_up`, and a Refused entry raises ProviderError(refused(its reason))."""
    entry = look_up(table, key, unknown)
    if isinstance(entry, Refused):
        raise ProviderError(refused(entry.reason))
    return entry
