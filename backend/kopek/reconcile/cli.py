"""`kopek reconcile --provider P --date D [--file PATH]`: exit 0 when the statement matches,
1 when anything is off (printed), 2 when the statement or the arguments are unusable."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

import aiohttp

from kopek import clock
from kopek.errors import InvalidRequest
from kopek.ledger.settlements import parse_day
from kopek.reconcile.matcher import Reconciliation, reconcile
from kopek.reconcile.statements import MAX_STATEMENT_BYTES, PARSERS, MalformedStatement, parse
from kopek.settings import Settings
from kopek.store.reconcile import expected_for_day
from kopek.store.sqlite import SqliteStore

FETCH_TIMEOUT_S = 30.0


def add_command(commands: Any) -> None:
    command = commands.add_parser("reconcile", help="match a provider's daily statement against Kopek's records")
    command.add_argument("--provider", required=True, choices=sorted(PARSERS))
    command.add_argument("--date", required=True, metavar="YYYY-MM-DD", help="the UTC day the statement covers")
    command.add_argument("--file", type=Path, metavar="PATH",
                         help="the statement file (default: fetch it from the provider: the simulator in sandbox)")
    command.add_argument("--json", action="store_true", help="print JSON")


async def run(store: SqliteStore, settings: Settings, args: argparse.Namespace) -> int:
    try:
        day = parse_day(args.date)
        body = _read(args.file) if args.file else await _fetch(settings.provider_url(args.provider), args.date)
        lines = parse(args.provider, body)
    except (InvalidRequest, MalformedStatement, OSError, ValueError, StatementUnavailable) as exc:
        print(f"kopek reconcile: {getattr(exc, 'message', exc)}", file=sys.stderr)
        return 2
    start = datetime.combine(day, time(), tzinfo=timezone.utc)
    expected = await expected_for_day(store, args.provider, settings.mode == "live", clock.to_iso(start),
                                      clock.to_iso(start + timedelta(days=1)))
    result = reconcile(args.provider, lines, expected)
    print(json.dumps(result.to_json(), indent=2) if args.json else _text(args.provider, args.date, result))
    return 0 if result.ok else 1


class StatementUnavailable(Exception):
    pass


async def _fetch(provider_url: str, day: str) -> bytes:
    url = f"{provider_url}/statements/{day}"
    try:
        async with aiohttp.ClientSession() as http, http.get(
                url, timeout=aiohttp.ClientTimeout(total=FETCH_TIMEOUT_S)) as response:
            body = await response.content.read(MAX_STATEMENT_BYTES + 1)
            if response.status != 200:
                raise StatementUnavailable(f"{url} answered HTTP {response.status}")
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        raise StatementUnavailable(f"could not fetch {url}: {type(exc).__name__}") from None
    if len(body) > MAX_STATEMENT_BYTES:
        raise MalformedStatement(f"the statement is larger than {MAX_STATEMENT_BYTES} bytes")
    return body


def _read(path: Path) -> bytes:
    with path.open("rb") as handle:
        body = handle.read(MAX_STATEMENT_BYTES + 1)
    if len(body) > MAX_STATEMENT_BYTES:
        raise MalformedStatement(f"the statement is larger than {MAX_STATEMENT_BYTES} bytes")
    return body


def _text(provider: str, day: str, result: Reconciliation) -> str:
    out = [f"{provider} {day}: {result.matched} matched"]
    out += [f"missing from the statement: {m['type']} {m['ref']} ({m['id']}) {m['amount']}" for m in result.missing]
    out += [f"not in Kopek: {e['type']} {e['ref']} {e['amount']}" for e in result.extra]
    out += [f"amount differs: {d['type']} {d['ref']} ({d['id']}) Kopek {d['kopek']}, statement {d['statement']}"
            for d in result.amount_differs]
    out += [f"fee differs: {d['type']} {d['ref']} ({d['id']}) expected {d['expected']}, statement {d['statement']}"
            for d in result.fee_differs]
    out.append("OK" if result.ok else "DISCREPANCIES FOUND")
    return "\n".join(out)
