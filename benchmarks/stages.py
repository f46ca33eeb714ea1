"""Which stage of a payment a py-spy sample belongs to, from its stack (py-spy's raw format).

A stack is read from the innermost frame outwards, and the first frame that names a stage decides:
SQL run from the webhook code is SQL, JSON encoding run from the webhook code is the webhook's.
Outbound HTTP (aiohttp's client) is the webhook's when the webhook code is on the stack, else the
providers'. Anything under a sandbox simulator is the simulator's, wherever it happens: the
simulators stand in for the wallets and run in Kopek's process only in the sandbox.
"""

from __future__ import annotations

from collections import Counter
from typing import Iterable

SIMULATORS = "simulators (not Kopek's cost)"
# (stage, path prefixes or file names): the first stage whose pattern a frame's file contains.
RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("SQL", ("kopek/store/", "aiosqlite/", "sqlite3/")),
    ("signing", ("hmac.py", "hashlib", "kopek/webhooks/signing", "kopek/providers/signing", "standardwebhooks/")),
    ("outbound HTTP", ("aiohttp/client", "aiohttp/connector", "aiohttp/http_writer.py", "kopek/providers/http.py")),
    ("webhook", ("kopek/webhooks/",)),
    ("push", ("kopek/live/", "kopek/web/live.py")),
    ("validation", ("marshmallow/", "kopek/strict_json.py", "kopek/web/requests.py", "schemas.py")),
    ("logging", ("logging/",)),
    ("HTTP in and out", ("aiohttp/", "aiohttp_session/", "multidict/", "yarl/")),
    ("payment logic", ("kopek/",)),
)
EVENT_LOOP = "event loop and the rest"


def frame_file(frame: str) -> str:
    """`func (path/file.py:123)` -> `path/file.py`."""
    inside = frame.rpartition(" (")[2]
    return inside.rpartition(":")[0] or inside


def classify(frames: list[str]) -> str:
    files = [frame_file(f) for f in frames]
    if any("simulator" in f or f.startswith("kopek/providers/sandbox/") for f in files):
        return SIMULATORS
    for file in reversed(files):
        for stage, patterns in RULES:
            if any(p in file for p in patterns):
                if stage == "outbound HTTP":
                    return "webhook" if any(f.startswith("kopek/webhooks/") for f in files) else "provider HTTP"
                return stage
    return EVENT_LOOP


def stage_samples(raw_lines: Iterable[str]) -> Counter[str]:
    """Samples per stage from py-spy's `--format raw` output: `frame;frame;... COUNT` per line."""
    samples: Counter[str] = Counter()
    for line in raw_lines:
        stack, _, count = line.rstrip("\n").rpartition(" ")
        if stack and count.isdigit():
            samples[classify(stack.split(";"))] += int(count)
    return samples
