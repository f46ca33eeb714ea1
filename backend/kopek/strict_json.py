"""The one JSON reader for what comes from outside (request bodies, provider answers and callbacks),
and compact UTF-8 JSON out.

In: strict UTF-8 with no lone surrogate (raw or \\ud800-escaped), nesting at most MAX_DEPTH deep,
integers of at most MAX_INT_DIGITS digits, no repeated keys, no NaN or Infinity. Every refusal is a
MalformedJson (a ValueError, as UnicodeDecodeError and json.JSONDecodeError are), whose message
never quotes the input. Callers bound the body's size first and word their own errors.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable

MAX_DEPTH = 32
MAX_INT_DIGITS = 20
_STRING_OR_BRACKET = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)
_OPENERS = frozenset(b"[{")


class MalformedJson(ValueError):
    pass


def dumps(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def loads(body: bytes | str, *, parse_float: Callable[[str], Any] | None = None) -> Any:
    try:
        raw = body.encode("utf-8") if isinstance(body, str) else body
        text = raw.decode("utf-8")
    except UnicodeError:   # bytes that are not UTF-8, or a str holding a lone surrogate
        raise MalformedJson("not UTF-8") from None
    _refuse_deep(raw)
    try:
        doc = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant,
                         parse_int=_bounded_int, parse_float=parse_float)
    except json.JSONDecodeError as exc:
        raise MalformedJson(f"{exc.msg} at line {exc.lineno} column {exc.colno}") from None
    _refuse_surrogates(doc)
    return doc


def _refuse_deep(raw: bytes) -> None:
    """Counted on the bytes before parsing, so a deep document never reaches the recursive parser."""
    depth = 0
    for match in _STRING_OR_BRACKET.finditer(raw):
        token = match.group()
        if token[0] in _OPENERS:
            depth += 1
            if depth > MAX_DEPTH:
                raise MalformedJson(f"nested deeper than {MAX_DEPTH} levels")
        elif token[0] != 0x22:   # a closing bracket; strings are skipped whole
            depth -= 1


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise MalformedJson(f"an integer has more than {MAX_INT_DIGITS} digits")
    return int(text)


def _refuse_surrogates(doc: Any) -> None:
    """A \\ud800 escape decodes to a lone surrogate, which no database or encoder takes."""
    if isinstance(doc, str):
        try:
            doc.encode("utf-8")
        except UnicodeEncodeError:
            raise MalformedJson("a string holds a lone UTF-16 surrogate") from None
    elif isinstance(doc, dict):
        for key, value in doc.items():
            _refuse_surrogates(key)
            _refuse_surrogates(value)
    elif isinstance(doc, list):
        for value in doc:
            _refuse_surrogates(value)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    doc = dict(pairs)
    if len(doc) != len(pairs):
        raise MalformedJson("repeated key")
    return doc


def _no_constant(name: str) -> Any:
    raise MalformedJson("NaN and Infinity are not JSON numbers")
