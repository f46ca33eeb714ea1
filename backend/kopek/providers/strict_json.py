"""Strict JSON for the JSON-speaking wallets: compact UTF-8 out, and in, no repeated keys and no NaN.

Each protocol bounds the body first and words its own errors; these raise ValueError
(UnicodeDecodeError and json.JSONDecodeError are ValueErrors) and never quote the body.
"""

from __future__ import annotations

import json
from typing import Any


def dumps(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def loads(body: bytes) -> Any:
    return json.loads(body.decode("utf-8"), object_pairs_hook=_unique_keys, parse_constant=_no_constant)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    doc = dict(pairs)
    if len(doc) != len(pairs):
        raise ValueError("repeated key")
    return doc


def _no_constant(name: str) -> Any:
    raise ValueError("NaN and Infinity are not JSON numbers")
