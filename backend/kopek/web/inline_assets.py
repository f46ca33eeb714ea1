"""The checkout frame's script and style, inlined into its page so that a cold load is the loader and
the frame and nothing else. The page's CSP admits exactly these bytes by their SHA-256."""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache

from markupsafe import Markup

from kopek.web.widget import read_asset

_CLOSING_TAG = re.compile(rb"</(script|style)|<!--", re.IGNORECASE)


@dataclass(frozen=True)
class InlineAsset:
    text: Markup       # for the template: the file's bytes, unescaped
    source: str        # for the CSP: 'sha256-...'


@lru_cache(maxsize=4)
def inline_asset(name: str) -> InlineAsset:
    body = read_asset(name).body
    if _CLOSING_TAG.search(body):   # it would end the element early, and run what follows as HTML
        raise ValueError(f"{name} holds </script, </style or <!-- and cannot be inlined")
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    return InlineAsset(Markup(body.decode("utf-8")), f"'sha256-{digest}'")
